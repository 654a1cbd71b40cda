// Screenshots of the main screens in Debian's Chromium (playwright-core), light and dark,
// desktop and phone. Not a test: it is how we look at the product. Run against a built UI
// served with the server's CSP (`npm run preview`) or `parley serve --web-dir web/dist`:
//
//   node scripts/screenshots.mjs --url http://127.0.0.1:4173 [--auth-url URL] [--out DIR]
//
// --url: a local-mode server (auth off); --auth-url: one with --auth required (sign-in screens;
// an account is created there). The showcase conversation (code, a table, math) is answered
// by the script itself (the demo model's replies are noise). Console errors, CSP violations
// included, are printed at the end; the exit code is 1 when there were any. Playwright starts
// Chromium with a fresh temporary profile of its own.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { showcaseTree } from './showcase.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url ?? 'http://127.0.0.1:4173';
const authUrl = args['auth-url'];
const out = args.out ?? '/tmp/ui-shots';
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
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

const problems = [];
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

async function context(base, { dark = false, size = desktop, mobile = false } = {}) {
  const ctx = await browser.newContext({
    baseURL: base,
    viewport: size,
    deviceScaleFactor: 1,
    isMobile: mobile,
    hasTouch: mobile,
    colorScheme: dark ? 'dark' : 'light',
  });
  ctx.on('page', watch);
  await ctx.route('**/api/conversations/cnv_showcase', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(showcaseTree()) }),
  );
  return ctx;
}

// Answers the UI expects and handles: signed out (/api/auth/me 401) and a server without
// /api/models (404; /v1/models then answers only in local mode).
const expected = /\/api\/auth\/me$|\/api\/models$|\/v1\/models$/;

function watch(page) {
  page.on('console', (m) => {
    const where = m.location()?.url ?? '';
    if (m.type() === 'error' && !(m.text().startsWith('Failed to load resource') && expected.test(where))) {
      problems.push(`${page.url()}: ${m.text()} ${where}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
}

async function shot(page, name) {
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`  ${name}.png`);
}

async function sendAndWait(page, text) {
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send message', exact: true }).click();
  await page.getByRole('button', { name: 'Stop generating', exact: true }).waitFor({ state: 'detached', timeout: 60_000 }).catch(() => undefined);
  // A reply, or an error shown in its place.
  await page.locator('[data-role="assistant"]:not(.streaming), .reply-error').last().waitFor({ timeout: 60_000 });
}

async function waitIdle(page) {
  await page.getByRole('button', { name: 'Stop generating', exact: true }).waitFor({ state: 'detached', timeout: 60_000 }).catch(() => undefined);
}

async function localScreens(theme) {
  const dark = theme === 'dark';
  const ctx = await context(url, { dark });
  const page = await ctx.newPage();
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  await shot(page, `chat-empty-${theme}`);
  await sendAndWait(page, 'Hello! Can you explain what a KV cache is, in two sentences?');
  await shot(page, `chat-reply-${theme}`);
  // A second version of the answer, then of the question.
  const regen = page.locator('[data-role="assistant"]').last().getByRole('button', { name: 'Regenerate', exact: true });
  if (await regen.count()) {
    await regen.click();
    await waitIdle(page);
  }
  const user = page.locator('[data-role="user"]').last();
  await user.hover();
  await user.getByRole('button', { name: 'Edit message', exact: true }).click();
  await page.getByRole('textbox', { name: 'Edit message text', exact: true }).fill('Hello! What is a KV cache? One sentence please.');
  await shot(page, `chat-editing-${theme}`);
  await page.getByRole('button', { name: 'Save and send', exact: true }).click();
  await page.locator('[data-role="user"] .versions-text').last().waitFor({ timeout: 60_000 });
  await waitIdle(page);
  await page.locator('[data-role="user"]').last().hover();
  await shot(page, `chat-branches-${theme}`);

  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await page.getByRole('button', { name: 'Create link', exact: true }).click();
  const link = await page.getByRole('textbox', { name: 'Public link', exact: true }).inputValue({ timeout: 10_000 });
  await shot(page, `share-panel-${theme}`);
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  const anon = await context(url, { dark });
  const shared = await anon.newPage();
  await shared.goto(new URL(link).pathname);
  await shared.locator('[data-role="assistant"], .error-text').first().waitFor({ timeout: 10_000 });
  await shot(shared, `share-view-${theme}`);
  await anon.close();

  await page.goto('/c/cnv_showcase');
  await page.locator('.katex').first().waitFor({ timeout: 10_000 });
  await page.locator('code.hljs').first().waitFor({ timeout: 10_000 });
  await shot(page, `chat-markdown-${theme}`);
  await page.mouse.move(760, 400);
  for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -400);
  await page.getByRole('button', { name: 'Jump to latest' }).waitFor({ timeout: 5000 }).catch(() => undefined);
  await shot(page, `chat-markdown-top-${theme}`);
  await page.getByRole('button', { name: 'Conversation settings', exact: true }).click();
  await shot(page, `conversation-settings-${theme}`);
  await page.getByRole('button', { name: 'Close', exact: true }).click();

  await page.goto('/settings');
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await page.getByRole('button', { name: 'Create key', exact: true }).click();
  await page.getByRole('button', { name: 'Copy key', exact: true }).waitFor({ timeout: 5000 }).catch(() => undefined);
  await shot(page, `settings-${theme}`);
  await page.goto('/admin');
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  await shot(page, `admin-${theme}`);
  await ctx.close();
}

async function phoneScreens() {
  const ctx = await context(url, { size: phone, mobile: true });
  const page = await ctx.newPage();
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  await shot(page, 'phone-chat-empty-light');
  await page.getByRole('button', { name: 'Open sidebar', exact: true }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
  await shot(page, 'phone-drawer-light');
  await page.goto('/c/cnv_showcase');
  await page.locator('.katex').first().waitFor({ timeout: 10_000 });
  await shot(page, 'phone-chat-markdown-light');
  await page.goto('/settings');
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await shot(page, 'phone-settings-light');
  await ctx.close();
  const dctx = await context(url, { size: phone, mobile: true, dark: true });
  const dpage = await dctx.newPage();
  await dpage.goto('/c/cnv_showcase');
  await dpage.locator('.katex').first().waitFor({ timeout: 10_000 });
  await shot(dpage, 'phone-chat-markdown-dark');
  await dctx.close();
}

async function authScreens() {
  for (const theme of ['light', 'dark']) {
    const ctx = await context(authUrl, { dark: theme === 'dark' });
    const page = await ctx.newPage();
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await shot(page, `signin-${theme}`);
    await ctx.close();
  }
  const ctx = await context(authUrl, { size: phone, mobile: true });
  const page = await ctx.newPage();
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Email', exact: true }).fill(`shots-${Date.now()}@example.com`);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill('quiet harbour under a violet moon');
  await shot(page, 'phone-signin-light');
  const create = page.getByRole('button', { name: 'Create account', exact: true });
  if (await create.count()) {
    await create.click();
    await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor({ timeout: 15_000 });
    await shot(page, 'phone-signed-up-light');
  }
  await ctx.close();
}

const only = args.only; // e.g. --only auth
try {
  console.log(`Screenshots into ${out}:`);
  if (!only || only === 'local') {
    await localScreens('light');
    await localScreens('dark');
    await phoneScreens();
  }
  if (authUrl && (!only || only === 'auth')) await authScreens();
} finally {
  await browser.close();
}

if (problems.length) {
  console.log('\nConsole errors:');
  for (const p of problems) console.log(`  ${p}`);
  process.exitCode = 1;
}
