// The conversation API through `parley serve` with authentication on, the way the web UI uses it:
// log in (session cookie + CSRF token), create a conversation, send a message and read the reply
// streamed over SSE, find it saved in the message tree, and be charged for it. A second user
// sees none of it. Once the daily token quota is spent, a reply is refused before the user
// message is saved. Acknowledged writes survive kill -9 of the server. The demo model's replies
// are saved even when it emits its token 0, the byte NUL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, admin } from './server.mjs';

let server;
let configDir;
const password = 'integration-test-pw-123';

before(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'parley-it-conversations-'));
  const config = join(configDir, 'parley.toml');
  writeFileSync(config, `
[auth]
password_memory_mib = 8
password_passes = 1

[limits.users."quota@example.com"]
tokens_per_day = 10
`);
  server = await startServer(['--auth', 'required', '--config', config], {
    setup(dir) {
      for (const email of ['alice@example.com', 'bob@example.com', 'quota@example.com']) {
        admin(dir, ['create-user', '--email', email, '--password-stdin'], `${password}\n`);
      }
    },
  });
});

after(async () => {
  await server?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

// A logged-in browser: the session cookie and the CSRF token every unsafe request carries.
async function login(email) {
  const r = await fetch(`${server.baseURL}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return {
    cookie,
    csrf,
    get: (path) => fetch(`${server.baseURL}${path}`, { headers: { cookie } }),
    post: (path, body, { withCsrf = true } = {}) => fetch(`${server.baseURL}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', cookie, ...(withCsrf ? { 'X-CSRF-Token': csrf } : {}) },
      body: JSON.stringify(body),
    }),
  };
}

// Reads a whole SSE response into [{event, data}].
async function sseEvents(response) {
  const text = await response.text();
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    return { event, data: data ? JSON.parse(data) : undefined };
  });
}

