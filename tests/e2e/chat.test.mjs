// The chat in a browser, on the local mode of `parley serve` (what `make run` starts on
// 127.0.0.1: no sign-in): a reply streams and stops (button and Esc), answers are regenerated and
// messages edited into branches that survive a reload, conversations are renamed, archived and
// deleted, the draft survives a reload, and the keyboard shortcuts work; a reply cut short by a
// crash of the server is shown interrupted, with a Retry. Two synthetic models:
// e2e-tiny (fast: the flows) and e2e-slow (a reply long enough to watch it grow and to stop it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../integration/server.mjs';
import {
  apiGet, assertClean, assistants, button, finishedAssistants, launchBrowser, messageBox, newChat, newContext,
  requireChromium, screenshot, sendAndWait, serve, synthModel, textbox, until, users, versionsText, waitIdle,
} from './harness.mjs';

requireChromium();

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([serve({ models: ['e2e-tiny', 'e2e-slow'], slow: ['e2e-slow'] }), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openChat(t) {
  const ctx = await newContext(browser, server.baseURL);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto('/');
  await messageBox(page).waitFor();
  return { ctx, page };
}

// The reply of the slow model is made long (no end-of-text) by adding `ignore_eos` and a large
// `max_tokens` to the UI's own request: the UI itself sends neither.
async function longReplies(page) {
  await page.route('**/api/conversations/*/messages', (route) => {
    const body = JSON.parse(route.request().postData() ?? '{}');
    return route.continue({ postData: JSON.stringify({ ...body, ignore_eos: true, max_tokens: 6000 }) });
  });
}

const streamingText = (page) => page.locator('article.streaming[data-role="assistant"] .md');

test('local mode opens straight into the chat, with no console error and no CSP violation', async (t) => {
  const { ctx, page } = await openChat(t);
  await page.getByRole('navigation', { name: 'Conversations', exact: true }).waitFor();
  await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
  assert.equal(await button(page, 'Sign in').count(), 0);
  assertClean(ctx);
  // The watch works: an inline script is refused by the server's policy and reported.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.inlineRan = true';
    document.body.append(s);
  });
  await until(() => ctx.problems.some((p) => p.startsWith('CSP violation')), 'the CSP violation is reported');
  assert.match(ctx.problems.join('\n'), /CSP violation .*script-src/);
  assert.equal(await page.evaluate(() => window.inlineRan), undefined);
  ctx.problems.length = 0;
});

test('a reply streams (its text grows), stops with Stop generating and with Esc', async (t) => {
  const { ctx, page } = await openChat(t);
  await longReplies(page);
  await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption('e2e-slow');

  await messageBox(page).fill('Tell me a very long story.');
  await button(page, 'Send message').click();
  // The user message is shown, then the answer grows token by token in its own element.
  await users(page).filter({ hasText: 'Tell me a very long story.' }).waitFor();
  await page.waitForFunction(() => (document.querySelector('article.streaming .md')?.textContent.length ?? 0) > 0);
  const first = (await streamingText(page).textContent()).length;
  await page.waitForFunction((n) => (document.querySelector('article.streaming .md')?.textContent.length ?? 0) > n, first);
  await button(page, 'Stop generating').click();
  await waitIdle(page);
  await finishedAssistants(page).last().getByText('Stopped.', { exact: true }).waitFor();
  await button(page, 'Send message').waitFor();

  // Esc stops too (with the focus in the message box, where Enter just sent the message).
  await messageBox(page).fill('And another one.');
  await messageBox(page).press('Enter');
  await page.waitForFunction(() => (document.querySelector('article.streaming .md')?.textContent.length ?? 0) > 0);
  await page.keyboard.press('Escape');
  await waitIdle(page);
  await assistants(page).nth(1).getByText('Stopped.', { exact: true }).waitFor();
  await screenshot(page, 'chat-stopped-desktop-light');

  // The server saved both partial replies as stopped, on the slow model.
  const id = new URL(page.url()).pathname.split('/').pop();
  const { body } = await apiGet(page, `/api/conversations/${id}`);
  const replies = body.messages.filter((m) => m.role === 'assistant');
  assert.deepEqual(replies.map((m) => [m.finish_reason, m.model]), [['stopped', 'e2e-slow'], ['stopped', 'e2e-slow']]);
  assert.ok(replies.every((m) => m.usage.completion_tokens > 0 && m.usage.completion_tokens < 6000), 'partial replies are kept');
  assertClean(ctx);
});

