// A small cluster of real processes for cluster.test.mjs: each "host" gets its own address, in its
// own network namespace (`ip netns` + a veth pair into one bridge) where the machine allows it
// (root with CAP_NET_ADMIN), else a distinct loopback address 127.0.0.x. PostgreSQL (a unix
// socket, reachable from every namespace: sockets with a path are not per network namespace) and
// Redis (on its own host) are started here too.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parleyBin } from './server.mjs';

const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });

// Hosts named `names`: { mode, hosts: { name: { addr, port?, exec(argv) -> [cmd, args] } }, cleanup() }.
export async function makeHosts(names) {
  const id = (process.pid % 0xfff).toString(16).padStart(3, '0');
  // A /24 that no route uses yet (another run of this test may hold one).
  let routes = '';
  try { routes = ip('-4', 'route').toString(); } catch { /* no ip: loopback below */ }
  let third = process.pid % 250;
  while (routes.includes(`10.213.${third}.`)) third = (third + 1) % 250;
  const subnet = `10.213.${third}`;
  const created = { netns: [], links: [] };
  const cleanup = () => {
    for (const ns of created.netns) { try { ip('netns', 'del', ns); } catch { /* gone */ } }
    for (const link of created.links) { try { ip('link', 'del', link); } catch { /* gone */ } }
    created.netns = [];
    created.links = [];
  };
  if (process.getuid?.() === 0 && process.env.PARLEY_TEST_NO_NETNS !== '1') {
    try {
      process.once('exit', cleanup);  // also when a test fails before after() (not on SIGKILL)
      const bridge = `pbr${id}`;
      ip('link', 'add', bridge, 'type', 'bridge');
      created.links.push(bridge);
      ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
      const hosts = {};
      names.forEach((name, i) => {
        const ns = `parley-${id}-${name}`;
        const outside = `pv${id}h${i}`;
        const inside = `pv${id}n${i}`;
        ip('netns', 'add', ns);
        created.netns.push(ns);
        ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
        created.links.push(outside);
        ip('link', 'set', inside, 'netns', ns);
        ip('link', 'set', outside, 'master', bridge);
        ip('link', 'set', outside, 'up');
        const addr = `${subnet}.${10 + i}`;
        ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', inside);
        ip('-n', ns, 'link', 'set', inside, 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        // `ip netns exec` execs the command itself: the child's pid is the program's.
        hosts[name] = { addr, ns, exec: (argv) => ['ip', ['netns', 'exec', ns, ...argv]] };
      });
      // A connection from a host reaches the bridge (and so the test, in the root namespace).
      const probe = createServer((s) => s.destroy());
      await new Promise((resolve) => probe.listen(0, `${subnet}.1`, resolve));
      try {
        execFileSync('ip', ['netns', 'exec', hosts[names[0]].ns, 'timeout', '5', 'bash', '-c',
          `exec 3<>/dev/tcp/${subnet}.1/${probe.address().port}`], { stdio: 'pipe' });
      } finally {
        probe.close();
      }
      return { mode: `network namespaces (bridge ${bridge}, ${subnet}.0/24)`, hosts, cleanup };
    } catch (e) {
      cleanup();
      console.log(`# network namespaces unavailable (${String(e.message).split('\n')[0]}): loopback addresses`);
    }
  }
  // Loopback addresses share the machine's ports (a wildcard listener on 8080 would collide): each
  // host gets its own port, away from the usual ones.
  const base = 20000 + (process.pid % 2000) * 10;
  const hosts = {};
  names.forEach((name, i) => {
    hosts[name] = { addr: `127.0.0.${10 + i}`, port: base + i, exec: (argv) => [argv[0], argv.slice(1)] };
  });
  return { mode: 'distinct loopback addresses 127.0.0.x (no network namespaces here)', hosts, cleanup };
}

// Spawns `argv` on `host`; resolves `ready` once a JSON log line's msg starts with `marker`.
export function startProcess(host, argv, marker, { env = process.env } = {}) {
  const [cmd, args] = host.exec(argv);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs = [];
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv[0]} did not start:\n${logs.join('\n')}`)), 60000);
    let buffered = '';
    const onData = (chunk) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        if (logs.length > 2000) logs.splice(0, 1000);
        let msg = line;
        try { msg = JSON.parse(line).msg ?? line; } catch { /* not JSON */ }
        if (marker && msg.startsWith(marker)) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    exited.then((code) => { clearTimeout(timer); reject(new Error(`${argv[0]} exited (${code}):\n${logs.join('\n')}`)); });
  });
  ready.catch(() => {});
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc, logs, exited, ready, alive,
    async kill(signal = 'SIGKILL') {
      if (!alive()) return exited;
      proc.kill(signal);
      return exited;
    },
  };
}

// A throw-away PostgreSQL (tests/store/pg_cluster.sh): { url, stop() }.
export function startPostgres() {
  const state = mkdtempSync(join(tmpdir(), 'parley-it-cluster-pg-'));
  const script = join(process.cwd(), 'tests/store/pg_cluster.sh');
  execFileSync(script, ['start', state], { stdio: 'pipe', env: { ...process.env, PARLEY_TEST_SKIP_PG: '', PARLEY_TEST_PG_URL: '' } });
  const url = readFileSync(join(state, 'url'), 'utf8').trim();
  return {
    url,
    stop() {
      try { execFileSync(script, ['stop', state], { stdio: 'pipe' }); } catch { /* best effort */ }
      rmSync(state, { recursive: true, force: true });
    },
  };
}

// redis-server on `host` (no persistence: a restart forgets every bucket). start() again after stop().
// With a password: off loopback, a Redis without one runs in protected mode and refuses everyone.
export function redisServer(host, port = host.port ?? 6379) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-it-cluster-redis-'));
  const password = 'integration-redis-pw';
  let p = null;
  const r = {
    url: `redis://:${password}@${host.addr}:${port}/0`,
    async start() {
      p = startProcess(host, ['redis-server', '--port', String(port), '--bind', host.addr, '--dir', dir, '--save', '',
        '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice', '--requirepass', password], null);
      for (let i = 0; i < 250; ++i) {  // until it accepts connections
        if (p.logs.some((l) => l.includes('Ready to accept connections'))) return;
        if (!p.alive()) throw new Error(`redis-server exited:\n${p.logs.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      throw new Error(`redis-server did not start:\n${p.logs.join('\n')}`);
    },
    async stop() { if (p) await p.kill('SIGKILL'); },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  return r;
}

// `parley worker` on `host`.
export function startWorker(host, { models, tokenFile, port = host.port ?? 8081, threads = 1 }) {
  const w = startProcess(host, [parleyBin, '--log-format', 'json', 'worker', ...models.flatMap((m) => ['--model', m]),
    '--host', host.addr, '--port', String(port), '-t', String(threads), '--cluster-token-file', tokenFile,
    '--drain-timeout', '60'], 'worker listening on');
  w.url = `http://${host.addr}:${port}`;
  return w;
}

// `parley gateway` on `host` over `workers`; ready once it serves a model (/ready 200).
export async function startGateway(host, { workers, tokenFile, policy, database, redis, config, dataDir,
  port = host.port ?? 8080 }) {
  const argv = [parleyBin, '--log-format', 'json', 'gateway', '--host', host.addr, '--port', String(port),
    '--route-policy', policy, '--cluster-token-file', tokenFile, '--database', database, '--redis', redis,
    '--config', config, '--data', dataDir, '--auth', 'required', '--shutdown-grace', '5'];
  for (const w of workers) argv.push('--worker', w);
  const g = startProcess(host, argv, 'waiting for a ready worker');
  await g.ready;
  g.baseURL = `http://${host.addr}:${port}`;
  for (let i = 0; i < 300; ++i) {
    if ((await fetch(`${g.baseURL}/ready`)).status === 200) return g;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gateway not ready:\n${g.logs.join('\n')}`);
}

// Every sample of `name` in Prometheus text: [{ labels: {k: v}, value }].
export async function samples(url, name, headers = {}) {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labels = {};
    const m = /\{(.*)\}/.exec(line);
    if (m) for (const [, k, v] of m[1].matchAll(/(\w+)="([^"]*)"/g)) labels[k] = v;
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}
