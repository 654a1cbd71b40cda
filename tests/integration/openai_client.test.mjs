// `parley serve` driven by the official OpenAI client library, unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { execFile } from 'node:child_process';
import { startServer, metric, parleyBin } from './server.mjs';

let server;
let client;
const model = 'tiny';

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await server?.stop();
});

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say something.' },
];

test('lists and retrieves models', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model]);
  const one = await client.models.retrieve(model);
  assert.equal(one.id, model);
  assert.equal(one.object, 'model');
  await assert.rejects(client.models.retrieve('missing'), (e) => e.status === 404);
});

test('chat completion, not streamed', async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 8);
  assert.ok(r.usage.prompt_tokens > 10);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat completion, streamed, with usage', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let first = true;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    const c = chunk.choices[0];
    if (first) {
      assert.equal(c.delta.role, 'assistant');
      first = false;
    }
    text += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 6);
  // The same request without streaming gives the same text (greedy).
  const whole = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0 });
  assert.equal(text, whole.choices[0].message.content);
});

test('completions, streamed and not', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 5);
  const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
  const echo = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 2, echo: true, temperature: 0 });
  assert.ok(echo.choices[0].text.startsWith('Once upon a time'));
});

test('n > 1 returns n choices', async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 4, n: 3, temperature: 1, seed: 9 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.usage.completion_tokens, 12);
  const stream = await client.chat.completions.create({ model, messages, max_tokens: 3, n: 2, stream: true });
  const seen = new Set();
  for await (const chunk of stream) for (const c of chunk.choices) if (c.finish_reason) seen.add(c.index);
  assert.deepEqual([...seen].sort(), [0, 1]);
});

test('seed makes sampling reproducible', async () => {
  const a = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 1.2, seed: 1234 });
  const b = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 1.2, seed: 1234 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('stop strings end the text and never leak into it', async () => {
  const base = await client.completions.create({ model, prompt: 'The', max_tokens: 24, temperature: 0 });
  const text = base.choices[0].text;
  assert.ok(text.length > 8, text);
  const stop = text.slice(5, 8);  // three characters from the middle, maybe across token boundaries
  const cut = text.indexOf(stop);
  const r = await client.completions.create({ model, prompt: 'The', max_tokens: 24, temperature: 0, stop: [stop] });
  assert.equal(r.choices[0].text, text.slice(0, cut));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const stream = await client.completions.create({ model, prompt: 'The', max_tokens: 24, temperature: 0, stop, stream: true });
  let streamed = '';
  let finish = null;
  for await (const chunk of stream) {
    streamed += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(streamed, text.slice(0, cut));
  assert.equal(finish, 'stop');
});

test('logprobs with top alternatives', async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, 4);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-5);
    assert.ok(Array.isArray(t.bytes));
  }
  assert.equal(content.map((t) => t.token).join(''), r.choices[0].message.content);
});

