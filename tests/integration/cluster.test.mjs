// The cluster proof (issue 15): 2 gateways (affinity and round_robin), 3 workers, PostgreSQL and
// Redis as real processes, each host in its own network namespace where the machine allows it
// (else on distinct loopback addresses; the output says which). It checks that requests spread
// over the workers by the policy; that a multi-turn workload hits the workers' prefix caches far
// more with affinity than with round_robin (token counts, not timings); that a drained worker's
// streams complete while it takes no new request and is not ejected; that kill -9 of a worker
// under load loses no acknowledged message and every client gets a reply or a clear error; that
// rate limits hold across both gateways, also through a Redis outage; and that a gateway killed
// and restarted loses nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parleyBin } from './server.mjs';
import { makeHosts, redisServer, samples, startGateway, startPostgres, startWorker } from './cluster.mjs';

const run = promisify(execFile);
const token = 'integration-cluster-token-0123456789';
const password = 'integration-test-pw-123';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const c = { workers: [], gateways: {}, keys: {} };

function admin(args, input) {
  return execFileSync(parleyBin, ['admin', ...args, '--database', c.pg.url, '--config', c.config],
    { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();
}

function gatewayOptions(policy) {
  return { workers: c.workers.map((w) => w.url), tokenFile: c.tokenFile, policy, database: c.pg.url,
    redis: c.redis.url, config: c.config, dataDir: c.dir };
}

before(async () => {
  c.net = await makeHosts(['w1', 'w2', 'w3', 'gwa', 'gwb', 'redis']);
  console.log(`# cluster hosts: ${c.net.mode}`);
  c.dir = mkdtempSync(join(tmpdir(), 'parley-it-cluster-'));
  c.tokenFile = join(c.dir, 'cluster.token');
  writeFileSync(c.tokenFile, token + '\n');
  c.model = join(c.dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '2',
    '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '2048', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', c.model], { stdio: 'pipe' });
  // A slower one (a few ms a token) for the streams that must still run when a worker is drained or killed.
  c.slow = join(c.dir, 'slow.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '4',
    '--embd', '512', '--heads', '8', '--kv-heads', '4', '--ff', '1536', '--ctx', '2048', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '5', '--out', c.slow], { stdio: 'pipe' });
  c.config = join(c.dir, 'parley.toml');
  // Users not named here are unlimited; the csrf key is shared by the gateways (one site).
  writeFileSync(c.config, `
[auth]
password_memory_mib = 8
password_passes = 1
csrf_key = "${'5a'.repeat(32)}"
${['rl1', 'rl2', 'rl3'].map((u) => `[limits.users."${u}@example.com"]\nrequests_per_minute = 3\n`).join('\n')}
[limits.users."outage@example.com"]
requests_per_minute = 100000
`);
  c.pg = startPostgres();
  c.redis = redisServer(c.net.hosts.redis);
  await c.redis.start();
  for (const u of ['alice', 'bob', 'rr', 'aff', 'rl1', 'rl2', 'rl3', 'outage']) {
    admin(['create-user', '--email', `${u}@example.com`, '--password-stdin'], `${password}\n`);
    c.keys[u] = admin(['create-key', '--email', `${u}@example.com`]);
  }
  c.workers = ['w1', 'w2', 'w3'].map((h) => startWorker(c.net.hosts[h], { models: [c.model, c.slow], tokenFile: c.tokenFile }));
  await Promise.all(c.workers.map((w) => w.ready));
  c.gateways.a = await startGateway(c.net.hosts.gwa, gatewayOptions('affinity'));
  c.gateways.b = await startGateway(c.net.hosts.gwb, gatewayOptions('round_robin'));
});

