// Moderation in a browser, on `parley serve --auth required` with a block rule: a user's blocked
// message shows the policy's refusal, two of them suspend the account; the admin sees the events
// and the suspension on the admin page, lifts it after a confirmation, and the user can chat
// again. Screenshots of the admin page's moderation sections: light, dark, phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertClean, button, desktop, finishedAssistants, launchBrowser, messageBox, newContext, password, phone,
  requireChromium, screenshot, sendAndWait, serve, textbox,
} from './harness.mjs';

requireChromium();

const rules = `
[[moderation.rules]]
name = "nightingale"
kind = "phrases"
phrases = ["project nightingale"]
stage = "input"
action = "block"

[moderation.abuse]
suspend_threshold = 9
`;

let server;
let browser;
let admin; // { ctx, page }: the first account
let user; // { ctx, page, id }

before(async () => {
  [server, browser] = await Promise.all([serve({ models: ['e2e-tiny'], auth: 'required', config: rules }), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function enter(email, buttonName, opts = {}) {
  const ctx = await newContext(browser, server.baseURL, opts);
  const page = await ctx.newPage();
  await page.goto('/');
  await textbox(page, 'Email').fill(email);
  await textbox(page, 'Password').fill(password);
  await button(page, buttonName).click();
  await messageBox(page).waitFor();
  return { ctx, page };
}

// Sends a message the server refuses, and waits for the refusal under the conversation.
async function sendRefused(page, text, expected) {
  await messageBox(page).fill(text);
  await button(page, 'Send message').click();
  await page.getByRole('alert').filter({ hasText: expected }).waitFor();
}

const suspensions = (page) => page.getByRole('region', { name: 'Suspensions', exact: true });
const events = (page) => page.getByRole('region', { name: 'Moderation events', exact: true });
// Scrolls the admin page's own scroller (not the document) to its moderation sections.
const toModeration = (page) =>
  page.getByRole('heading', { name: 'Suspensions', exact: true }).evaluate((h) => {
    let el = h.parentElement;
    while (el && !['auto', 'scroll'].includes(getComputedStyle(el).overflowY)) el = el.parentElement;
    if (el) el.scrollTop += h.getBoundingClientRect().top - el.getBoundingClientRect().top - 24;
  });

test('a blocked message is refused, and two suspend the account', async () => {
  admin = await enter('admin@example.com', 'Create account');
  user = await enter('user@example.com', 'Create account');
  const { ctx, page } = user;
  user.id = (await page.evaluate(async () => (await (await fetch('/api/auth/me')).json()).user.id));
  ctx.expectFailure(/\/api\/conversations/);
  await sendRefused(page, 'Tell me about Project Nightingale', /content policy \(nightingale\)/);
  // A refused first message leaves no empty chat behind: back to a new chat with the text kept.
  await page.waitForURL((u) => u.pathname === '/');
  assert.equal(await messageBox(page).inputValue(), 'Tell me about Project Nightingale');
  const nav = page.getByRole('navigation', { name: 'Conversations', exact: true });
  assert.equal(await nav.getByRole('link', { name: /Nightingale/ }).count(), 0);
  const listed = await page.evaluate(async () => (await (await fetch('/api/conversations')).json()).data.length);
  assert.equal(listed, 0, 'the refused chat is deleted on the server too');
  await page.getByRole('alert').filter({ hasText: /content policy \(nightingale\)/ }).waitFor();  // still shown
  await screenshot(page, 'moderation-refused-first-message');
  await button(page, 'Dismiss error').click();
  await messageBox(page).fill('');
  await sendRefused(page, 'and ｐｒｏｊｅｃｔ nightingale?', /content policy/); // fullwidth: the same phrase
  await button(page, 'Dismiss error').click();
  await sendRefused(page, 'hello', /This account is suspended until .* for repeated policy violations\./);
  assert.equal(await button(page, 'Retry').count(), 0, 'retrying does not help a suspension');
  await screenshot(page, 'moderation-suspended-user');
  assert.equal(await finishedAssistants(page).count(), 0, 'nothing was answered');
  assertClean(ctx);
});

test('the admin page shows the events and the suspension (screenshots)', async () => {
  const { ctx, page } = admin;
  await page.goto('/admin');
  const row = suspensions(page).getByRole('row').filter({ hasText: user.id });
  await row.getByText('active', { exact: true }).waitFor();
  await row.getByText('blocked', { exact: true }).waitFor();
  const blocked = events(page).getByRole('row').filter({ hasText: 'nightingale' });
  await blocked.first().waitFor();
  assert.equal(await blocked.count(), 2);
  assert.equal(await blocked.filter({ hasText: user.id }).filter({ hasText: 'block' }).count(), 2);

  // Filters: by rule, and by action (nothing matches "flag").
  await events(page).getByRole('combobox', { name: 'Action', exact: true }).selectOption('flag');
  await events(page).getByText('No events match these filters.').waitFor();
  await button(events(page), 'Clear filters').click();
  await textbox(events(page), 'Rule').fill('nightingale');
  await blocked.nth(1).waitFor();

  await toModeration(page);
  await screenshot(page, 'admin-moderation-desktop-light');
  for (const v of [{ name: 'desktop-dark', size: desktop, dark: true }, { name: 'phone-light', size: phone, mobile: true },
    { name: 'phone-dark', size: phone, mobile: true, dark: true }]) {
    const other = await enter('admin@example.com', 'Sign in', v);
    await other.page.goto('/admin');
    await suspensions(other.page).getByRole('row').filter({ hasText: user.id }).waitFor();
    await events(other.page).getByRole('row').filter({ hasText: 'nightingale' }).first().waitFor();
    await toModeration(other.page);
    await screenshot(other.page, `admin-moderation-${v.name}`);
    assertClean(other.ctx);
    await other.ctx.close();
  }
  assertClean(ctx);
});

test('the admin lifts the suspension after a confirmation; the user chats again', async () => {
  const { ctx, page } = admin;
  await button(suspensions(page), `Lift suspension of ${user.id}`).click();
  const dialog = page.getByRole('dialog', { name: 'Lift suspension' });
  await dialog.getByText(user.id).waitFor();
  await screenshot(page, 'admin-moderation-lift-dialog');
  await button(dialog, 'Cancel').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await suspensions(page).getByRole('row').filter({ hasText: user.id }).count(), 1, 'Cancel lifts nothing');

  await button(suspensions(page), `Lift suspension of ${user.id}`).click();
  await button(dialog, 'Lift suspension').click();
  await suspensions(page).getByText('Nobody is suspended.').waitFor();
  await suspensions(page).getByRole('combobox', { name: 'Which suspensions', exact: true }).selectOption('all');
  await suspensions(page).getByRole('row').filter({ hasText: user.id }).getByText('lifted', { exact: true }).waitFor();
  assertClean(ctx);

  await button(user.page, 'Dismiss error').click();
  await sendAndWait(user.page, 'hello again');
  assertClean(user.ctx);
});