test('regenerate and switch versions; edit a message; the chosen branch survives a reload', async (t) => {
  const { ctx, page } = await openChat(t);
  await sendAndWait(page, 'Name three rivers.');
  const answer = assistants(page).last();
  const firstAnswer = await answer.locator('.md').textContent();
  assert.equal(await versionsText(answer).count(), 0, 'one version: no switcher');

  // Regenerate: a second version of the answer, shown as "2 / 2" inside the answer's element.
  await button(answer, 'Regenerate').click();
  await waitIdle(page);
  await versionsText(assistants(page).last()).filter({ hasText: /^2 \/ 2$/ }).waitFor();
  const secondAnswer = await assistants(page).last().locator('.md').textContent();
  await button(assistants(page).last(), 'Previous version').click();
  await versionsText(assistants(page).last()).filter({ hasText: /^1 \/ 2$/ }).waitFor();
  assert.equal(await assistants(page).last().locator('.md').textContent(), firstAnswer);
  await button(assistants(page).last(), 'Next version').click();
  await versionsText(assistants(page).last()).filter({ hasText: /^2 \/ 2$/ }).waitFor();
  assert.equal(await assistants(page).last().locator('.md').textContent(), secondAnswer);
  await button(assistants(page).last(), 'Previous version').click();
  await versionsText(assistants(page).last()).filter({ hasText: /^1 \/ 2$/ }).waitFor();

  // Reload, find the conversation in the sidebar: the first answer is still the one shown.
  const title = 'Name three rivers.';
  await page.goto('/');
  const nav = page.getByRole('navigation', { name: 'Conversations', exact: true });
  await nav.getByRole('link', { name: title, exact: true }).click();
  await versionsText(assistants(page).last()).filter({ hasText: /^1 \/ 2$/ }).waitFor();
  assert.equal(await assistants(page).last().locator('.md').textContent(), firstAnswer);

  // Edit the question: "Edit message" opens "Edit message text"; "Save and send" makes version 2.
  const question = users(page).last();
  await button(question, 'Edit message').click();
  const editor = textbox(page, 'Edit message text');
  assert.equal(await editor.inputValue(), title);
  await editor.fill('Name three lakes.');
  await screenshot(page, 'chat-editing-desktop-light');
  await button(page, 'Save and send').click();
  await waitIdle(page);
  await versionsText(users(page).last()).filter({ hasText: /^2 \/ 2$/ }).waitFor();
  assert.equal(await users(page).last().locator('.user-text').textContent(), 'Name three lakes.');
  assert.equal(await versionsText(assistants(page).last()).count(), 0, 'the new branch has one answer');

  // Back to the first question: its answers (two versions) come back with it.
  await button(users(page).last(), 'Previous version').click();
  await versionsText(users(page).last()).filter({ hasText: /^1 \/ 2$/ }).waitFor();
  assert.equal(await users(page).last().locator('.user-text').textContent(), title);
  await versionsText(assistants(page).last()).filter({ hasText: / \/ 2$/ }).waitFor();
  await users(page).last().hover();
  await screenshot(page, 'chat-branches-desktop-light');

  // Cancel leaves a message as it was.
  await button(users(page).last(), 'Edit message').click();
  await textbox(page, 'Edit message text').fill('never sent');
  await button(page, 'Cancel').click();
  assert.equal(await users(page).last().locator('.user-text').textContent(), title);

  // The server keeps the leaf: a reload (another device alike) shows the same branch.
  await page.reload();
  await versionsText(users(page).last()).filter({ hasText: /^1 \/ 2$/ }).waitFor();
  assert.equal(await users(page).last().locator('.user-text').textContent(), title);
  assertClean(ctx);
});

