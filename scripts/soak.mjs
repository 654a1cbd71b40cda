#!/usr/bin/env node
// Soak and overload runs of `parley serve` (issue 18; docs/reliability.md).
//
//   scripts/soak.mjs [--mode soak|overload] [--minutes M] [--csv FILE] [--bin build/bin/parley]
//
// soak (make soak; SOAK_MINUTES, default 20): SQLite, a small synthetic model, authentication on,
// and mixed clients at once: streaming and not, some going away mid-stream, some never reading,
// the conversation API (create, reply, rename, list, tree) and /v1 together, log-ins and API key
// creation. /metrics and /proc are sampled every 10 s into a CSV (RSS, fds, threads, KV blocks
// used, running requests, store connections = the process's descriptors on parley.db, SQLite's
// memory, the heap in use and held free, the trims). At the end, with the clients stopped: no KV
// block used, no request running, no more threads or non-socket descriptors (beside the store's)
// than after the warm-up, store connections within the pool, SQLite's memory within its page
// caches' bound, and RSS, RSS outside SQLite and the heap in use outside SQLite within 10% of
// their values after the warm-up. Exit status 1 when a check fails.
//
// overload (make overload): max_running=4, max_waiting=4, a heavier synthetic model (8 layers, 512 wide); streaming clients with no think time,
// first as many as the engine runs at once (its capacity), then 3x that. Prints per phase the
// answers (200 / 429 / 503), how fast refusals come, admitted requests' TTFT and inter-token
// latency (p50, p99; the client's view and the server's histograms), and RSS. Figures only (no thresholds): the machine decides them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string', default: 'soak' },
    minutes: { type: 'string', default: process.env.SOAK_MINUTES || '' },
    csv: { type: 'string', default: '' },
    bin: { type: 'string', default: process.env.PARLEY_BIN || 'build/bin/parley' },
  },
});
process.env.PARLEY_BIN = opt.bin;
const { startServer, admin, metric } = await import('../tests/integration/server.mjs');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const password = 'integration-test-SECRET-pw';
const close = { Connection: 'close' };  // no keep-alive socket outlives a client's request
const json = { 'Content-Type': 'application/json', ...close };
const counts = {};
const count = (what, status) => {
  const k = `${what} ${status}`;
  counts[k] = (counts[k] ?? 0) + 1;
};
let stopping = false;

function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const ms = (x) => (Number.isNaN(x) ? '-' : `${x.toFixed(1)} ms`);

// Reads an SSE response; returns { ttft, gaps } in ms (first data event, and between events), or
// stops after `maxEvents` events (the client goes away).
async function readStream(response, t0, maxEvents = Infinity, controller = null) {
  const reader = response.body.getReader();
  let ttft = null;
  let last = null;
  const gaps = [];
  let events = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = Buffer.from(value).toString();
      const n = (text.match(/\n\n/g) || []).length;
      if (n === 0) continue;
      const t = now();
      if (ttft === null) {
        if (/"(content|text)":"[^"]/.test(text)) ttft = t - t0;
      } else {
        gaps.push(t - last);
      }
      last = t;
      events += n;
      if (events >= maxEvents) {
        controller?.abort();
        break;
      }
    }
  } catch { /* aborted */ }
  return { ttft, gaps };
}