test('send a message, stream the reply, find it saved, and be charged for it', async () => {
  const alice = await login('alice@example.com');
  const created = await alice.post('/api/conversations', {});
  assert.equal(created.status, 201);
  const conversation = await created.json();

  const reply = await alice.post(`/api/conversations/${conversation.id}/messages`,
    { content: 'What is a KV cache?', max_tokens: 12, temperature: 0 });
  assert.equal(reply.status, 200);
  assert.match(reply.headers.get('content-type'), /text\/event-stream/);
  const events = await sseEvents(reply);
  assert.equal(events[0].event, 'message');
  assert.equal(events[0].data.message.content, 'What is a KV cache?');
  const done = events.at(-1);
  assert.equal(done.event, 'done');
  const streamed = events.filter((e) => e.event === 'delta').map((e) => e.data.content).join('');
  assert.equal(done.data.message.content, streamed);
  assert.equal(done.data.conversation.title, 'What is a KV cache?');

  const tree = await (await alice.get(`/api/conversations/${conversation.id}`)).json();
  assert.equal(tree.current_leaf_id, done.data.message.id);
  assert.deepEqual(tree.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(tree.messages[1].content, streamed);

  // The reply is in the user's usage (rows are written in the background: poll briefly).
  let usage;
  for (let i = 0; i < 50; ++i) {
    usage = await (await alice.get('/api/usage')).json();
    if (usage.totals.completion_tokens > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(usage.totals.completion_tokens, done.data.message.usage.completion_tokens);
});

test('unsafe requests need the CSRF token, and another user sees nothing', async () => {
  const alice = await login('alice@example.com');
  const bob = await login('bob@example.com');
  const noCsrf = await alice.post('/api/conversations', {}, { withCsrf: false });
  assert.equal(noCsrf.status, 403);

  const conversation = await (await alice.post('/api/conversations', { title: 'private' })).json();
  const missing = await bob.get('/api/conversations/cnv_00000000000000000000000000');
  const theirs = await bob.get(`/api/conversations/${conversation.id}`);
  assert.equal(theirs.status, 404);
  assert.deepEqual(await theirs.json(), await missing.json());
  const send = await bob.post(`/api/conversations/${conversation.id}/messages`, { content: 'hi', max_tokens: 2 });
  assert.equal(send.status, 404);
  const list = await (await bob.get('/api/conversations')).json();
  assert.ok(!list.data.some((c) => c.id === conversation.id));
});

test('settings, a share link read signed out, an export, usage by day: what the web UI uses', async () => {
  const alice = await login('alice@example.com');
  const send = (method, path, body) => fetch(`${server.baseURL}${path}`, {
    method, headers: { 'Content-Type': 'application/json', cookie: alice.cookie, 'X-CSRF-Token': alice.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const conversation = await (await alice.post('/api/conversations',
    { title: 'Trip: Lisbon', settings: { temperature: 0, max_tokens: 3 } })).json();
  assert.deepEqual(conversation.settings, { temperature: 0, max_tokens: 3 });
  const patched = await (await send('PATCH', `/api/conversations/${conversation.id}`,
    { settings: { system_prompt: 'Be brief.', temperature: null } })).json();
  assert.deepEqual(patched.settings, { system_prompt: 'Be brief.', max_tokens: 3 });

  const events = await sseEvents(await alice.post(`/api/conversations/${conversation.id}/messages`,
    { content: 'Plan a trip', ignore_eos: true }));
  const done = events.at(-1);
  assert.equal(done.event, 'done');
  assert.equal(done.data.message.usage.completion_tokens, 3);  // the settings' max_tokens
  assert.equal(done.data.conversation.usage.requests, 1);
  assert.equal(done.data.conversation.usage.total_tokens, done.data.message.usage.total_tokens);

  const share = await (await send('POST', `/api/conversations/${conversation.id}/shares`, {})).json();
  assert.equal(share.url, `/share/${share.token}`);
  const shared = await fetch(`${server.baseURL}/api/shared/${share.token}`);  // no cookie
  assert.equal(shared.status, 200);
  assert.equal(shared.headers.get('x-robots-tag'), 'noindex, nofollow');
  const view = await shared.json();
  assert.equal(view.title, 'Trip: Lisbon');
  assert.deepEqual(view.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(view.messages[1].content, done.data.message.content);

  const md = await alice.get(`/api/conversations/${conversation.id}/export?format=markdown`);
  assert.equal(md.headers.get('content-disposition'), 'attachment; filename="Trip Lisbon.md"');
  assert.ok((await md.text()).startsWith('# Trip: Lisbon\n\n**User**\n\nPlan a trip\n'));

  assert.equal((await send('DELETE', `/api/shares/${share.id}`)).status, 200);
  assert.equal((await fetch(`${server.baseURL}/api/shared/${share.token}`)).status, 404);

  const models = await (await alice.get('/api/models')).json();
  assert.equal(models.data.length, 1);
  assert.equal(typeof models.data[0].context_length, 'number');
  assert.equal(models.data[0].demo, false);
  const byDay = (await (await alice.get('/api/usage?group_by=day')).json()).by_day;
  assert.ok(Array.isArray(byDay) && byDay.length >= 1);
  assert.match(byDay[0].day, /^\d{4}-\d{2}-\d{2}$/);
});

test('once the daily token quota is spent, a reply is refused before anything is saved', async () => {
  const user = await login('quota@example.com');
  const conversation = await (await user.post('/api/conversations', {})).json();
  // The first exchange is admitted (nothing spent yet) and spends more than the 10 tokens a day
  // this user may use: its prompt alone is longer.
  const first = await user.post(`/api/conversations/${conversation.id}/messages`, { content: 'hello there', max_tokens: 4 });
  assert.equal(first.status, 200);
  assert.equal((await sseEvents(first)).at(-1).event, 'done');
  for (let i = 0; i < 50; ++i) {  // usage rows are written in the background
    if ((await (await user.get('/api/usage')).json()).totals.prompt_tokens > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const refused = await user.post(`/api/conversations/${conversation.id}/messages`, { content: 'and again', max_tokens: 4 });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal((await refused.json()).error.code, 'insufficient_quota');
  const tree = await (await user.get(`/api/conversations/${conversation.id}`)).json();
  assert.deepEqual(tree.messages.map((m) => m.role), ['user', 'assistant']);
});

test('acknowledged writes survive kill -9 of the server', async () => {
  const alice = await login('alice@example.com');
  const conversation = await (await alice.post('/api/conversations', { title: 'before the crash' })).json();
  const reply = await alice.post(`/api/conversations/${conversation.id}/messages`, { content: 'Remember me', max_tokens: 4 });
  const done = (await sseEvents(reply)).at(-1);
  assert.equal(done.event, 'done');
  // The last acknowledged write, then the crash at once: no graceful shutdown, no checkpoint.
  const renamed = await fetch(`${server.baseURL}/api/conversations/${conversation.id}`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/json', cookie: alice.cookie, 'X-CSRF-Token': alice.csrf },
    body: JSON.stringify({ title: 'renamed just before the crash' }),
  });
  assert.equal(renamed.status, 200);
  await server.stop({ signal: 'SIGKILL', keep: true });

  server = await startServer(['--auth', 'required', '--config', join(configDir, 'parley.toml')], { dir: server.dir });
  const again = await login('alice@example.com');
  const tree = await (await again.get(`/api/conversations/${conversation.id}`)).json();
  assert.equal(tree.conversation.title, 'renamed just before the crash');
  assert.deepEqual(tree.messages.map((m) => m.content), ['Remember me', done.data.message.content]);
  assert.equal(tree.current_leaf_id, done.data.message.id);
});

test('the demo model, as `make run` serves it: flagged for the UI, and its NUL bytes never lose a reply', async () => {
  const demo = await startServer([], { demo: true });  // local mode: no log-in
  try {
    const models = await (await fetch(`${demo.baseURL}/api/models`)).json();
    assert.deepEqual(models.data.map((m) => [m.id, m.demo]), [['parley-demo', true]]);
    const json = { 'Content-Type': 'application/json' };
    const conversation = await (await fetch(`${demo.baseURL}/api/conversations`,
      { method: 'POST', headers: json, body: '{}' })).json();
    // Token 0 is the byte 0x00: make it most of the reply.
    const reply = await fetch(`${demo.baseURL}/api/conversations/${conversation.id}/messages`, {
      method: 'POST', headers: json,
      body: JSON.stringify({ content: 'hello', max_tokens: 16, ignore_eos: true, seed: 1, logit_bias: { 0: 5 } }),
    });
    const done = (await sseEvents(reply)).at(-1);
    assert.equal(done.event, 'done');
    assert.equal(done.data.message.usage.completion_tokens, 16);
    assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(done.data.message.content));
    const tree = await (await fetch(`${demo.baseURL}/api/conversations/${conversation.id}`)).json();
    assert.equal(tree.messages.at(-1).content, done.data.message.content);
  } finally {
    await demo.stop();
  }
});
