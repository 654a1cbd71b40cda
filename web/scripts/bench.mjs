// A benchmark, not a test: how fast the UI is where users feel it. Against a served build in
// local mode (`npm run preview` with PARLEY_URL, or `parley serve --web-dir web/dist`):
//
//   node scripts/bench.mjs --url http://127.0.0.1:4173 [--messages 500] [--runs 3]
//
// Reports (medians): time from navigation to an enabled message box (first screen interactive);
// time to open a conversation of N messages (answered by the script: mixed Markdown, code,
// tables, math); the long tasks (> 50 ms) while scrolling it from the end to the start and
// while a reply of 2 000 tokens streams into it (the stream is also answered by the script).
import { chromium } from 'playwright-core';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url ?? 'http://127.0.0.1:4173';
const n = Number(args.messages ?? 500);
const runs = Number(args.runs ?? 3);

const samples = [
  'Short answer with **bold** and `code`.',
  '```python\nfor i in range(10):\n    print(i * i)\n```\nThat prints squares.',
  '| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nA table.',
  'Math: $a^2 + b^2 = c^2$ and\n\n$$\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$$',
  'A longer paragraph. '.repeat(40),
  '- one\n- two\n- three\n\n> a quote\n\nDone.',
];

function bigTree() {
  const messages = [];
  let parent = null;
  for (let i = 0; i < n; i++) {
    const id = `msg_${i}`;
    const role = i % 2 === 0 ? 'user' : 'assistant';
    messages.push({
      id,
      object: 'conversation.message',
      parent_id: parent,
      role,
      content: role === 'user' ? `Question number ${i / 2 + 1}: tell me more.` : samples[i % samples.length],
      model: role === 'assistant' ? 'bench' : null,
      created_at: 1_700_000_000 + i,
      children: i + 1 < n ? [`msg_${i + 1}`] : [],
      ...(role === 'assistant' ? { finish_reason: 'stop' } : {}),
    });
    parent = id;
  }
  const conversation = {
    id: 'cnv_bench',
    object: 'conversation',
    title: 'Benchmark',
    created_at: 1_700_000_000,
    updated_at: 1_700_000_000 + n,
    archived: false,
    current_leaf_id: parent,
    message_count: n,
    model: 'bench',
  };
  return { conversation, current_leaf_id: parent, messages };
}

function streamBody() {
  const words = 'The quick brown fox jumps over the lazy dog while `code` and **bold** words pass by. '.split(' ');
  let s = `event: message\ndata: ${JSON.stringify({ conversation_id: 'cnv_bench', message: { id: 'msg_new_u', object: 'conversation.message', parent_id: `msg_${n - 1}`, role: 'user', content: 'go', model: null, created_at: 1 } })}\n\n`;
  let text = '';
  for (let i = 0; i < 2000; i++) {
    const piece = (i % 120 === 119 ? '\n\n' : ' ') + words[i % words.length];
    text += piece;
    s += `event: delta\ndata: ${JSON.stringify({ content: piece })}\n\n`;
  }
  const done = { message: { id: 'msg_new_a', object: 'conversation.message', parent_id: 'msg_new_u', role: 'assistant', content: text, model: 'bench', created_at: 2, finish_reason: 'stop', children: [] }, conversation: bigTree().conversation };
  return s + `event: done\ndata: ${JSON.stringify(done)}\n\n`;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = { interactive: [], open: [], scrollLong: [], scrollLongest: [], streamLong: [], streamLongest: [] };

for (let r = 0; r < runs; r++) {
  const ctx = await browser.newContext({ baseURL: url, viewport: { width: 1280, height: 800 } });
  const tree = JSON.stringify(bigTree());
  await ctx.route('**/api/conversations/cnv_bench', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: tree }));
  await ctx.route('**/api/conversations/cnv_bench/messages', (route) =>
    route.fulfill({ status: 200, contentType: 'text/event-stream', body: streamBody() }),
  );
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });

  let t = Date.now();
  await page.goto('/');
  await page.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
  result.interactive.push(Date.now() - t);

  t = Date.now();
  await page.goto('/c/cnv_bench');
  await page.locator(`[data-id="msg_${n - 1}"] .md:not(.md-pending)`).waitFor();
  await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
  result.open.push(Date.now() - t);

  await page.evaluate(() => (window.__long = []));
  await page.mouse.move(760, 400);
  for (let i = 0; i < 60; i++) {
    await page.mouse.wheel(0, -1500);
    await page.waitForTimeout(16);
  }
  await page.waitForTimeout(300);
  let long = await page.evaluate(() => window.__long);
  result.scrollLong.push(long.length);
  result.scrollLongest.push(Math.round(Math.max(0, ...long)));

  await page.getByRole('textbox', { name: 'Message', exact: true }).fill('go');
  await page.evaluate(() => (window.__long = []));
  await page.getByRole('button', { name: 'Send message', exact: true }).click();
  await page.locator('[data-id="msg_new_a"]').waitFor({ timeout: 30_000 });
  long = await page.evaluate(() => window.__long);
  result.streamLong.push(long.length);
  result.streamLongest.push(Math.round(Math.max(0, ...long)));
  await ctx.close();
}
await browser.close();

console.log(`medians of ${runs} runs (Chromium headless, this machine):`);
console.log(`  first screen interactive (navigation -> message box): ${median(result.interactive)} ms (budget 1000 ms)`);
console.log(`  open a ${n}-message conversation (navigation -> last message rendered): ${median(result.open)} ms`);
console.log(`  scrolling it to the start: ${median(result.scrollLong)} long tasks, longest ${median(result.scrollLongest)} ms`);
console.log(`  a 2000-token reply streaming into it: ${median(result.streamLong)} long tasks, longest ${median(result.streamLongest)} ms`);
