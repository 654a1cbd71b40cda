// `parley worker` as a real process, and `parley serve --worker URL` in front of it (a router over
// one worker): the same greedy answers as `parley serve` with the model in process, the cluster
// token on the internal API, a worker that will not listen publicly without one, and SIGTERM
// draining: the running stream finishes, new requests are refused; `parley gateway` started
// before its worker: /health at once, /ready 503 and requests 503 with Retry-After until the
// worker is ready, then served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parleyBin, startServer, synthModel } from './server.mjs';

const token = 'integration-cluster-token-0123456789';
let dir;
let tokenFile;
let modelPath;
let worker;
let gateway;
let local;

// Starts `parley worker`; resolves with its port once it listens.
function startWorker(args, env = process.env) {
  const proc = spawn(parleyBin, ['--log-format', 'json', 'worker', '--port', '0', '-t', '2', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs = [];
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = new Promise((resolve, reject) => {
    let buffered = '';
    proc.stderr.on('data', (chunk) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        try {
          const event = JSON.parse(line);
          if (event.msg?.startsWith('worker listening on') && event.port) resolve(event.port);
        } catch { /* not JSON */ }
      }
    });
    exited.then((code) => reject(new Error(`worker exited with ${code}:\n${logs.join('\n')}`)));
  });
  return { proc, logs, exited, port };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parley-it-worker-'));
  tokenFile = join(dir, 'cluster.token');
  writeFileSync(tokenFile, token + '\n');
  modelPath = synthModel(dir);
  worker = startWorker(['--model', modelPath, '--cluster-token-file', tokenFile]);
  worker.url = `http://127.0.0.1:${await worker.port}`;
  gateway = await startServer(['--worker', worker.url, '--cluster-token-file', tokenFile], { demo: true });
  local = await startServer([], { synth: () => modelPath });
});

after(async () => {
  await gateway?.stop();
  await local?.stop();
  if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) {
    worker.proc.kill('SIGKILL');
    await worker.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function post(baseURL, path, body) {
  const r = await fetch(baseURL + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, text: await r.text() };
}

// The text of a streamed chat reply and its finish reason.
function streamed(text) {
  let content = '';
  let finish = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6));
    for (const c of chunk.choices ?? []) {
      content += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  return { content, finish };
}

test('the gateway serves the worker\'s model, with the same greedy answers as a local one', async () => {
  const models = await (await fetch(`${gateway.baseURL}/v1/models`)).json();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
  const chat = { model: 'tiny', messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: 40 };
  const a = await post(gateway.baseURL, '/v1/chat/completions', chat);
  const b = await post(local.baseURL, '/v1/chat/completions', chat);
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  assert.deepEqual(JSON.parse(a.text).choices, JSON.parse(b.text).choices);
  const s = await post(gateway.baseURL, '/v1/chat/completions', { ...chat, stream: true });
  assert.equal(s.status, 200);
  assert.equal(streamed(s.text).content, JSON.parse(b.text).choices[0].message.content);
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
  const rf = { ...chat, max_tokens: 100, response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } };
  const c = await post(gateway.baseURL, '/v1/chat/completions', rf);
  const d = await post(local.baseURL, '/v1/chat/completions', rf);
  assert.equal(c.status, 200, c.text);
  assert.deepEqual(JSON.parse(c.text).choices, JSON.parse(d.text).choices);
  const completion = { model: 'tiny', prompt: 'Once upon a time', temperature: 0, max_tokens: 30 };
  const e = await post(gateway.baseURL, '/v1/completions', completion);
  const f = await post(local.baseURL, '/v1/completions', completion);
  assert.deepEqual(JSON.parse(e.text).choices, JSON.parse(f.text).choices);
});

