// What `make run` gives: `parley serve` with no model serves its built-in demo model (random
// weights) in local mode. The chat says the demo model's replies are noise; a phone-width screen
// gets the sidebar as a drawer and a working chat; and the main screens are photographed, light
// and dark, desktop and phone, into PARLEY_E2E_SCREENSHOTS (build/e2e-screenshots under CTest).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiGet, assertClean, assistants, button, desktop, finishedAssistants, launchBrowser, messageBox, newContext, phone,
  requireChromium, screenshot, sendAndWait, serve, textbox, users,
} from './harness.mjs';

requireChromium();

let server;
let browser;
let shown; // { id, share } of the conversation the screenshots show

before(async () => {
  [server, browser] = await Promise.all([serve(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const nav = (page) => page.getByRole('navigation', { name: 'Conversations', exact: true });
const demoNote = (page) => page.getByRole('note', { name: 'Demo model', exact: true });

test('the demo model is announced: its replies are noise, and how to serve a real model', async (t) => {
  const ctx = await newContext(browser, server.baseURL);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto('/');
  await demoNote(page).waitFor();
  const text = await demoNote(page).textContent();
  assert.match(text, /parley-demo has random weights, so its replies are noise/);
  assert.match(text, /parley serve --model FILE\.gguf/);

  // A conversation with it (kept for the screenshots), its replies kept short by the new chat's
  // settings, and shared.
  await button(page, 'Conversation settings').click();
  await page.getByRole('spinbutton', { name: 'Max tokens', exact: true }).fill('60');
  await button(page, 'Save settings').click();
  await page.getByText('Settings will apply to this new chat').waitFor();
  await sendAndWait(page, 'Hello! What can you do?');
  shown = { id: new URL(page.url()).pathname.split('/').pop() };
  assert.equal(await finishedAssistants(page).locator('.msg-model').textContent(), 'parley-demo');
  const { body } = await apiGet(page, `/api/conversations/${shown.id}`);
  assert.deepEqual(body.conversation.settings, { max_tokens: 60 });
  assert.ok(body.messages.find((m) => m.role === 'assistant').usage.completion_tokens <= 60);
  // The README's picture (docs/images/parley-chat.png is a copy of one): the first chat of
  // `make run`, the demo banner above it (reloaded: no toast left).
  await page.reload();
  await assistants(page).first().waitFor();
  await screenshot(page, 'readme-chat');
  await button(page, 'Share').click();
  await button(page, 'Create link').click();
  shown.share = new URL(await textbox(page, 'Public link').inputValue()).pathname;
  await button(page, 'Close').click();

  await button(page, 'Hide the demo notice').click();
  await demoNote(page).waitFor({ state: 'detached' });

  // Someone who opens the share link has not seen the banner: the shared page says it too.
  const reader = await newContext(browser, server.baseURL);
  t.after(() => reader.close());
  const view = await reader.newPage();
  await view.goto(shown.share);
  await assistants(view).first().waitFor();
  assert.match(await demoNote(view).textContent(), /parley-demo, Parley's built-in demo model\. It has random weights, so its replies are noise/);
  assertClean(reader);
  assertClean(ctx);
});

test('phone width (390x844): the sidebar is a drawer, and a chat works', async (t) => {
  const ctx = await newContext(browser, server.baseURL, { size: phone, mobile: true });
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto('/');
  await messageBox(page).waitFor();
  assert.equal(await nav(page).count(), 0, 'the drawer starts closed');

  await button(page, 'Open sidebar').click();
  await nav(page).waitFor();
  await nav(page).getByRole('link', { name: 'Hello! What can you do?', exact: true }).waitFor();
  await button(page, 'Close sidebar').click();
  await nav(page).waitFor({ state: 'detached' });

  await messageBox(page).fill('A question from a phone');
  await button(page, 'Send message').click();
  await finishedAssistants(page).first().waitFor();
  await button(page, 'Stop generating').waitFor({ state: 'detached' });
  assert.equal(await users(page).locator('.user-text').textContent(), 'A question from a phone');

  // The drawer lists it, and picking a conversation closes the drawer and opens it.
  await button(page, 'Open sidebar').click();
  await nav(page).getByRole('link', { name: 'A question from a phone', exact: true }).waitFor();
  await nav(page).getByRole('link', { name: 'Hello! What can you do?', exact: true }).click();
  await nav(page).waitFor({ state: 'detached' });
  await users(page).filter({ hasText: 'Hello! What can you do?' }).waitFor();
  // Esc closes the drawer too.
  await button(page, 'Open sidebar').click();
  await nav(page).waitFor();
  await page.keyboard.press('Escape');
  await nav(page).waitFor({ state: 'detached' });
  assertClean(ctx);
});

const variants = [
  { name: 'desktop-light', size: desktop },
  { name: 'desktop-dark', size: desktop, dark: true },
  { name: 'phone-light', size: phone, mobile: true },
  { name: 'phone-dark', size: phone, mobile: true, dark: true },
];

// Nothing still loading on the page.
const settled = (page) => page.waitForFunction(() => !document.body.innerText.includes('Loading…'));

test('screenshots of the main screens, light and dark, desktop and phone', async () => {
  assert.ok(shown?.share, 'the demo test made the conversation and its share link');
  for (const v of variants) {
    const ctx = await newContext(browser, server.baseURL, v);
    const page = await ctx.newPage();
    await page.goto('/');
    await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
    await settled(page);
    await screenshot(page, `chat-empty-${v.name}`);

    await page.goto(`/c/${shown.id}`);
    await assistants(page).first().waitFor();
    await settled(page);
    await screenshot(page, `chat-reply-${v.name}`);
    if (v.mobile) {
      await button(page, 'Open sidebar').click();
      await nav(page).waitFor();
      await screenshot(page, `drawer-${v.name}`);
      await button(page, 'Close sidebar').click();
    }

    await page.goto('/settings');
    await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
    await settled(page);
    await screenshot(page, `settings-${v.name}`);

    await page.goto('/admin');
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    await page.getByRole('table').first().waitFor();
    await settled(page);
    await screenshot(page, `admin-${v.name}`);

    await page.goto(shown.share);
    await assistants(page).first().waitFor();
    await screenshot(page, `share-${v.name}`);
    assertClean(ctx);
    await ctx.close();
  }
});