test('Copy a message; Export the conversation as Markdown and JSON', async (t) => {
  const { ctx, page } = await openChat(t);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseURL });
  await sendAndWait(page, 'Copy me, then export me');
  const id = new URL(page.url()).pathname.split('/').pop();
  const { body } = await apiGet(page, `/api/conversations/${id}`);
  const reply = body.messages.find((m) => m.role === 'assistant');

  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  await button(users(page), 'Copy').click();
  await page.waitForFunction(async () => (await navigator.clipboard.readText()) === 'Copy me, then export me');
  await button(assistants(page), 'Copy').click();
  await page.waitForFunction(async (text) => (await navigator.clipboard.readText()) === text, reply.content);
  assert.equal(await clipboard(), reply.content);

  const exported = async (item) => {
    const download = page.waitForEvent('download');
    await button(page, 'Export').click();
    await page.getByRole('menuitem', { name: item, exact: true }).click();
    const file = await download;
    return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
  };
  const md = await exported('Markdown (.md)');
  assert.match(md.name, /^Copy me.*\.md$/);
  assert.match(md.text, /^# Copy me, then export me/);
  assert.ok(md.text.includes('**User**') && md.text.includes('Copy me, then export me'));
  const json = await exported('JSON (.json)');
  assert.match(json.name, /\.json$/);
  const tree = JSON.parse(json.text);
  assert.equal(tree.conversation.id, id);
  assert.deepEqual(tree.messages.map((m) => m.content), [
    'Copy me, then export me',
    reply.content,
  ]);
  assertClean(ctx);
});

test('rename, archive and delete (with undo) from the sidebar', async (t) => {
  const { ctx, page } = await openChat(t);
  const nav = page.getByRole('navigation', { name: 'Conversations', exact: true });
  const menuOf = (title) => button(nav, `More options for ${title}`);
  const item = (name) => page.getByRole('menuitem', { name, exact: true });

  await sendAndWait(page, 'First to rename');
  await newChat(page);
  await sendAndWait(page, 'Second to archive');
  await newChat(page);
  await sendAndWait(page, 'Third to delete');
  const deleteId = new URL(page.url()).pathname.split('/').pop();

  await menuOf('First to rename').click();
  await item('Rename').click();
  await textbox(nav, 'Conversation title').fill('Renamed in the browser');
  await textbox(nav, 'Conversation title').press('Enter');
  await nav.getByRole('link', { name: 'Renamed in the browser', exact: true }).waitFor();

  await menuOf('Second to archive').click();
  await item('Archive').click();
  await nav.getByRole('link', { name: 'Second to archive', exact: true }).waitFor({ state: 'detached' });

  await menuOf('Third to delete').click();
  await item('Delete').click();
  await nav.getByRole('link', { name: 'Third to delete', exact: true }).waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: 'What can I help with?' }).waitFor(); // it was open
  await button(page, 'Undo').click();
  await nav.getByRole('link', { name: 'Third to delete', exact: true }).waitFor();
  await menuOf('Third to delete').click();
  await item('Delete').click();
  await nav.getByRole('link', { name: 'Third to delete', exact: true }).waitFor({ state: 'detached' });

  // Leaving the page sends the deletion still waiting for its undo time.
  await page.reload();
  await nav.getByRole('link', { name: 'Renamed in the browser', exact: true }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Second to archive', exact: true }).count(), 0);
  ctx.expectFailure(new RegExp(`/api/conversations/${deleteId}$`)); // the 404 waited for here
  await until(async () => (await apiGet(page, `/api/conversations/${deleteId}`)).status === 404, 'the deletion reaches the server');
  assert.equal(await nav.getByRole('link', { name: 'Third to delete', exact: true }).count(), 0);

  // Archived chats are listed in Settings.
  await nav.getByRole('link', { name: /^Settings/ }).click();
  await page.getByRole('region', { name: 'Archived chats' }).getByRole('link', { name: 'Second to archive', exact: true }).waitFor();
  assertClean(ctx);
});

