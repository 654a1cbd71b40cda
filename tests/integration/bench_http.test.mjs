// `parley bench http` against a real `parley serve` (counts add up, turns carry their history,
// the server's cached tokens are read) and against a scripted endpoint that answers 429, breaks
// its streams or is not there at all (each kind of error is counted as such).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, parleyBin } from './server.mjs';

const run = promisify(execFile);
let server;
let mock;
let mockURL;
let dir;
const seen = [];  // requests the scripted endpoint received: { path, body, at }

// Runs bench http (asynchronously: the scripted endpoint lives in this process) and parses --json.
async function bench(url, args) {
  const { stdout } = await run(parleyBin, ['bench', 'http', '--url', url, '--json', ...args], { timeout: 120000 });
  return JSON.parse(stdout);
}

function sse(res, events, { end = true } = {}) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
  if (end) res.end();
}

const chunk = (content, finish = null) => ({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] });

// Paths select the behaviour: /ok/v1, /429/v1, /429once/v1, /garbage/v1, /cut/v1, /stall/v1, /error/v1.
function scripted(req, res, body) {
  const mode = req.url.split('/')[1];
  if (req.url.endsWith('/v1/models')) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'scripted', object: 'model' }] }));
    return;
  }
  const request = JSON.parse(body);
  seen.push({ mode, request, at: Date.now() });
  const n = request.messages.length;
  const usage = { prompt_tokens: 10 * n, completion_tokens: 3, total_tokens: 10 * n + 3, prompt_tokens_details: { cached_tokens: 5 } };
  const first = seen.filter((s) => s.mode === mode && JSON.stringify(s.request) === JSON.stringify(request)).length === 1;
  if (mode === '429' || (mode === '429once' && first)) {
    res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': mode === '429' ? '0' : '1' });
    res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error' } }));
  } else if (mode === 'garbage') {
    sse(res, [chunk('a'), 'not json']);
  } else if (mode === 'cut') {
    sse(res, [chunk('a')], { end: false });
    setTimeout(() => res.socket.destroy(), 20);
  } else if (mode === 'stall') {
    sse(res, [chunk('a')], { end: false });  // and nothing more
  } else if (mode === 'error') {
    sse(res, [chunk('a'), { error: { message: 'the engine failed', type: 'server_error' } }]);
  } else {
    const reply = `reply ${n}`;
    sse(res, [{ choices: [{ index: 0, delta: { role: 'assistant' } }] }, chunk(`${reply} `), chunk('x'), chunk('y', 'length'),
      { choices: [], usage }, '[DONE]']);
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-bench-http-'));
  server = await startServer();
  mock = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => scripted(req, res, body));
  });
  await new Promise((resolve) => mock.listen(0, '127.0.0.1', resolve));
  mockURL = `http://127.0.0.1:${mock.address().port}`;
});