test('the internal API needs the cluster token', async () => {
  for (const [method, path] of [['GET', '/internal/v1/models'], ['GET', '/internal/v1/stats'],
    ['POST', '/internal/v1/generate'], ['POST', '/internal/v1/drain'], ['GET', '/metrics']]) {
    const r = await fetch(worker.url + path, { method, body: method === 'POST' ? '{}' : undefined });
    assert.equal(r.status, 401, `${method} ${path}`);
  }
  const ok = await fetch(`${worker.url}/internal/v1/stats`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.equal((await fetch(`${worker.url}/health`)).status, 200);
  // The probes need no token (Kubernetes' kubelet cannot send one).
  assert.equal((await fetch(`${worker.url}/ready`)).status, 200);
});

test('a worker refuses to listen beyond loopback without a token', async () => {
  const env = { ...process.env };
  delete env.PARLEY_CLUSTER_TOKEN;
  const w = startWorker(['--model', modelPath, '--host', '0.0.0.0'], env);
  w.port.catch(() => {});
  assert.equal(await w.exited, 1);
  assert.match(w.logs.join('\n'), /needs a cluster token/);
});

test('SIGTERM drains the worker: the running stream finishes, new requests are refused', async () => {
  const body = { model: 'tiny', messages: [{ role: 'user', content: 'Go on.' }], max_tokens: 400, ignore_eos: true, stream: true };
  const r = await fetch(`${gateway.baseURL}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 200);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let signalled = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (!signalled && /"content":"[^"]/.test(text)) {
      signalled = true;
      worker.proc.kill('SIGTERM');
    }
  }
  assert.ok(signalled);
  const { finish } = streamed(text);
  assert.equal(finish, 'length', text.slice(-500));
  assert.ok(!text.includes('"error"'), text.slice(-500));
  assert.equal(await worker.exited, 0);
  assert.match(worker.logs.join('\n'), /draining 1 stream/);  // it was still running
  const after = await post(gateway.baseURL, '/v1/chat/completions', { ...body, stream: false, max_tokens: 4 });
  assert.equal(after.status, 503, after.text);
});

// Resolves with the port once a JSON log line's msg starts with `marker`.
function portFrom(proc, marker, logs) {
  return new Promise((resolve, reject) => {
    let buffered = '';
    proc.stderr.on('data', (chunk) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        try {
          const event = JSON.parse(line);
          if (event.msg?.startsWith(marker) && event.port) resolve(event.port);
        } catch { /* not JSON */ }
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited with ${code}:\n${logs.join('\n')}`)));
  });
}

test('parley gateway starts before its worker: /health at once, /ready and requests 503 until the worker is ready', async () => {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const wport = probe.address().port;  // free now; the worker takes it later
  await new Promise((resolve) => probe.close(resolve));
  const gwDir = mkdtempSync(join(tmpdir(), 'parley-it-gateway-'));
  const gwLogs = [];
  const gw = spawn(parleyBin, ['--log-format', 'json', 'gateway', '--worker', `http://127.0.0.1:${wport}`, '--port', '0',
    '--data', gwDir, '--cluster-token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let late;
  try {
    const base = `http://127.0.0.1:${await portFrom(gw, 'waiting for a ready worker', gwLogs)}`;
    assert.equal((await fetch(base + '/health')).status, 200);
    assert.equal((await fetch(base + '/ready')).status, 503);
    const early = await fetch(base + '/v1/chat/completions', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
    });
    assert.equal(early.status, 503);
    assert.ok(early.headers.get('retry-after'));

    late = spawn(parleyBin, ['--log-format', 'json', 'worker', '--model', modelPath, '--port', String(wport), '-t', '1',
      '--cluster-token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    await portFrom(late, 'worker listening on', []);
    let ready = 0;
    for (let i = 0; i < 600 && ready !== 200; ++i) {  // the poller finds it within a second or so
      ready = (await fetch(base + '/ready')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, gwLogs.join('\n'));
    const r = await post(base, '/v1/chat/completions',
      { model: 'tiny', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
    assert.equal(r.status, 200, r.text);
  } finally {
    for (const p of [gw, late]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await new Promise((resolve) => p.once('exit', resolve));
      }
    }
    rmSync(gwDir, { recursive: true, force: true });
  }
});