after(async () => {
  for (const p of [...Object.values(c.gateways), ...c.workers]) await p?.kill('SIGKILL');
  await c.redis?.stop();
  c.redis?.cleanup();
  c.pg?.stop();
  c.net?.cleanup();
  if (c.dir) rmSync(c.dir, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------------------------

const auth = { Authorization: `Bearer ${token}` };
async function workerStats(w, model = 'tiny') {
  const s = await (await fetch(`${w.url}/internal/v1/stats`, { headers: auth })).json();
  return s.models[model];
}
// Requests a worker finished, over its models.
async function finished(w) {
  return (await workerStats(w, 'tiny')).requests_finished + (await workerStats(w, 'slow')).requests_finished;
}
async function cacheTotals() {
  let prompt = 0;
  let hit = 0;
  for (const w of c.workers) {
    if (!w.alive()) continue;
    const s = await workerStats(w);
    prompt += s.prompt_tokens;
    hit += s.prefix_hit_tokens;
  }
  return { prompt, hit };
}

async function chat(gateway, key, body) {
  const r = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, ...body }),
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

// Reads a streamed response; calls onChunk(text so far) as data arrives.
async function readStream(response, onChunk = () => {}) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    onChunk(text);
  }
  return text;
}

function sseEvents(text) {
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    return { event, data: data && data !== '[DONE]' ? JSON.parse(data) : data };
  });
}

