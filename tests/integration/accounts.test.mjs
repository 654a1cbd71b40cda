// `parley serve` with authentication on, driven by the official OpenAI client: an API key from
// `parley admin create-key` works, a bad or revoked one is an AuthenticationError, the
// requests/minute limit is a RateLimitError with Retry-After, and usage lands in the store. The
// browser flow (sign-up, session cookie, CSRF token, a key made through /api/keys) is driven
// with fetch, the way the web UI does it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startServer, admin } from './server.mjs';

let server;
let configDir;
let key;
const model = 'tiny';
const messages = [{ role: 'user', content: 'Hello.' }];
const password = 'integration-test-SECRET-pw';

before(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'parley-it-accounts-'));
  const config = join(configDir, 'parley.toml');
  // Users may make 4 requests a minute; admins are not limited. Cheap password hashing: the
  // cost is configuration, and these tests are not about it.
  writeFileSync(config, `
[auth]
password_memory_mib = 8
password_passes = 1

[limits.roles.user]
requests_per_minute = 4

[prices.tiny]
prompt_per_million = 1.5
completion_per_million = 6
`);
  server = await startServer(['--auth', 'required', '--config', config], {
    setup(dir) {
      admin(dir, ['create-user', '--email', 'dev@example.com', '--password-stdin'], `${password}\n`);
      key = admin(dir, ['create-key', '--email', 'dev@example.com', '--name', 'integration']).trim();
    },
  });
});

after(async () => {
  await server?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

const clientWith = (apiKey) => new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey, maxRetries: 0 });

test('the server says at start-up that authentication is required', () => {
  assert.ok(server.logs.some((l) => l.includes('authentication is required')), server.logs.join('\n'));
});

test('an API key from `parley admin create-key` works with the OpenAI client', async () => {
  assert.match(key, /^pk-[0-9a-hjkmnp-tv-z]{48}$/);
  const client = clientWith(key);
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model]);
  const r = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 4);
});

test('a bad key is an AuthenticationError', async () => {
  for (const bad of ['unused', `pk-${'a'.repeat(48)}`, key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a')]) {
    await assert.rejects(clientWith(bad).models.list(), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `${bad}: ${e}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      assert.ok(!JSON.stringify(e.error).includes(bad), 'the key is not echoed');
      return true;
    });
  }
});

test('usage lands in the store with its cost', async () => {
  let rows = [];
  for (let i = 0; i < 50 && rows.length === 0; ++i) {
    rows = admin(server.dir, ['usage', '--email', 'dev@example.com', '--json']).trim().split('\n').filter(Boolean).map(JSON.parse);
    if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rows.length, 1);
  assert.equal(rows[0].name, model);
  assert.ok(rows[0].requests >= 1);
  assert.equal(rows[0].cost_micros, Math.round(rows[0].prompt_tokens * 1.5 + rows[0].completion_tokens * 6));
});

test('the requests/minute limit is a RateLimitError with Retry-After', async () => {
  const client = clientWith(key);
  let limited;
  for (let i = 0; i < 6 && !limited; ++i) {
    try {
      await client.chat.completions.create({ model, messages, max_tokens: 1 });
    } catch (e) {
      limited = e;
    }
  }
  assert.ok(limited instanceof OpenAI.RateLimitError, `${limited}`);
  assert.equal(limited.status, 429);
  assert.equal(limited.code, 'rate_limit_exceeded');
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 15, `Retry-After ${retryAfter}`);
});

test('a key revoked with `parley admin revoke-key` is refused at once', async () => {
  const other = admin(server.dir, ['create-key', '--email', 'dev@example.com', '--scopes', 'models']).trim();
  const client = clientWith(other);
  await client.models.list();
  const id = admin(server.dir, ['list-keys', '--email', 'dev@example.com']).split('\n').find((l) => l.includes(other.slice(0, 12))).split(' ')[0];
  admin(server.dir, ['revoke-key', '--email', 'dev@example.com', '--id', id]);
  await assert.rejects(client.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
});

test('the browser flow: log in, CSRF-protected key creation, then the key works', async () => {
  const json = { 'Content-Type': 'application/json' };
  const login = await fetch(`${server.baseURL}/api/auth/login`, {
    method: 'POST', headers: json, body: JSON.stringify({ email: 'dev@example.com', password }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  assert.match(login.headers.get('set-cookie'), /HttpOnly/);
  const { csrf_token: csrf, user } = await login.json();
  assert.equal(user.email, 'dev@example.com');

  const noToken = await fetch(`${server.baseURL}/api/keys`, { method: 'POST', headers: { ...json, cookie }, body: '{}' });
  assert.equal(noToken.status, 403);
  const created = await fetch(`${server.baseURL}/api/keys`, {
    method: 'POST', headers: { ...json, cookie, 'X-CSRF-Token': csrf }, body: JSON.stringify({ name: 'from the browser' }),
  });
  assert.equal(created.status, 201);
  const { secret } = await created.json();
  const list = await clientWith(secret).models.list();
  assert.equal(list.data[0].id, model);

  const keys = await (await fetch(`${server.baseURL}/api/keys`, { headers: { cookie } })).json();
  assert.ok(keys.data.some((k) => k.name === 'from the browser'));
  assert.ok(!JSON.stringify(keys).includes(secret));
});

test('no password or key in the server log', () => {
  const log = server.logs.join('\n');
  assert.ok(!log.includes(password));
  assert.ok(!log.includes(key));
});