async function post(baseURL, path, body, headers = {}, signal = undefined) {
  return fetch(`${baseURL}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body), signal });
}

// --- soak clients --------------------------------------------------------------------------------

function loop(name, fn, pauseMs) {
  return (async () => {
    while (!stopping) {
      try {
        await fn();
      } catch (e) {
        count(name, `error ${e.cause?.code ?? e.name}`);
      }
      await sleep(pauseMs);
    }
  })();
}

const chat = (content, extra = {}) => ({ model: 'tiny', messages: [{ role: 'user', content }], ...extra });

function clients(server, key) {
  const { baseURL } = server;
  const bearer = { Authorization: `Bearer ${key}` };
  return [
    loop('v1 stream', async () => {
      const t0 = now();
      const r = await post(baseURL, '/v1/chat/completions', chat('Tell a story.', { stream: true, max_tokens: 48 }), bearer);
      count('v1 stream', r.status);
      if (r.ok) await readStream(r, t0);
      else await r.text();
    }, 50),
    loop('v1 plain', async () => {
      const r = await post(baseURL, '/v1/completions', { model: 'tiny', prompt: 'Once upon', max_tokens: 24 }, bearer);
      count('v1 plain', r.status);
      await r.text();
    }, 100),
    loop('v1 gone mid-stream', async () => {
      const controller = new AbortController();
      const r = await post(baseURL, '/v1/chat/completions', chat('Go on.', { stream: true, max_tokens: 400, ignore_eos: true }),
        bearer, controller.signal);
      count('v1 gone mid-stream', r.status);
      if (r.ok) await readStream(r, now(), 5, controller);
      else await r.text();
    }, 500),
    loop('v1 never read', async () => {
      // A streamed reply nobody reads, dropped by the client after 20 s (or cut off by the server).
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.pause();
      const body = JSON.stringify(chat('Talk.', { stream: true, max_tokens: 2000, ignore_eos: true, logprobs: true,
        top_logprobs: 20 }));
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      for (let i = 0; i < 200 && !stopping && !socket.destroyed; ++i) await sleep(100);
      socket.destroy();
      count('v1 never read', 'dropped');
    }, 5000),
    loop('conversations', async () => {
      const session = await login(baseURL);
      if (!session) return;
      const h = { cookie: session.cookie, 'X-CSRF-Token': session.csrf };
      const c = await post(baseURL, '/api/conversations', {}, h);
      count('conversation create', c.status);
      if (c.status !== 201) return;
      const { id } = await c.json();
      for (let turn = 0; turn < 3 && !stopping; ++turn) {
        const t0 = now();
        const r = await post(baseURL, `/api/conversations/${id}/messages`, { content: `Turn ${turn}.`, max_tokens: 24 }, h);
        count('conversation reply', r.status);
        if (r.ok) await readStream(r, t0);
        else await r.text();
      }
      const rn = await fetch(`${baseURL}/api/conversations/${id}`, { method: 'PATCH', headers: { ...json, ...h },
        body: JSON.stringify({ title: `soak ${Date.now()}` }) });
      count('conversation rename', rn.status);
      await rn.text();
      for (const path of ['/api/conversations?limit=20', `/api/conversations/${id}`]) {
        const g = await fetch(`${baseURL}${path}`, { headers: { ...close, cookie: session.cookie } });
        count(`GET ${path.split('?')[0].replace(id, '{id}')}`, g.status);
        await g.text();
      }
    }, 200),
    loop('keys', async () => {
      const session = await login(baseURL);
      if (!session) return;
      const h = { cookie: session.cookie, 'X-CSRF-Token': session.csrf };
      const k = await post(baseURL, '/api/keys', { name: 'soak' }, h);
      count('key create', k.status);
      if (k.status !== 201) return;
      const made = await k.json();
      const m = await fetch(`${baseURL}/v1/models`, { headers: { ...close, Authorization: `Bearer ${made.secret}` } });
      count('models with the new key', m.status);
      await m.text();
      const d = await fetch(`${baseURL}/api/keys/${made.id}`, { method: 'DELETE', headers: { ...close, ...h } });
      count('key revoke', d.status);
      await d.text();
    }, 2000),
  ];
}

// The device cookie of the first log-in, sent with the later ones as a returning browser does (the
// per-address log-in limit spares known devices: docs/auth.md).
let device = '';

async function login(baseURL) {
  const r = await post(baseURL, '/api/auth/login', { email: 'soak@example.com', password },
    device ? { cookie: device } : {});
  count('login', r.status);
  if (r.status !== 200) {
    await r.text();
    return null;
  }
  const cookies = r.headers.getSetCookie().map((c) => c.split(';')[0]);
  const cookie = cookies.find((c) => !c.includes('_device=')) ?? cookies[0];
  device ||= cookies.find((c) => c.includes('_device=')) ?? '';
  const { csrf_token: csrf } = await r.json();
  return { cookie, csrf };
}

// --- sampling ------------------------------------------------------------------------------------

function fdsOf(pid) {
  let sockets = 0;
  let db = 0;
  let other = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;  // closed meanwhile
    }
    if (target.startsWith('socket:')) ++sockets;
    else if (/parley\.db$/.test(target)) ++db;
    else ++other;
  }
  return { sockets, db, other };
}

// One scrape of /metrics: the first series of `name` whose labels include `labels`.
function valueOf(text, name, labels = '') {
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{') && line.includes(labels)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return NaN;
}

// Resident memory by kind (/proc/<pid>/status): anonymous (heap, stacks, the KV pool as it is
// touched) and file-backed (the binary's and libraries' pages as code paths are first run, the
// model file's mapped pages).
function rssParts(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_anon_mib: kib('RssAnon') / 1024, rss_file_mib: kib('RssFile') / 1024 };
}

async function sample(server, t0) {
  const text = await (await fetch(`${server.baseURL}/metrics`, { headers: close })).text();
  const f = fdsOf(server.proc.pid);
  return {
    t_s: Math.round((now() - t0) / 1000),
    rss_mib: valueOf(text, 'process_resident_memory_bytes') / 2 ** 20,
    fds: valueOf(text, 'process_open_fds'),
    fds_socket: f.sockets,
    fds_other: f.other,
    threads: valueOf(text, 'process_threads'),
    kv_used: valueOf(text, 'parley_kv_cache_blocks', 'state="used"'),
    running: valueOf(text, 'parley_running_requests'),
    waiting: valueOf(text, 'parley_queue_depth'),
    store_connections: f.db,
    store_up: valueOf(text, 'parley_store_up'),
    sqlite_mib: valueOf(text, 'parley_sqlite_memory_bytes') / 2 ** 20,
    heap_in_use_mib: valueOf(text, 'parley_malloc_in_use_bytes') / 2 ** 20,
    heap_free_mib: valueOf(text, 'parley_malloc_free_bytes') / 2 ** 20,
    trims: valueOf(text, 'parley_malloc_trims_total'),
    trim_released_mib: valueOf(text, 'parley_malloc_trim_released_bytes_total') / 2 ** 20,
    trim_ms: valueOf(text, 'parley_malloc_trim_seconds_total') * 1000,
    ...rssParts(server.proc.pid),
  };
}

// --- runs ----------------------------------------------------------------------------------------

// The overload runs a model large enough that 4 sequences keep the engine busy.
function heavierModel(dir) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(opt.bin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '8',
    '--embd', '512', '--heads', '8', '--kv-heads', '4', '--ff', '1536', '--ctx', '1024', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}

async function start(configText, synth = undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-soak-'));
  const config = join(dir, 'soak.toml');
  writeFileSync(config, configText);
  let key;
  const server = await startServer(['--auth', 'required', '--config', config], {
    ...(synth ? { synth } : {}),
    setup(d) {
      admin(d, ['create-user', '--email', 'soak@example.com', '--role', 'admin', '--password-stdin'], `${password}\n`);
      key = admin(d, ['create-key', '--email', 'soak@example.com', '--name', 'soak']).trim();
    },
  });
  return { server, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// Cheap password hashing and log-in limits out of the way: the soak is about leaks, not limits.
const authConfig = `
[auth]
password_memory_mib = 8
password_passes = 1
login_per_minute_ip = 100000
login_per_minute_account = 100000
login_per_hour_account = 1000000
`;

async function soak(minutes) {
  // Users are not rate-limited here (the soak is about leaks, not limits): the soak user is admin.
  const { server, key, cleanup } = await start(`${authConfig}
[engine]
max_running = 8
max_waiting = 64
`);
  const csv = opt.csv || `soak-${Date.now()}.csv`;
  const rows = [];
  const t0 = now();
  const warmupS = Math.max(30, Math.min(120, minutes * 60 * 0.1));
  let warm = null;
  const outside = (r) => r.rss_mib - r.sqlite_mib;  // RSS less what SQLite's allocator holds
  const heapOutside = (r) => r.heap_in_use_mib - r.sqlite_mib;  // SQLite allocates from the same heap
  const running = clients(server, key);
  const write = () => {
    const cols = Object.keys(rows[0]);
    writeFileSync(csv, [cols.join(','), ...rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? +r[c].toFixed(2) : r[c])).join(','))].join('\n') + '\n');
  };
  while ((now() - t0) / 60000 < minutes) {
    await sleep(10000);
    const s = await sample(server, t0);
    rows.push(s);
    write();
    if (!warm && s.t_s >= warmupS) warm = { ...s, threads_max: Math.max(...rows.map((r) => r.threads)) };
    console.log(JSON.stringify(s));
  }
  stopping = true;
  await Promise.all(running);
  // Quiet: the server's idle keep-alive and cut-off connections close, requests end.
  for (let i = 0; i < 100; ++i) {
    const s = await sample(server, t0);
    if (s.running === 0 && s.kv_used === 0 && s.fds_socket <= 2) break;
    await sleep(200);
  }
  const end = await sample(server, t0);
  rows.push({ ...end });
  write();
  warm ??= rows[0];
  const checks = [
    ['no KV block used', end.kv_used === 0, `${end.kv_used}`],
    ['no request running', end.running === 0, `${end.running}`],
    // The store's descriptors are checked on their own below: its pool opens readers as it needs them.
    ['no more non-socket fds than after the warm-up, beside the store\'s', end.fds_other - end.store_connections <= warm.fds_other - warm.store_connections,
      `${end.fds_other - end.store_connections} vs ${warm.fds_other - warm.store_connections}`],
    ['no more threads than during the warm-up', end.threads <= warm.threads_max, `${end.threads} vs ${warm.threads_max}`],
    ['store connections within the pool (writer + 4 readers)', end.store_connections <= 5, `${end.store_connections}`],
    ['RSS within 10% of its value after the warm-up', Math.abs(end.rss_mib - warm.rss_mib) <= 0.1 * warm.rss_mib,
      `${end.rss_mib.toFixed(1)} MiB vs ${warm.rss_mib.toFixed(1)} MiB`],
    // SQLite's page caches fill as the database grows, up to cache_size (2 MiB) per connection:
    // bounded by design, so they are checked against that bound, and the rest against the warm-up
    // (a leak anywhere else shows there: in the heap in use at once, in RSS too).
    ['heap in use outside SQLite within 10% of its value after the warm-up',
      Math.abs(heapOutside(end) - heapOutside(warm)) <= 0.1 * heapOutside(warm),
      `${heapOutside(end).toFixed(2)} MiB vs ${heapOutside(warm).toFixed(2)} MiB`],
    ['RSS outside SQLite\'s allocator within 10% of its value after the warm-up',
      Math.abs(outside(end) - outside(warm)) <= 0.1 * outside(warm),
      `${outside(end).toFixed(1)} MiB vs ${outside(warm).toFixed(1)} MiB; RSS ${end.rss_mib.toFixed(1)} vs ${warm.rss_mib.toFixed(1)}`],
    ['SQLite\'s memory within its page caches\' bound (2 MiB per connection + 2 MiB)',
      end.sqlite_mib <= 2 * end.store_connections + 2, `${end.sqlite_mib.toFixed(1)} MiB, ${end.store_connections} connections`],
  ];
  const rss = rows.map((r) => r.rss_mib);
  console.log(`\nsoak: ${minutes} min, ${rows.length} samples in ${csv}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log(`RSS MiB: after warm-up ${warm.rss_mib.toFixed(1)}, min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}, end ${end.rss_mib.toFixed(1)}`);
  console.log(`heap MiB: in use after warm-up ${warm.heap_in_use_mib.toFixed(2)}, end ${end.heap_in_use_mib.toFixed(2)}; held free at the end ${end.heap_free_mib.toFixed(2)}; ${end.trims} trims gave back ${end.trim_released_mib.toFixed(1)} MiB in ${end.trim_ms.toFixed(1)} ms`);
  console.log(`threads max ${Math.max(...rows.map((r) => r.threads))}, fds max ${Math.max(...rows.map((r) => r.fds))}, KV blocks used max ${Math.max(...rows.map((r) => r.kv_used))}`);
  console.log('answers:', JSON.stringify(counts, null, 1));
  let failed = false;
  for (const [what, ok, detail] of checks) {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what} (${detail})`);
    failed ||= !ok;
  }
  await server.stop();
  cleanup();
  return failed ? 1 : 0;
}

// Closed-loop streaming clients for `seconds`; a refused one waits 50 ms and tries again.
async function phase(server, key, n, seconds) {
  const out = { ok: 0, refused: {}, refusalMs: [], ttft: [], itl: [] };
  const until = now() + seconds * 1000;
  const bearer = { Authorization: `Bearer ${key}` };
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    while (now() < until) {
      const t0 = now();
      const r = await post(server.baseURL, '/v1/chat/completions',
        chat(`Client ${i}.`, { stream: true, max_tokens: 64, ignore_eos: true }), bearer);
      if (r.status === 200) {
        const { ttft, gaps } = await readStream(r, t0);
        ++out.ok;
        if (ttft !== null) out.ttft.push(ttft);
        out.itl.push(...gaps);
      } else {
        out.refusalMs.push(now() - t0);
        out.refused[`${r.status} Retry-After ${r.headers.get('retry-after')}`] =
          (out.refused[`${r.status} Retry-After ${r.headers.get('retry-after')}`] ?? 0) + 1;
        await r.text();
        await sleep(50);
      }
    }
  }));
  return out;
}

// Cumulative bucket counts of a histogram (all label sets summed), by upper bound.
async function buckets(baseURL, name) {
  const text = await (await fetch(`${baseURL}/metrics`, { headers: close })).text();
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)[1];
    out.set(le, (out.get(le) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

// The smallest bucket bound holding quantile q of the observations between two scrapes.
function bucketQuantile(before, after, q) {
  const bounds = [...after.keys()].sort((a, b) => (a === '+Inf') - (b === '+Inf') || Number(a) - Number(b));
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total === 0) return '-';
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le === '+Inf' ? '> max bucket' : `<= ${Number(le) * 1000} ms`;
  }
  return '-';
}

async function overload(minutes) {
  const maxRunning = 4;
  const { server, key, cleanup } = await start(`${authConfig}
[engine]
max_running = ${maxRunning}
max_waiting = ${maxRunning}
`, heavierModel);
  const seconds = Math.max(20, (minutes * 60) / 2);
  const rss = [];
  const sampler = setInterval(async () => rss.push((await metric(server.baseURL, 'process_resident_memory_bytes')) / 2 ** 20), 2000);
  console.log(`overload: max_running ${maxRunning}, max_waiting ${maxRunning}, ${seconds} s per phase`);
  for (const [name, n] of [['at capacity', maxRunning], ['3x over capacity', 3 * maxRunning]]) {
    rss.length = 0;
    const ttft0 = await buckets(server.baseURL, 'parley_time_to_first_token_seconds');
    const itl0 = await buckets(server.baseURL, 'parley_inter_token_latency_seconds');
    const r = await phase(server, key, n, seconds);
    const ttft1 = await buckets(server.baseURL, 'parley_time_to_first_token_seconds');
    const itl1 = await buckets(server.baseURL, 'parley_inter_token_latency_seconds');
    console.log(`\n${name}: ${n} streaming clients, no think time`);
    console.log(`  admitted ${r.ok} (${(r.ok / seconds).toFixed(2)}/s); refused ${JSON.stringify(r.refused)}`);
    console.log(`  refusal latency p50 ${ms(quantile(r.refusalMs, 0.5))}, p99 ${ms(quantile(r.refusalMs, 0.99))}`);
    console.log(`  admitted TTFT (client, first content event) p50 ${ms(quantile(r.ttft, 0.5))}, p99 ${ms(quantile(r.ttft, 0.99))}`);
    console.log(`  admitted TTFT (server histogram) p50 ${bucketQuantile(ttft0, ttft1, 0.5)}, p99 ${bucketQuantile(ttft0, ttft1, 0.99)}`);
    console.log(`  inter-token (server histogram) p50 ${bucketQuantile(itl0, itl1, 0.5)}, p99 ${bucketQuantile(itl0, itl1, 0.99)}`);
    console.log(`  RSS MiB min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}`);
  }
  clearInterval(sampler);
  console.log(`\nload average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await server.stop();
  cleanup();
  return 0;
}

const minutes = Number(opt.minutes || (opt.mode === 'overload' ? 1 : 20));
process.exitCode = opt.mode === 'overload' ? await overload(minutes) : await soak(minutes);