async function login(gateway, email) {
  const r = await fetch(`${gateway.baseURL}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  assert.equal(r.status, 200);
  return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: (await r.json()).csrf_token };
}
function api(gateway, session, method, path, body) {
  return fetch(`${gateway.baseURL}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', cookie: session.cookie, 'X-CSRF-Token': session.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function metricOf(gateway, name, worker) {
  const s = await samples(gateway.baseURL, name);
  return s.filter((x) => !worker || x.labels.worker === worker).reduce((sum, x) => sum + x.value, 0);
}

async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function bench(gateway, key) {
  const { stdout } = await run(parleyBin, ['bench', 'http', '--url', gateway.baseURL, '--api-key', key, '--json',
    // One at a time: each policy's placements, and so the counts, are the same in every run.
    '-c', '1', '-N', '6', '-T', '4', '--max-tokens', '8', '--ignore-eos', '--temperature', '0',
    '--user-turn-words', '12', '--system-prompt-tokens', '0', '--seed', '7', '--model', 'tiny'], { timeout: 120000 });
  return JSON.parse(stdout);
}

// ---- the tests ----------------------------------------------------------------------------------

test('round_robin spreads requests over the workers; affinity hits their prefix caches far more', async () => {
  const rr0 = await cacheTotals();
  const rr = await bench(c.gateways.b, c.keys.rr);
  const rr1 = await cacheTotals();
  assert.deepEqual(rr.errors, {});
  assert.equal(rr.requests.ok, 24);
  const spread = (await samples(c.gateways.b.baseURL, 'parley_router_requests_total'))
    .filter((s) => s.labels.policy === 'round_robin' && s.labels.outcome === 'ok');
  const perWorker = c.workers.map((w) => spread.find((s) => s.labels.worker === w.url)?.value ?? 0);
  assert.deepEqual(perWorker, [8, 8, 8]);  // each in turn

  const af = await bench(c.gateways.a, c.keys.aff);  // another account: another cache scope
  const af1 = await cacheTotals();
  assert.deepEqual(af.errors, {});
  assert.equal(af.requests.ok, 24);
  const share = (a, b) => (b.hit - a.hit) / (b.prompt - a.prompt);
  const rrShare = share(rr0, rr1);
  const afShare = share(rr1, af1);
  console.log(`# prefix-cache hit share of prompt tokens: round_robin ${(100 * rrShare).toFixed(1)}% ` +
    `(${rr1.hit - rr0.hit}/${rr1.prompt - rr0.prompt}), affinity ${(100 * afShare).toFixed(1)}% ` +
    `(${af1.hit - rr1.hit}/${af1.prompt - rr1.prompt}); per worker (round_robin): ${perWorker}`);
  assert.equal(af1.prompt - rr1.prompt, rr1.prompt - rr0.prompt);  // the same prompts
  // round_robin puts a conversation's turns 1..4 on workers i, i+1, i+2, i: only turn 4 finds an
  // earlier turn (and every request the chat template's first block); affinity finds turn n-1 each time.
  assert.ok(afShare >= 3 * rrShare && afShare > 0.3, `affinity ${afShare} vs round_robin ${rrShare}`);
});

// Each worker reports the prefix blocks of the requests it took; a gateway's affinity index learns
// them, so a conversation begun through one gateway continues on the same worker through another.
test('affinity on one gateway follows conversations that another gateway placed', async () => {
  const done = async (w) => (await workerStats(w)).requests_finished;
  // The worker that took the request since `since`: a worker counts a request finished just after
  // its reply has gone out, so the count is polled for (a bound against a hang only).
  const taker = async (since) => {
    for (let t = 0; t < 200; ++t) {
      const now = await Promise.all(c.workers.map(done));
      const k = now.findIndex((n, j) => n > since[j]);
      if (k >= 0) return { k, now };
      await sleep(50);
    }
    return { k: -1, now: since };
  };
  for (let i = 0; i < 3; ++i) {
    const first = [{ role: 'user', content: `Conversation ${i} begins here with a long first message that fills a few cache blocks of sixteen tokens each.` }];
    const before = await Promise.all(c.workers.map(done));
    const r1 = await chat(c.gateways.b, c.keys.rr, { messages: first, max_tokens: 4, temperature: 0 });
    assert.equal(r1.status, 200, r1.text);
    const { k: placed, now: mid } = await taker(before);
    assert.ok(placed >= 0, `conversation ${i}: no worker counted its first turn`);
    // Both gateways poll every worker once a second: a few polls later A has seen the placement.
    await sleep(3000);
    const reply = JSON.parse(r1.text).choices[0].message.content;
    const r2 = await chat(c.gateways.a, c.keys.rr, { messages: [...first, { role: 'assistant', content: reply },
      { role: 'user', content: 'And then?' }], max_tokens: 4, temperature: 0 });
    assert.equal(r2.status, 200, r2.text);
    assert.equal((await taker(mid)).k, placed, `conversation ${i}`);
  }
});

test('a drained worker (drain call, SIGTERM) finishes its streams, takes no new ones, and is not ejected', async () => {
  const [w1, w2, w3] = c.workers;
  const body = JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 1500,
    ignore_eos: true, stream: true });
  // Three at once through round_robin: one stream on each worker.
  const responses = await Promise.all([0, 1, 2].map(() => fetch(`${c.gateways.b.baseURL}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${c.keys.rr}` }, body,
  })));
  let started = 0;
  let drained;
  const startedAll = new Promise((resolve) => { drained = resolve; });
  const texts = Promise.all(responses.map((r) => {
    assert.equal(r.status, 200);
    let seen = false;
    return readStream(r, (text) => {
      if (!seen && /"content":"[^"]/.test(text)) {
        seen = true;
        if (++started === 3) drained();
      }
    });
  }));
  await startedAll;
  const before = await finished(w1);
  const before3 = await finished(w3);
  const d = await (await fetch(`${w1.url}/internal/v1/drain`, { method: 'POST', headers: auth })).json();
  w2.proc.kill('SIGTERM');
  assert.equal(d.draining, true);
  assert.ok(d.active >= 1, JSON.stringify(d));  // its stream was running
  // New requests right away, through both gateways: served by the worker that is not draining.
  for (let i = 0; i < 6; ++i) {
    const r = await chat(i % 2 ? c.gateways.a : c.gateways.b, c.keys.rr, { max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
  }
  for (const text of await texts) {
    const events = sseEvents(text);
    assert.ok(!text.includes('"error"'), text.slice(-400));
    assert.equal(events.filter((e) => e.data?.choices?.[0]?.finish_reason).at(-1).data.choices[0].finish_reason, 'length');
  }
  assert.equal(await w2.exited, 0);
  assert.match(w2.logs.join('\n'), /draining 1 stream/);
  // A worker counts a request finished just after its reply has gone out: wait for the counts.
  const counted = async (w, from, n) => {
    for (let t = 0; t < 200 && await finished(w) - from < n; ++t) await sleep(50);
    return await finished(w) - from;
  };
  assert.equal(await counted(w1, before, 1), 1);  // only its stream
  assert.ok(await counted(w3, before3, 6) >= 6);
  let refusals = 0;  // 503 worker_draining answers the gateways met before their next probe
  for (const g of Object.values(c.gateways)) {
    assert.equal(await metricOf(g, 'parley_router_ejections_total', w1.url), 0);
    refusals += (await samples(g.baseURL, 'parley_router_requests_total'))
      .filter((x) => x.labels.outcome === 'draining').reduce((sum, x) => sum + x.value, 0);
  }
  console.log(`# drain: ${refusals} request(s) refused as draining before a probe saw it, retried elsewhere`);
  // Both back (the drained one restarted), as a rolling update would do.
  await w1.kill('SIGTERM');
  c.workers[0] = startWorker(c.net.hosts.w1, { models: [c.model, c.slow], tokenFile: c.tokenFile });
  c.workers[1] = startWorker(c.net.hosts.w2, { models: [c.model, c.slow], tokenFile: c.tokenFile });
  await Promise.all(c.workers.map((w) => w.ready));
  for (const g of Object.values(c.gateways)) {
    await until('the restarted workers in service', async () =>
      (await metricOf(g, 'parley_router_worker_up')) === 3);
  }
});

