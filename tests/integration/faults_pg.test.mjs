// PostgreSQL faults on a real `parley serve` (issue 18): the database stopped and restarted under
// load, and a slow database. The server talks to its own throw-away cluster
// (tests/store/pg_cluster.sh) through a small TCP proxy in this test, which can add latency.
// While PostgreSQL is down: writes get 503 + Retry-After, parley_store_up is 0, /ready is 503 and
// a warning names the cause; once it is back, all of it recovers without a restart and every
// acknowledged write is there. PARLEY_TEST_SKIP_PG=1 skips (developers without PostgreSQL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, metric } from './server.mjs';
import { json, logged, sendMessage, sleep, status, until } from './faults_lib.mjs';

const skip = process.env.PARLEY_TEST_SKIP_PG === '1' ? 'PARLEY_TEST_SKIP_PG=1' : false;
const script = join(process.cwd(), 'tests/store/pg_cluster.sh');

function pgBin() {
  const dirs = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  return dirs.find((d) => existsSync(join(d, 'pg_ctl'))) ?? '';
}

// The cluster's owner runs pg_ctl (PostgreSQL refuses root).
function pgCtl(state, action) {
  const root = readFileSync(join(state, 'root'), 'utf8').trim();
  const owner = readFileSync(join(state, 'owner'), 'utf8').trim();
  const bin = pgBin();
  const ctl = bin ? join(bin, 'pg_ctl') : 'pg_ctl';
  const args = action === 'stop'
    ? [ctl, 'stop', '-D', `${root}/data`, '-m', 'fast', '-w', '-t', '60']
    : [ctl, 'start', '-D', `${root}/data`, '-l', `${root}/log`, '-w', '-t', '60'];
  const cmd = process.getuid() === 0 ? ['runuser', '-u', owner, '--', ...args] : args;
  execFileSync(cmd[0], cmd.slice(1), { stdio: 'pipe' });
}

// A TCP proxy to the cluster's unix socket; `delayMs` holds every chunk, both ways, in order.
function startProxy(socketPath) {
  const proxy = { delayMs: 0, sockets: new Set() };
  const forward = (from, to) => from.on('data', (chunk) => {
    if (proxy.delayMs === 0) to.write(chunk);
    else setTimeout(() => to.destroyed || to.write(chunk), proxy.delayMs);
  });
  proxy.server = createServer((client) => {
    const upstream = connect(socketPath);
    for (const s of [client, upstream]) {
      proxy.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        proxy.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  return new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', () => {
    proxy.port = proxy.server.address().port;
    resolve(proxy);
  }));
}

let state;
let proxy;
let server;

before(async () => {
  if (skip) return;
  state = join(mkdtempSync(join(tmpdir(), 'parley-faults-pg-')), 'pg');
  execFileSync(script, ['start', state], { stdio: 'pipe' });
  const root = readFileSync(join(state, 'root'), 'utf8').trim();
  proxy = await startProxy(join(root, 'sock', '.s.PGSQL.5432'));
  server = await startServer(['--database', `postgresql://parley@127.0.0.1:${proxy.port}/postgres`]);
});

after(async () => {
  await server?.stop();
  proxy?.server.close();
  for (const s of proxy?.sockets ?? []) s.destroy();
  if (state) {
    try {
      execFileSync(script, ['stop', state], { stdio: 'pipe' });
    } finally {
      rmSync(join(state, '..'), { recursive: true, force: true });
    }
  }
});

async function titlesInStore() {
  const url = readFileSync(join(state, 'url'), 'utf8').trim();
  return new Set(execFileSync('psql', [url, '-Atc', 'SELECT title FROM conversations'], { encoding: 'utf8' })
    .split('\n').filter(Boolean));
}

test('PostgreSQL stopped and restarted under load: 503 + Retry-After, store_up 0, /ready 503; back: nothing lost',
  { skip }, async () => {
    const { baseURL } = server;
    assert.equal(await metric(baseURL, 'parley_store_up'), 1);
    const acked = [];
    const answers = {};
    let stop = false;
    let refusal = null;
    const load = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; ++i) {
        const title = `load ${w}.${i}`;
        let r;
        try {
          r = await status(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: JSON.stringify({ title }) });
        } catch (e) {
          answers[`error ${e.message}`] = (answers[`error ${e.message}`] ?? 0) + 1;
          continue;
        }
        answers[r.status] = (answers[r.status] ?? 0) + 1;
        if (r.status === 201) acked.push(title);
        else refusal ??= r;
        await sleep(r.status === 201 ? 10 : 50);
      }
    });
    await until(() => acked.length >= 20, 'writes acknowledged before the fault');

    pgCtl(state, 'stop');
    await until(() => refusal, 'a refused write');
    assert.equal(refusal.status, 503, refusal.text);
    assert.equal(refusal.retryAfter, '1');
    assert.equal(refusal.body.error.type, 'server_error');
    await until(async () => (await metric(baseURL, 'parley_store_up')) === 0, 'parley_store_up 0');
    await until(async () => (await fetch(`${baseURL}/ready`)).status === 503, '/ready 503');
    await logged(server, /"level":"warn","msg":"the store does not answer: .*PostgreSQL/);
    // Without the store nothing authenticates, but the probes and /metrics still answer.
    assert.equal((await fetch(`${baseURL}/health`)).status, 200);

    pgCtl(state, 'start');
    await until(async () => (await metric(baseURL, 'parley_store_up')) === 1, 'parley_store_up 1');
    await until(async () => (await fetch(`${baseURL}/ready`)).status === 200, '/ready 200');
    const before = acked.length;
    await until(() => acked.length >= before + 20, 'writes acknowledged after the restart');
    stop = true;
    await Promise.all(load);
    await logged(server, /the store answers again/);
    const statuses = Object.keys(answers);
    assert.ok(statuses.every((s) => s === '201' || s === '503'), JSON.stringify(answers));

    const stored = await titlesInStore();
    for (const t of acked) assert.ok(stored.has(t), `acknowledged conversation '${t}' is missing`);
  });

test('a slow database: requests wait for it and succeed, probes stay fast, nothing is refused', { skip }, async () => {
  const { baseURL } = server;
  const conv = await status(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: '{"title":"slow"}' });
  assert.equal(conv.status, 201);
  proxy.delayMs = 150;  // each way, every packet: a few hundred ms per query
  try {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
      status(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: JSON.stringify({ title: `slow ${i}` }) })));
    for (const r of results) assert.equal(r.status, 201, r.text);
    const sent = await sendMessage(baseURL, conv.body.id, 'Hello over a slow line.');
    assert.equal(sent.status, 200);
    assert.ok(sent.done?.message?.id, JSON.stringify(sent.events?.at(-1)));
    // The health check runs on the request pool, never on the thread that answers probes.
    assert.equal((await fetch(`${baseURL}/health`)).status, 200);
    assert.equal(await metric(baseURL, 'parley_store_up'), 1);
    const stored = await titlesInStore();
    for (let i = 0; i < 6; ++i) assert.ok(stored.has(`slow ${i}`));
  } finally {
    proxy.delayMs = 0;
  }
});