after(async () => {
  await server?.stop();
  mock?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('against parley serve: counts add up and every turn carries the history', async () => {
  const saved = join(dir, 'requests.jsonl');
  const r = await bench(server.baseURL, ['-c', '2', '-N', '3', '-T', '3', '--max-tokens', '6', '--ignore-eos',
    '--system-prompt-tokens', '64', '--user-turn-words', '8', '--save-requests', saved]);
  assert.equal(r.model, 'tiny');
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.conversations, { started: 3, completed: 3 });
  assert.equal(r.requests.sent, 9);
  assert.equal(r.requests.ok, 9);
  assert.equal(r.requests.failed, 0);
  assert.equal(r.requests.usage_reported, 9);
  assert.equal(r.tokens.generated, 9 * 6);  // ignore_eos: each reply is max_tokens long
  assert.equal(r.ttft_ms.count, 9);
  assert.equal(r.e2e_ms.count, 9);
  assert.ok(r.throughput.generated_tok_s > 0);
  assert.equal(r.by_turn.length, 3);
  assert.ok(r.by_turn[1].prompt_tokens_mean > r.by_turn[0].prompt_tokens_mean);
  assert.ok(r.by_turn[2].prompt_tokens_mean > r.by_turn[1].prompt_tokens_mean);

  const lines = readFileSync(saved, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 9);
  let prompt = 0;
  let cached = 0;
  for (let c = 0; c < 3; ++c) {
    const turns = lines.filter((l) => l.conversation === c).sort((a, b) => a.turn - b.turn);
    assert.deepEqual(turns.map((t) => t.turn), [1, 2, 3]);
    for (let t = 1; t < 3; ++t) {
      // The next prompt holds this one, its reply and a new user message.
      assert.ok(turns[t].prompt_tokens > turns[t - 1].prompt_tokens + turns[t - 1].completion_tokens);
      assert.ok(turns[t].start_ms >= turns[t - 1].start_ms + turns[t - 1].e2e_ms - 1);
    }
    for (const t of turns) {
      assert.equal(t.ok, true);
      assert.equal(t.completion_tokens, 6);
      assert.equal(t.finish_reason, 'length');
      prompt += t.prompt_tokens;
      cached += t.cached_tokens;
    }
  }
  assert.equal(r.tokens.prompt, prompt);
  assert.equal(r.tokens.cached, cached);
  // Later turns find their conversation's earlier turns in Parley's prefix cache.
  assert.ok(cached > 0);
  assert.equal(r.cached_prompt_share, cached / prompt);
});

test('the request bodies: streamed with usage, history and tenants', async () => {
  seen.length = 0;
  const r = await bench(`${mockURL}/ok`, ['-c', '2', '-N', '4', '-T', '2', '--tenants', '2', '--max-tokens', '7',
    '--system-prompt-words', '5', '--extra-body', '{"top_p":0.5}']);
  assert.equal(r.model, 'scripted');  // the first of GET /v1/models
  assert.equal(r.requests.ok, 8);
  assert.equal(r.tokens.generated, 8 * 3);  // usage.completion_tokens, not the chunk count
  assert.equal(r.tokens.prompt, 4 * (10 * 2 + 10 * 4));
  assert.equal(r.tokens.cached, 8 * 5);
  assert.equal(r.itl_ms.count, 8 * 2);  // three content chunks: two gaps
  assert.deepEqual(r.by_tenant.map((t) => [t.tenant, t.requests_ok]), [['tenant-0', 4], ['tenant-1', 4]]);
  assert.equal(seen.length, 8);
  for (const { request } of seen) {
    assert.equal(request.stream, true);
    assert.deepEqual(request.stream_options, { include_usage: true });
    assert.equal(request.max_tokens, 7);
    assert.equal(request.top_p, 0.5);
    assert.match(request.user, /^tenant-[01]$/);
    assert.equal(request.messages[0].role, 'system');
    assert.equal(request.messages[0].content.split(' ').length, 5);
    if (request.messages.length === 4) {  // the second turn carries the first reply
      assert.deepEqual(request.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
      assert.equal(request.messages[2].content, 'reply 2 xy');
    } else {
      assert.equal(request.messages.length, 2);
    }
  }
});

test('429s are counted, and retried after Retry-After when asked', async () => {
  let r = await bench(`${mockURL}/429`, ['-c', '2', '-N', '3', '-T', '2']);
  assert.deepEqual(r.errors, { http_429: 3 });  // a failed turn ends its conversation
  assert.equal(r.requests.ok, 0);
  assert.equal(r.requests.failed, 3);
  assert.deepEqual(r.conversations, { started: 3, completed: 0 });

  r = await bench(`${mockURL}/429`, ['-c', '2', '-N', '2', '-T', '2', '--retries', '2']);
  assert.deepEqual(r.errors, { http_429: 6 });
  assert.equal(r.requests.retried, 4);

  seen.length = 0;
  r = await bench(`${mockURL}/429once`, ['-c', '1', '-N', '1', '-T', '2', '--retries', '1']);
  assert.deepEqual(r.errors, { http_429: 2 });
  assert.equal(r.requests.ok, 2);
  assert.deepEqual(r.conversations, { started: 1, completed: 1 });
  // Retry-After: 1 was honoured before each retry.
  assert.ok(seen[1].at - seen[0].at >= 950, `${seen[1].at - seen[0].at} ms`);
});

test('broken streams and absent servers are counted by kind', async () => {
  for (const [mode, kind] of [['garbage', 'malformed_stream'], ['cut', 'disconnected'], ['error', 'stream_error']]) {
    const r = await bench(`${mockURL}/${mode}`, ['-c', '2', '-N', '2', '-T', '2', '--model', 'm']);
    assert.deepEqual(r.errors, { [kind]: 2 }, mode);
    assert.equal(r.requests.ok, 0, mode);
  }
  const stalled = await bench(`${mockURL}/stall`, ['-c', '2', '-N', '2', '-T', '2', '--model', 'm', '--timeout', '0.3']);
  assert.deepEqual(stalled.errors, { timeout: 2 });
  // A port nobody listens on.
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const r = await bench(`http://127.0.0.1:${port}`, ['-c', '2', '-N', '3', '-T', '2', '--model', 'm']);
  assert.deepEqual(r.errors, { connect: 3 });
  // Without --model the tool must ask the server, and says why it cannot.
  await assert.rejects(run(parleyBin, ['bench', 'http', '--url', `http://127.0.0.1:${port}`]), /bench http/);
  // Bad options are refused before any request.
  await assert.rejects(run(parleyBin, ['bench', 'http', '--url', mockURL, '-c', '0']), /--concurrency must be/);
  await assert.rejects(run(parleyBin, ['bench', 'http', '--url', mockURL, '--extra-body', '[1]']), /JSON object/);
});

test('--duration runs for a time, and goodput counts the requests within the SLOs', async () => {
  const r = await bench(`${mockURL}/ok`, ['-c', '2', '-T', '2', '--duration', '0.3', '--slo-ttft', '60000']);
  assert.equal(r.load.conversations, null);
  assert.equal(r.load.duration_s, 0.3);
  assert.equal(r.interrupted, false);
  assert.ok(r.conversations.started >= 2);
  assert.ok(r.requests.ok >= 2);
  assert.deepEqual(r.errors, {});
  assert.equal(r.goodput.requests, r.requests.ok);
  assert.equal(r.goodput.share, 1);
});

test('SIGINT cancels the requests in flight and still reports', async () => {
  seen.length = 0;
  const proc = spawn(parleyBin, ['bench', 'http', '--url', `${mockURL}/stall`, '--json', '-c', '2', '-N', '4',
    '--model', 'm'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  while (seen.filter((s) => s.mode === 'stall').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  proc.kill('SIGINT');
  assert.equal(await exited, 0);
  const r = JSON.parse(stdout);
  assert.equal(r.interrupted, true);
  assert.equal(r.requests.cancelled, 2);
  assert.equal(r.requests.ok, 0);
  assert.deepEqual(r.errors, {});
  assert.equal(r.conversations.started, 2);
});

test('--warmup requests are left out of the figures; --range-ratio varies the turns', async () => {
  seen.length = 0;
  const r = await bench(`${mockURL}/ok`, ['-c', '2', '-N', '10', '-T', '2', '--warmup', '3', '--max-tokens', '8',
    '--user-turn-words', '10', '--range-ratio', '0.5']);
  assert.equal(r.load.warmup, 3);
  assert.equal(r.requests.sent, 20);
  assert.equal(seen.length, 23);
  const maxTokens = new Set(seen.map((s) => s.request.max_tokens));
  const words = new Set(seen.map((s) => s.request.messages.at(-1).content.split(' ').length));
  assert.ok(maxTokens.size > 1 && [...maxTokens].every((n) => n >= 4 && n <= 12), [...maxTokens].join(','));
  assert.ok(words.size > 1 && [...words].every((n) => n >= 5 && n <= 15), [...words].join(','));
});
