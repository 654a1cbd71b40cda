// Faults outside the store (issue 18): a model file that is missing, truncated or corrupt at
// start-up; clients that never read their stream; clients that go away mid-stream. The server
// must say which file is wrong and exit non-zero; a client too slow to read is cut off at a
// bounded buffer while others are served; either way its slot and KV blocks are freed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parleyBin, startServer, synthModel, metric } from './server.mjs';
import { json, kvUsed, running, sleep, until } from './faults_lib.mjs';

test('a missing, truncated or corrupt model file: the file and the fault are named, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-model-'));
  try {
    const good = synthModel(dir);
    const size = readFileSync(good).length;
    const truncated = join(dir, 'truncated.gguf');
    writeFileSync(truncated, readFileSync(good).subarray(0, Math.floor(size / 2)));
    const corrupt = join(dir, 'corrupt.gguf');
    copyFileSync(good, corrupt);
    const fd = openSync(corrupt, 'r+');
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 8);  // the tensor count
    closeSync(fd);
    const notGguf = join(dir, 'notes.gguf');
    writeFileSync(notGguf, 'these are not weights\n');
    const cases = [
      [join(dir, 'missing.gguf'), /missing\.gguf: No such file or directory/],
      [truncated, /truncated\.gguf: malformed GGUF: .*may be truncated/],
      [corrupt, /corrupt\.gguf: malformed GGUF at byte \d+: tensor count/],
      [notGguf, /notes\.gguf: not a GGUF file/],
    ];
    for (const [model, message] of cases) {
      const r = spawnSync(parleyBin, ['serve', '--model', model, '--port', '0', '--data', dir],
        { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 1, `${model}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The integration model with a long context, so that a stream can outlast the buffers.
function longModel(dir) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '2',
    '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '8192', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}

let server;
before(async () => {
  server = await startServer([], { synth: longModel });
});
after(async () => {
  await server?.stop();
});

async function idle() {
  await until(async () => (await running(server.baseURL)) === 0 && (await kvUsed(server.baseURL)) === 0,
    'no request running and no KV block used');
}

// A raw HTTP/1.1 request whose response is never read: the socket is paused at once.
function neverRead(path, body) {
  const socket = connect(server.port, '127.0.0.1');
  socket.pause();
  const payload = JSON.stringify(body);
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
  return socket;
}

// Bytes the socket delivers once it is read, until the server closes it.
function drain(socket) {
  return new Promise((resolve) => {
    let bytes = 0;
    let text = '';
    socket.on('data', (d) => {
      bytes += d.length;
      text = (text + d.toString('latin1')).slice(-4096);
    });
    socket.on('close', () => resolve({ bytes, tail: text }));
    socket.on('error', () => {});
    socket.resume();
  });
}

test('a client that never reads: cut off at a bounded buffer, its slot freed, others served', async () => {
  const { baseURL } = server;
  const rssBefore = await metric(baseURL, 'process_resident_memory_bytes');
  // Many tokens, each with 20 alternatives: megabytes of events that nobody reads.
  const slow = neverRead('/v1/chat/completions', {
    model: 'tiny', messages: [{ role: 'user', content: 'Talk.' }], stream: true, max_tokens: 8000,
    ignore_eos: true, temperature: 1, logprobs: true, top_logprobs: 20,
  });
  await until(async () => (await running(baseURL)) === 1, 'the unread request running');

  // Another client meanwhile: served in full.
  const r = await fetch(`${baseURL}/v1/chat/completions`, {
    method: 'POST', headers: json,
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi.' }], max_tokens: 16, ignore_eos: true }),
  });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).usage.completion_tokens, 16);

  // The server gives up on the reader (its per-response buffer is bounded), ends the request and
  // frees its KV blocks, long before the 8000 tokens.
  await idle();
  const generated = await metric(baseURL, 'parley_generation_tokens_total');
  assert.ok(generated < 8000 + 16, `generated ${generated}`);
  const rssAfter = await metric(baseURL, 'process_resident_memory_bytes');
  // The unread megabytes were not kept: the process grew by less than the 8000 tokens' events.
  assert.ok(rssAfter - rssBefore < 64 << 20, `RSS grew by ${rssAfter - rssBefore} bytes`);
  const { tail } = await drain(slow);
  assert.ok(!tail.includes('data: [DONE]'), 'the unread stream was cut off');
});

test('clients that go away mid-stream: slots and KV blocks returned, the server goes on', async () => {
  const { baseURL } = server;
  const streams = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
    const controller = new AbortController();
    const path = i % 2 ? '/v1/chat/completions' : '/v1/completions';
    const body = i % 2
      ? { model: 'tiny', messages: [{ role: 'user', content: `Go ${i}.` }], stream: true, max_tokens: 4000, ignore_eos: true }
      : { model: 'tiny', prompt: `Go ${i}.`, stream: true, max_tokens: 4000, ignore_eos: true };
    const r = await fetch(`${baseURL}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body),
      signal: controller.signal });
    assert.equal(r.status, 200);
    const reader = r.body.getReader();
    await reader.read();  // the first bytes of the stream
    return controller;
  }));
  assert.ok((await running(baseURL)) >= 1);
  for (const c of streams) c.abort();
  await idle();

  // A conversation reply whose reader goes away: the same, and the conversation stays usable.
  const conv = await (await fetch(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: '{}' })).json();
  const controller = new AbortController();
  const r = await fetch(`${baseURL}/api/conversations/${conv.id}/messages`, {
    method: 'POST', headers: json, signal: controller.signal,
    body: JSON.stringify({ content: 'Tell me everything.', max_tokens: 4000, ignore_eos: true }),
  });
  assert.equal(r.status, 200);
  await r.body.getReader().read();
  controller.abort();
  await idle();
  await sleep(50);
  const next = await fetch(`${baseURL}/api/conversations/${conv.id}/messages`, {
    method: 'POST', headers: json, body: JSON.stringify({ content: 'Short, please.', max_tokens: 4 }),
  });
  assert.equal(next.status, 200);
  assert.match(await next.text(), /event: done/);
  await idle();
});
