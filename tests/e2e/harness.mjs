// What the end-to-end tests share: Debian's Chromium driven by playwright-core, `parley serve`
// processes (tests/integration/server.mjs starts them), small synthetic models, a watch on every
// page for console errors and Content-Security-Policy violations, screenshots, and the few steps
// every flow repeats (send a message, wait for the reply).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parleyBin, startServer } from '../integration/server.mjs';

const { chromium } = await import('playwright-core').catch((err) => {
  console.error(`tests/e2e: cannot load playwright-core (${err.message}): run scripts/setup, or \`npm ci\` in tests/e2e`);
  process.exit(1);
});

export { parleyBin };

export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const shotsDir = process.env.PARLEY_E2E_SCREENSHOTS || join(tmpdir(), 'parley-e2e-screenshots');
export const desktop = { width: 1280, height: 800 };
export const phone = { width: 390, height: 844 };
export const password = 'quiet harbour under a violet moon';

// CTest marks the test skipped on this exit code (SKIP_RETURN_CODE): only when no Chromium is
// installed (scripts/setup installs it, so CI runs these tests).
export function requireChromium() {
  if (!existsSync(chromiumPath)) {
    console.log(`e2e tests skipped: no Chromium at ${chromiumPath} (scripts/setup installs Debian's chromium; CHROMIUM=path to use another)`);
    process.exit(77);
  }
}

export async function launchBrowser() {
  // Playwright gives the browser a fresh temporary profile (--user-data-dir) of its own and
  // removes it at close; it refuses --user-data-dir among the arguments.
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// A model file with the built-in byte-level vocabulary (ChatML template). `size: 'slow'` is
// still small (10 MB, made in well under a second) but computes a few hundred tokens a second on
// two threads, with an 8192-token context: long enough a reply to watch it stream and stop it.
export function synthModel(dir, name, { size = 'tiny' } = {}) {
  const path = join(dir, `${name}.gguf`);
  const shape = size === 'slow'
    ? ['--layers', '4', '--embd', '512', '--heads', '8', '--kv-heads', '4', '--ff', '1024']
    : ['--layers', '2', '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256'];
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', ...shape,
    '--ctx', '8192', '--type', 'q8_0', '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}

// `parley serve` on a free port. models: names of synthetic models to make and serve (the first
// is the default), or none for the built-in demo model (generated in the data directory, as
// `make run` does). auth: 'required' for accounts (cheap password hashing, a generous log-in
// rate limit for the many sign-ins of a test run); otherwise the local mode of 127.0.0.1.
// config: more parley.toml text (with auth).
export async function serve({ models = [], slow = [], auth, config: more = '' } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'parley-e2e-'));
  const args = [];
  for (const name of models) args.push('--model', synthModel(work, name, { size: slow.includes(name) ? 'slow' : 'tiny' }));
  if (auth) {
    const config = join(work, 'parley.toml');
    writeFileSync(config, `[auth]\nmode = "${auth}"\npassword_memory_mib = 8\npassword_passes = 1\nlogin_per_minute_ip = 1000\n${more}`);
    args.push('--config', config);
  }
  // demo: startServer adds no --model of its own (with none here, the server makes its demo model).
  const server = await startServer(args, { demo: true });
  return {
    ...server,
    async stop() {
      await server.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

// Answers that are part of a flow, not a fault: the signed-out probe of /api/auth/me (401).
const expectedFailures = [/\/api\/auth\/me$/];

// A browser context (its own cookies and storage: a separate browser for a separate person)
// whose pages are watched. `problems` collects console errors, uncaught exceptions and CSP
// violations; `expectFailure(re)` allows a failed load of a URL the flow asks for on purpose.
export async function newContext(browser, baseURL, { size = desktop, dark = false, mobile = false } = {}) {
  const ctx = await browser.newContext({
    baseURL,
    viewport: size,
    deviceScaleFactor: 1,
    isMobile: mobile,
    hasTouch: mobile,
    colorScheme: dark ? 'dark' : 'light',
  });
  ctx.setDefaultTimeout(20_000);
  const problems = [];
  const allowed = [...expectedFailures];
  ctx.problems = problems;
  ctx.expectFailure = (re) => allowed.push(re);
  await ctx.exposeBinding('__parleyCspViolation', ({ page }, what) => problems.push(`CSP violation on ${page.url()}: ${what}`));
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__parleyCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  ctx.on('page', (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const where = m.location()?.url ?? '';
      if (m.text().startsWith('Failed to load resource') && allowed.some((re) => re.test(where))) return;
      problems.push(`console error on ${page.url()}: ${m.text()} (${where})`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught on ${page.url()}: ${e.message}`));
  });
  return ctx;
}

export function assertClean(ctx) {
  if (ctx.problems.length) throw new Error(`the page reported problems:\n  ${ctx.problems.join('\n  ')}`);
}

export async function screenshot(page, name) {
  mkdirSync(shotsDir, { recursive: true });
  // Transitions and animations are finished first, so the picture does not depend on timing.
  await page.screenshot({ path: join(shotsDir, `${name}.png`), animations: 'disabled', caret: 'hide' });
}

// Exact accessible names, as the issue gives them (a search for "Message" must not match "Send
// message").
export const button = (scope, name) => scope.getByRole('button', { name, exact: true });
export const textbox = (scope, name) => scope.getByRole('textbox', { name, exact: true });
export const messageBox = (page) => textbox(page, 'Message');
export const assistants = (page) => page.locator('article[data-role="assistant"]');
export const users = (page) => page.locator('article[data-role="user"]');
export const finishedAssistants = (page) => page.locator('article[data-role="assistant"]:not(.streaming)');

// Waits until no reply is streaming: no Stop button and no growing message.
export async function waitIdle(page) {
  await button(page, 'Stop generating').waitFor({ state: 'detached' });
  await page.locator('article.streaming').waitFor({ state: 'detached' });
}

// Types a message, sends it with the button, and waits for its complete reply (the n-th).
export async function sendAndWait(page, text) {
  const before = await finishedAssistants(page).count();
  await messageBox(page).fill(text);
  await button(page, 'Send message').click();
  await finishedAssistants(page).nth(before).waitFor();
  await waitIdle(page);
}

// Opens a new chat and waits until the view shows it empty (the route changes at the click, the
// view a frame later: counting the messages before that would count the last chat's).
export async function newChat(page) {
  await button(page, 'New chat').click();
  await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
}

// The "N / M" of a message element's version switcher.
export const versionsText = (article) => article.locator('.versions-text');

// Waits for a condition that only node can check (a server's answer, the watch's findings).
export async function until(check, what, { timeout = 15_000 } = {}) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// In local mode and with a session alike, the API as the page itself calls it.
export async function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p);
    return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
  }, path);
}
