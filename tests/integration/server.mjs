// Starts `parley serve` on a free loopback port for a test file and stops it afterwards.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const parleyBin = process.env.PARLEY_BIN || 'build/bin/parley';

// A small synthetic model with the built-in byte-level vocabulary and its ChatML template.
export function synthModel(dir, extra = []) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '2',
    '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '512', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', path, ...extra], { stdio: 'pipe' });
  return path;
}

// `setup(dir)`, if given, runs after the data directory exists and before the server starts
// (e.g. `parley admin` creating accounts in the store the server will open). `dir`: restart on
// the data directory (and model) of an earlier server, e.g. after killing it. `demo`: no
// --model, so the server makes and serves its built-in demo model, as `make run` does. `synth`:
// writes the model into the directory instead of synthModel (same file name, tiny.gguf).
export async function startServer(args = [], { setup, dir: reuse, demo = false, synth = synthModel } = {}) {
  const dir = reuse ?? mkdtempSync(join(tmpdir(), 'parley-it-'));
  const model = demo ? [] : ['--model', reuse ? join(dir, 'tiny.gguf') : synth(dir)];
  if (setup) await setup(dir);
  const proc = spawn(parleyBin, ['--log-format', 'json', 'serve', ...model, '--port', '0', '-t', '2',
    '--data', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + logs.join('\n'))), 30000);
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
          if (event.msg && event.msg.startsWith('listening on') && event.port) {
            clearTimeout(timer);
            resolve(event.port);
          }
        } catch { /* not JSON */ }
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n` + logs.join('\n'))));
  });
  return {
    proc,
    port,
    dir,
    baseURL: `http://127.0.0.1:${port}`,
    logs,
    // SIGTERM (graceful) and the data directory removed; with { signal: 'SIGKILL', keep: true }
    // a crash that leaves the directory for a restart.
    async stop({ signal = 'SIGTERM', keep = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill(signal);
        await exited;
      }
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Runs `parley admin <args> --data <dir>` and returns its stdout (throws on a non-zero exit).
export function admin(dir, args, input) {
  return execFileSync(parleyBin, ['admin', ...args, '--data', dir], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

// Reads a metric value from /metrics (first series whose name and labels match).
export async function metric(baseURL, name, labelFilter = '') {
  const text = await (await fetch(`${baseURL}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{') && line.includes(labelFilter)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}