test('keyboard: Enter sends, Shift+Enter breaks the line, Ctrl+Shift+O starts a new chat, / searches; the draft survives a reload', async (t) => {
  const { ctx, page } = await openChat(t);
  const box = messageBox(page);
  await box.click();
  await page.keyboard.type('first line');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second line');
  assert.equal(await box.inputValue(), 'first line\nsecond line');
  assert.equal(await users(page).count(), 0, 'Shift+Enter sent nothing');

  // A draft is kept across reloads (per conversation; here the new chat's).
  await page.reload();
  await box.waitFor();
  assert.equal(await box.inputValue(), 'first line\nsecond line');

  await box.press('Enter');
  await finishedAssistants(page).first().waitFor();
  await waitIdle(page);
  assert.equal(await users(page).locator('.user-text').textContent(), 'first line\nsecond line');
  const id = new URL(page.url()).pathname.split('/').pop();
  assert.match(id, /^cnv_/);
  assert.equal(await box.inputValue(), '');

  // The draft of this conversation, half written, survives a reload too.
  await box.fill('a follow-up I have not sent yet');
  await page.reload();
  await users(page).first().waitFor();
  assert.equal(await box.inputValue(), 'a follow-up I have not sent yet');

  await page.keyboard.press('Control+Shift+O');
  await page.waitForURL((u) => u.pathname === '/');
  await page.getByRole('heading', { name: 'What can I help with?' }).waitFor();
  assert.equal(await box.inputValue(), '');

  // "/" in the message box is a slash; elsewhere it focuses the search.
  await box.press('/');
  assert.equal(await box.inputValue(), '/');
  await box.fill('');
  await page.getByRole('heading', { name: 'What can I help with?' }).click();
  await page.keyboard.press('/');
  const search = page.getByRole('searchbox', { name: 'Search conversations', exact: true });
  await page.waitForFunction(() => document.activeElement?.id === 'conversation-search');
  await page.keyboard.type('first line');
  assert.equal(await search.inputValue(), 'first line');
  // The list keeps only the titles with that in them (other tests' chats are in it too).
  await page.waitForFunction(() => {
    const titles = [...document.querySelectorAll('nav .conv-item a')].map((a) => a.textContent);
    return titles.length > 0 && titles.every((x) => x.includes('first line'));
  });
  assertClean(ctx);
});

test('kill -9 mid-reply: after a restart the reply is there, marked interrupted, and Retry answers again', async (t) => {
  // Its own server (the shared one must survive): the slow model, killed while a reply streams.
  const work = mkdtempSync(join(tmpdir(), 'parley-e2e-crash-'));
  const model = synthModel(work, 'e2e-slow', { size: 'slow' });
  let crashed = await startServer(['--model', model], { demo: true });
  let restarted;
  t.after(async () => {
    await crashed?.stop();
    await restarted?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  const first = await newContext(browser, crashed.baseURL);
  t.after(() => first.close());
  const page = await first.newPage();
  await page.goto('/');
  await longReplies(page);
  await messageBox(page).fill('Tell me a very long story.');
  await button(page, 'Send message').click();
  await page.waitForFunction(() => (document.querySelector('article.streaming .md')?.textContent.length ?? 0) > 0);
  const id = new URL(page.url()).pathname.split('/').pop();
  // Until the server has checkpointed some of the text (about a second), then the crash.
  await until(async () => {
    const { body } = await apiGet(page, `/api/conversations/${id}`);
    return body.messages?.some((m) => m.role === 'assistant' && m.status === 'streaming' && m.content.length > 0);
  }, 'a checkpoint of the reply');
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  const dir = crashed.dir;
  await crashed.stop({ signal: 'SIGKILL', keep: true });
  crashed = null;

  restarted = await startServer(['--model', model], { demo: true, dir });
  const ctx = await newContext(browser, restarted.baseURL);
  t.after(() => ctx.close());
  const again = await ctx.newPage();
  await again.route('**/api/conversations/*/messages/*/regenerate', (route) => {  // a short answer
    const body = JSON.parse(route.request().postData() ?? '{}');
    return route.continue({ postData: JSON.stringify({ ...body, max_tokens: 16 }) });
  });
  await again.goto(`/c/${id}`);
  const reply = finishedAssistants(again).last();
  await reply.getByText('The reply was interrupted before it finished.').waitFor();
  assert.ok((await reply.locator('.md').textContent()).length > 0, 'the saved text is shown');
  await screenshot(again, 'chat-interrupted-desktop-light');
  const { body } = await apiGet(again, `/api/conversations/${id}`);
  assert.deepEqual(body.messages.filter((m) => m.role === 'assistant').map((m) => m.status), ['interrupted']);

  // Retry regenerates: a second version of the answer, complete this time (a short one).
  await button(reply, 'Retry').click();
  await finishedAssistants(again).last().locator('.versions-text').filter({ hasText: '2 / 2' }).waitFor();
  await waitIdle(again);
  assertClean(ctx);
});