test('kill -9 of a worker under load: no acknowledged message lost, every client a reply or a clear error', async () => {
  const victim = c.workers[1];
  const sessions = { a: await login(c.gateways.a, 'alice@example.com'), b: await login(c.gateways.b, 'bob@example.com') };
  const sends = [];
  let withDelta = 0;
  let allStarted;
  const started = new Promise((resolve) => { allStarted = resolve; });
  for (const side of ['a', 'b', 'a', 'b', 'a', 'b']) {
    const g = c.gateways[side];
    const conv = await (await api(g, sessions[side], 'POST', '/api/conversations', {})).json();
    const content = `message ${sends.length} through gateway ${side}`;
    sends.push(api(g, sessions[side], 'POST', `/api/conversations/${conv.id}/messages`,
      { content, model: 'slow', max_tokens: 1500, ignore_eos: true }).then(async (r) => {
      assert.equal(r.status, 200);
      let counted = false;
      const text = await readStream(r, (t) => {
        if (!counted && t.includes('event: delta')) {
          counted = true;
          if (++withDelta === 6) allStarted();
        }
      });
      return { side, conv: conv.id, content, events: sseEvents(text) };
    }));
  }
  await Promise.race([started, sleep(20000)]);
  await victim.kill('SIGKILL');
  const results = await Promise.all(sends);
  let errors = 0;
  for (const r of results) {
    const last = r.events.at(-1);
    assert.ok(['done', 'error'].includes(last.event), JSON.stringify(r.events.slice(-2)));
    if (last.event === 'error') {
      ++errors;
      assert.match(JSON.stringify(last.data), /incomplete|went away|unavailable|interrupted/i);
    }
    const ack = r.events.find((e) => e.event === 'message');
    assert.ok(ack, 'the user message was acknowledged');
    // Read back through the other gateway: PostgreSQL has it.
    const other = r.side === 'a' ? 'b' : 'a';
    const s = await login(c.gateways[other], r.side === 'a' ? 'alice@example.com' : 'bob@example.com');
    const tree = await (await api(c.gateways[other], s, 'GET', `/api/conversations/${r.conv}`)).json();
    const user = tree.messages.find((m) => m.id === ack.data.message.id);
    assert.equal(user?.content, r.content);
    if (last.event === 'done') {
      assert.equal(tree.messages.find((m) => m.id === last.data.message.id)?.role, 'assistant');
    }
  }
  console.log(`# kill -9 under load: ${results.length - errors} replies completed, ${errors} ended with an error event`);
  assert.ok(errors >= 1, 'the killed worker had streams running');
  for (const g of Object.values(c.gateways)) {
    await until('the killed worker ejected', async () =>
      (await metricOf(g, 'parley_router_ejections_total', victim.url)) >= 1 &&
      (await metricOf(g, 'parley_router_worker_up', victim.url)) === 0);
  }
  for (let i = 0; i < 6; ++i) {
    const r = await chat(i % 2 ? c.gateways.a : c.gateways.b, c.keys.rr, { max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
  }
});

// `n` requests alternating between the gateways: how many were admitted (200) and refused (429).
async function burst(key, n, gateways = [c.gateways.a, c.gateways.b]) {
  const counts = { ok: 0, limited: 0, other: 0 };
  const t0 = Date.now();
  for (let i = 0; i < n; ++i) {
    const r = await chat(gateways[i % gateways.length], key, {});
    if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    ++counts[r.status === 200 ? 'ok' : r.status === 429 ? 'limited' : 'other'];
  }
  counts.refills = Math.floor((Date.now() - t0) / 20000);  // 3 a minute: one more every 20 s
  return counts;
}

test('rate limits hold across both gateways (Redis), also after a Redis outage', async () => {
  const shared = await burst(c.keys.rl1, 8);
  assert.equal(shared.other, 0);
  const redisLog = (g) => g.logs.filter((l) => /redis|rate limit/i.test(l)).join('\n');
  assert.ok(shared.ok >= 3 && shared.ok <= 3 + shared.refills,
    `${JSON.stringify(shared)}\n${redisLog(c.gateways.a)}\n${redisLog(c.gateways.b)}`);
  for (const g of Object.values(c.gateways)) assert.equal(await metricOf(g, 'parley_redis_up'), 1);

  await c.redis.stop();
  for (const g of Object.values(c.gateways)) {
    await until('parley_redis_up 0', async () => {
      assert.equal((await chat(g, c.keys.outage, {})).status, 200);  // served on the local limiter
      return (await metricOf(g, 'parley_redis_up')) === 0;
    });
    assert.ok((await metricOf(g, 'parley_ratelimit_fallback_decisions_total')) > 0);
  }
  // Meanwhile each gateway enforces the limit alone.
  for (const g of Object.values(c.gateways)) {
    const alone = await burst(c.keys.rl2, 5, [g]);
    assert.ok(alone.ok >= 3 && alone.ok <= 3 + alone.refills && alone.other === 0, JSON.stringify(alone));
  }

  await c.redis.start();  // empty: no persistence
  for (const g of Object.values(c.gateways)) {
    await until('parley_redis_up 1', async () => {
      assert.equal((await chat(g, c.keys.outage, {})).status, 200);
      return (await metricOf(g, 'parley_redis_up')) === 1;
    });
  }
  const again = await burst(c.keys.rl3, 8);
  assert.ok(again.ok >= 3 && again.ok <= 3 + again.refills && again.other === 0, JSON.stringify(again));
});

test('a gateway killed with -9 and restarted loses nothing: sessions and conversations are in PostgreSQL', async () => {
  const s = await login(c.gateways.a, 'alice@example.com');
  const conv = await (await api(c.gateways.a, s, 'POST', '/api/conversations', { title: 'across a crash' })).json();
  const first = sseEvents(await (await api(c.gateways.a, s, 'POST', `/api/conversations/${conv.id}/messages`,
    { content: 'Remember me', max_tokens: 4 })).text());
  assert.equal(first.at(-1).event, 'done');
  await c.gateways.a.kill('SIGKILL');
  c.gateways.a = await startGateway(c.net.hosts.gwa, gatewayOptions('affinity'));
  // The same session cookie on the restarted gateway, and on the other one.
  const list = await (await api(c.gateways.a, s, 'GET', '/api/conversations')).json();
  assert.ok(list.data.some((x) => x.id === conv.id && x.title === 'across a crash'));
  const second = sseEvents(await (await api(c.gateways.b, s, 'POST', `/api/conversations/${conv.id}/messages`,
    { content: 'Still there?', max_tokens: 4, parent_id: first.at(-1).data.message.id })).text());
  assert.equal(second.at(-1).event, 'done');
  const tree = await (await api(c.gateways.a, s, 'GET', `/api/conversations/${conv.id}`)).json();
  assert.deepEqual(tree.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(tree.messages[0].content, 'Remember me');
  assert.equal(tree.current_leaf_id, second.at(-1).data.message.id);
});
