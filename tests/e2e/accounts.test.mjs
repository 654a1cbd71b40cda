// Accounts in a browser, on `parley serve --auth required`: the first sign-up becomes admin, a
// second person (another browser) sees none of the first one's conversations, API keys made in
// Settings work with /v1 until revoked, and a share link reads signed out until revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertClean, assistants, button, desktop, launchBrowser, messageBox, newContext, password, phone, requireChromium,
  screenshot, sendAndWait, serve, textbox, users,
} from './harness.mjs';

requireChromium();

let server;
let browser;
let alice; // { ctx, page }: the first account, signed in for the whole file
let aliceChat; // { id, title } of a conversation of hers

before(async () => {
  [server, browser] = await Promise.all([serve({ models: ['e2e-tiny'], auth: 'required' }), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signUp(email) {
  const ctx = await newContext(browser, server.baseURL);
  const page = await ctx.newPage();
  await page.goto('/');
  await textbox(page, 'Email').fill(email);
  await textbox(page, 'Password').fill(password);
  await button(page, 'Create account').click();
  await messageBox(page).waitFor();
  return { ctx, page };
}

const nav = (page) => page.getByRole('navigation', { name: 'Conversations', exact: true });

test('the sign-in page (screenshots: light and dark, desktop and phone)', async () => {
  for (const v of [{ name: 'desktop-light', size: desktop }, { name: 'desktop-dark', size: desktop, dark: true },
    { name: 'phone-light', size: phone, mobile: true }, { name: 'phone-dark', size: phone, mobile: true, dark: true }]) {
    const ctx = await newContext(browser, server.baseURL, v);
    const page = await ctx.newPage();
    await page.goto('/');
    await textbox(page, 'Email').waitFor();
    await textbox(page, 'Password').waitFor();
    await button(page, 'Create account').waitFor(); // sign-up is on (the default)
    assert.equal(await messageBox(page).count(), 0);
    await screenshot(page, `signin-${v.name}`);
    assertClean(ctx);
    await ctx.close();
  }
});

test('sign up: the first account is the admin; sign out and in again', async () => {
  alice = await signUp('alice@example.com');
  const { ctx, page } = alice;
  await nav(page).getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'alice@example.com', exact: true }).waitFor();

  await nav(page).getByRole('link', { name: /^Settings/ }).click();
  await button(page, 'Sign out').click();
  await button(page, 'Sign in').waitFor();
  await textbox(page, 'Email').fill('alice@example.com');
  await textbox(page, 'Password').fill('not the password at all');
  ctx.expectFailure(/\/api\/auth\/login$/);
  await button(page, 'Sign in').click();
  await page.getByRole('alert').getByText('Wrong e-mail address or password.').waitFor();
  await textbox(page, 'Password').fill(password);
  await button(page, 'Sign in').click();
  await button(page, 'Sign out').waitFor(); // back on the page she left
  await nav(page).getByRole('button', { name: 'New chat', exact: true }).click();

  await sendAndWait(page, 'Private plans for the weekend');
  aliceChat = { id: new URL(page.url()).pathname.split('/').pop(), title: 'Private plans for the weekend' };
  await nav(page).getByRole('link', { name: aliceChat.title, exact: true }).waitFor();
  assertClean(ctx);
});

test('a second user sees none of the first one’s conversations (sidebar and direct URL)', async (t) => {
  const bob = await signUp('bob@example.com');
  t.after(() => bob.ctx.close());
  const { ctx, page } = bob;
  await nav(page).getByText('No conversations yet.').waitFor();
  assert.equal(await nav(page).getByRole('link', { name: 'Admin', exact: true }).count(), 0, 'not an admin');
  assert.equal(await nav(page).getByRole('link', { name: aliceChat.title }).count(), 0);

  ctx.expectFailure(new RegExp(`/api/conversations/${aliceChat.id}$`));
  await page.goto(`/c/${aliceChat.id}`);
  await page.getByText('This conversation does not exist (or was deleted).').waitFor();
  assert.equal(await users(page).count(), 0);
  assert.equal(await page.getByText('Private plans').count(), 0);

  // And the admin page is for admins only.
  await page.goto('/admin');
  await page.getByText('Only administrators can see this page.').waitFor();

  // Alice, as admin, sees Bob among the users.
  await alice.page.goto('/admin');
  await alice.page.getByRole('cell', { name: 'bob@example.com', exact: true }).waitFor();
  assertClean(ctx);
  assertClean(alice.ctx);
});

test('an API key made in Settings works with /v1, and stops working once revoked', async () => {
  const { ctx, page } = alice;
  await page.goto('/settings');
  await page.getByRole('heading', { name: 'API keys', exact: true }).waitFor();
  await textbox(page, 'Key name').fill('e2e script');
  await button(page, 'Create key').click();
  const secret = (await page.locator('.secret-box code').textContent()).trim();
  assert.match(secret, /^pk-/);

  const models = (key) => fetch(`${server.baseURL}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal((await models(secret)).status, 200);
  const chat = await fetch(`${server.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'e2e-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
  });
  assert.equal(chat.status, 200);

  await button(page, 'Done').click();
  await button(page, 'Revoke key e2e script').click();
  await page.getByRole('row').filter({ hasText: 'e2e script' }).getByText('revoked', { exact: true }).waitFor();
  assert.equal((await models(secret)).status, 401);
  assertClean(ctx);
});

test('a share link reads signed out (another browser), until it is revoked', async () => {
  const { ctx, page } = alice;
  await page.goto(`/c/${aliceChat.id}`);
  await assistants(page).first().waitFor();
  await button(page, 'Share').click();
  await button(page, 'Create link').click();
  const link = await textbox(page, 'Public link').inputValue();
  assert.match(link, new RegExp(`^${server.baseURL}/share/[A-Za-z0-9_-]{40,}$`));

  const stranger = await newContext(browser, server.baseURL);
  const view = await stranger.newPage();
  await view.goto(link);
  await view.getByRole('heading', { name: aliceChat.title, exact: true }).waitFor();
  await users(view).getByText(aliceChat.title, { exact: true }).waitFor();
  await assistants(view).first().waitFor();
  assert.equal(await view.locator('meta[name="robots"]').getAttribute('content'), 'noindex, nofollow');
  assert.equal(await button(view, 'Sign in').count(), 0, 'no sign-in needed');
  assert.equal(await messageBox(view).count(), 0, 'read-only');
  assert.equal(await view.getByRole('note', { name: 'Demo model' }).count(), 0, 'a real model: no demo notice');

  await button(page, 'Revoke').click();
  await page.getByText(/ · revoked /).waitFor();
  stranger.expectFailure(/\/api\/shared\//);
  await view.reload();
  await view.getByText('This link does not exist or was revoked.').waitFor();
  await button(page, 'Close').click();
  assertClean(stranger);
  await stranger.close();
  assertClean(ctx);
});
