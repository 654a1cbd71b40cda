// Limits and overload, with the server configured by a TOML file (`--config`): a full queue is a
// 429 with Retry-After that the OpenAI client reports as a RateLimitError, the server recovers
// once the burst is over, and the file's request limits apply.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startServer, metric } from './server.mjs';

let server;
let client;
let configDir;
const model = 'tiny';
const messages = [{ role: 'user', content: 'Go on.' }];

before(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'parley-it-config-'));
  const config = join(configDir, 'parley.toml');
  writeFileSync(config, `
[server]
max_body_mib = 1

[engine]
max_running = 1
max_waiting = 1

[limits]
max_n = 2
`);
  server = await startServer(['--config', config]);
  client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await server?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

test('a full queue answers 429 with Retry-After, and the server recovers', async () => {
  // One request runs and one may wait; the rest of a burst of 8 cannot be queued.
  const body = JSON.stringify({ model, messages, max_tokens: 64, temperature: 1, ignore_eos: true });
  const responses = await Promise.all(Array.from({ length: 8 }, () =>
    fetch(`${server.baseURL}/v1/chat/completions`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })));
  const statuses = responses.map((r) => r.status);
  assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(','));
  assert.ok(statuses.includes(200), statuses.join(','));
  assert.ok(statuses.filter((s) => s === 429).length >= 5, statuses.join(','));
  for (const r of responses) {
    const json = await r.json();
    if (r.status === 429) {
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal(json.error.type, 'rate_limit_error');
      assert.match(json.error.message, /queue is full/);
    } else {
      assert.equal(json.choices[0].finish_reason, 'length');
      assert.equal(json.usage.completion_tokens, 64);
    }
  }
  assert.ok((await metric(server.baseURL, 'parley_requests_total', 'status="429"')) >= 5);

  // The burst is over: nothing is left queued or running, and a new request is served.
  assert.equal(await metric(server.baseURL, 'parley_queue_depth', `model="${model}"`), 0);
  const r = await client.chat.completions.create({ model, messages, max_tokens: 4 });
  assert.equal(r.choices.length, 1);
});

test('the official client sees a RateLimitError', async () => {
  const long = { model, messages, max_tokens: 48, temperature: 1, ignore_eos: true };
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => client.chat.completions.create(long)));
  const rejected = results.filter((x) => x.status === 'rejected').map((x) => x.reason);
  assert.ok(rejected.length >= 1);
  for (const e of rejected) {
    assert.ok(e instanceof OpenAI.RateLimitError, String(e));
    assert.equal(e.status, 429);
  }
});

test('the config file sets the request limits', async () => {
  await assert.rejects(client.chat.completions.create({ model, messages, n: 3, max_tokens: 2 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.param, 'n');
    return true;
  });
  const big = await fetch(`${server.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }),
  });
  assert.equal(big.status, 413);
});
