// Debian's real Prometheus scrapes a running `parley serve` and stores its metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.mjs';

let server;
let prometheus;
let dir;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'parley-prom-'));
  const promPort = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    '  - job_name: parley',
    `    static_configs: [{targets: ['127.0.0.1:${server.port}']}]`,
    '',
  ].join('\n'));
  prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  prometheus.url = `http://127.0.0.1:${promPort}`;
});

after(async () => {
  prometheus?.kill('SIGTERM');
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function query(expr) {
  const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  return body.data?.result ?? [];
}

test('prometheus scrapes the target and stores parley metrics', async () => {
  // Traffic, so the request metrics exist.
  const r = await fetch(`${server.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
  });
  assert.equal(r.status, 200);
  let up = [];
  let ttft = [];
  for (let i = 0; i < 120; ++i) {
    await new Promise((res) => setTimeout(res, 250));
    try {
      up = await query('up{job="parley"}');
      ttft = await query('parley_time_to_first_token_seconds_count{model="tiny"}');
    } catch { /* prometheus still starting */ }
    if (up.length === 1 && up[0].value[1] === '1' && ttft.length === 1) break;
  }
  assert.equal(up.length, 1, 'the parley target was never scraped');
  assert.equal(up[0].value[1], '1', 'the parley target is down');
  assert.equal(ttft.length, 1);
  assert.ok(Number(ttft[0].value[1]) >= 1);
  const targets = await (await fetch(`${prometheus.url}/api/v1/targets`)).json();
  const t = targets.data.activeTargets.find((x) => x.labels.job === 'parley');
  assert.equal(t.health, 'up');
  assert.equal(t.lastError, '');
});