test('errors have OpenAI shapes', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages }), (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model, messages, temperature: 5 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.param, 'temperature');
    assert.equal(e.type, 'invalid_request_error');
    return true;
  });
  const long = 'word '.repeat(700);
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: long }] }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, 'context_length_exceeded');
    return true;
  });
  const json = { 'Content-Type': 'application/json' };
  const raw = await fetch(`${server.baseURL}/v1/chat/completions`, { method: 'POST', headers: json, body: '{"model": ' });
  assert.equal(raw.status, 400);
  assert.equal((await raw.json()).error.type, 'invalid_request_error');
  // JSON only: a text/plain body is what any web page may send cross-site without a preflight.
  const plain = await fetch(`${server.baseURL}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model, messages }) });
  assert.equal(plain.status, 415);
  assert.equal((await plain.json()).error.code, 'unsupported_media_type');
  const wrongMethod = await fetch(`${server.baseURL}/v1/chat/completions`);
  assert.equal(wrongMethod.status, 405);
  // Names the client made up never become metric labels (that would grow /metrics without bound).
  const text = await (await fetch(`${server.baseURL}/metrics`)).text();
  assert.ok(!text.includes('model="nope"'));
  assert.match(text, /parley_requests_total\{model="",endpoint="chat",status="404"\} [1-9]/);
});

test('request ids are honoured or generated', async () => {
  const mine = await fetch(`${server.baseURL}/v1/models`, { headers: { 'X-Request-Id': 'it-123' } });
  assert.equal(mine.headers.get('x-request-id'), 'it-123');
  const made = await fetch(`${server.baseURL}/v1/models`);
  assert.match(made.headers.get('x-request-id'), /^req_[0-9a-f]{24}$/);
});

test('a client that disconnects mid-stream frees its slot', async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    // ignore_eos (an extension the server accepts) keeps the random model from stopping early.
    { model, messages, max_tokens: 400, temperature: 1, stream: true, ignore_eos: true }, { signal: controller.signal });
  let n = 0;
  try {
    // The client library ends the iteration quietly (or throws an abort error) once aborted.
    for await (const _ of stream) if (++n === 3) controller.abort();
  } catch (e) {
    assert.match(String(e?.name ?? e), /Abort/);
  }
  // Chunks already parsed when abort() lands may still be delivered; the stream must end long
  // before its 400 tokens.
  assert.ok(n >= 3 && n < 100, `${n} chunks`);
  let running = 1;
  for (let i = 0; i < 100 && running !== 0; ++i) {
    await new Promise((r) => setTimeout(r, 50));
    running = await metric(server.baseURL, 'parley_running_requests', `model="${model}"`);
  }
  assert.equal(running, 0);
  assert.equal(await metric(server.baseURL, 'parley_kv_cache_blocks', 'state="used"'), 0);
  assert.ok((await metric(server.baseURL, 'parley_requests_total', 'status="499"')) >= 1);
});

test('health, readiness and metrics', async () => {
  assert.equal((await fetch(`${server.baseURL}/health`)).status, 200);
  assert.equal((await fetch(`${server.baseURL}/ready`)).status, 200);
  const text = await (await fetch(`${server.baseURL}/metrics`)).text();
  for (const name of ['parley_requests_total', 'parley_time_to_first_token_seconds_bucket', 'parley_inter_token_latency_seconds_bucket',
    'parley_request_duration_seconds_bucket', 'parley_request_prompt_tokens_bucket', 'parley_request_generation_tokens_bucket',
    'parley_queue_depth', 'parley_running_requests', 'parley_kv_cache_usage_ratio', 'parley_prefix_cache_hit_rate',
    'parley_preemptions_total']) {
    assert.ok(text.includes(name), name);
  }
});

test('parley chat streams replies and keeps the conversation', async () => {
  // Two turns on stdin (not a terminal: no prompts or banner on stdout), greedy decoding.
  const out = await new Promise((resolve, reject) => {
    const child = execFile(parleyBin, ['chat', '--url', server.baseURL, '--temp', '0', '--max-tokens', '6'],
      { timeout: 60000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err}\n${stderr}`)) : resolve(stdout)));
    child.stdin.end('Hello there\n/help\nAnd again\n');
  });
  const lines = out.split('\n');
  // The first reply is exactly what the API gives for the same single-turn request.
  const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello there' }],
    temperature: 0, max_tokens: 6 });
  assert.ok(out.startsWith(r.choices[0].message.content + '\n'), JSON.stringify(out));
  assert.ok(lines.some((l) => l.startsWith('/reset')), 'help text');
  // The second request carried the whole conversation: its prompt is longer than the first's.
  const requests = server.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((e) => e && e.msg === 'request' && e.endpoint === 'chat' && e.stream === true);
  const [first, second] = requests.slice(-2);
  assert.ok(second.prompt_tokens > first.prompt_tokens + 6, `${first.prompt_tokens} -> ${second.prompt_tokens}`);
});
