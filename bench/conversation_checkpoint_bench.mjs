// What checkpointing streamed replies costs the stream (issue 18, docs/reliability.md): the same
// conversation-API load against `parley serve` (SQLite) with checkpoints every second (the
// default), with checkpoints off, and with a checkpoint due at every token (the worst case: one
// write per reply in flight at any time, coalesced), rounds alternated (and the order rotated) so
// that a loaded machine hurts each alike. Reports generated tokens/s, time to first token and inter-token gaps.
//
//   PARLEY_BIN=build/bin/parley node bench/conversation_checkpoint_bench.mjs [--rounds 3]
//       [--concurrency 16] [--max-tokens 200]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../tests/integration/server.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('rounds', 3);
const concurrency = arg('concurrency', 16);
const maxTokens = arg('max-tokens', 200);

const variants = [
  { name: 'checkpoint 1000 ms (default)', interval: 1000 },
  { name: 'checkpoints off', interval: 0 },
  { name: 'checkpoint every token', interval: 1 },
];

async function stream(baseURL, i) {
  const json = { 'Content-Type': 'application/json' };
  const conv = await (await fetch(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: '{}' })).json();
  const start = performance.now();
  const r = await fetch(`${baseURL}/api/conversations/${conv.id}/messages`, {
    method: 'POST', headers: json,
    body: JSON.stringify({ content: `Tell me about ${i}`, max_tokens: maxTokens, ignore_eos: true, seed: i }),
  });
  const decoder = new TextDecoder();
  let buffered = '';
  let first = null;
  let last = null;
  const gaps = [];
  let tokens = 0;
  for await (const chunk of r.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const now = performance.now();
      if (block.startsWith('event: delta')) {
        if (first === null) first = now - start;
        else gaps.push(now - last);
        last = now;
      } else if (block.startsWith('event: done')) {
        tokens = JSON.parse(/^data: (.*)$/m.exec(block)[1]).message.usage.completion_tokens;
      }
    }
  }
  return { ttft: first, gaps, tokens, wall: performance.now() - start };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const servers = [];
const configDir = mkdtempSync(join(tmpdir(), 'parley-ckpt-bench-'));
try {
  for (const v of variants) {
    const config = join(configDir, `${v.interval}.toml`);
    writeFileSync(config, `[conversations]\ncheckpoint_interval_ms = ${v.interval}\nstale_stream_s = 60\n`);
    servers.push(await startServer(['--config', config, '--max-running', String(concurrency)]));
  }
  const results = variants.map(() => ({ tokens: 0, seconds: 0, ttft: [], gaps: [], rates: [] }));
  for (const server of servers) await stream(server.baseURL, -1);  // warm-up, not counted
  for (let round = 0; round < rounds; ++round) {
    for (let j = 0; j < servers.length; ++j) {
      const k = (round + j) % servers.length;  // each variant first as often as the others
      const server = servers[k];
      const t0 = performance.now();
      const runs = await Promise.all(Array.from({ length: concurrency }, (_, i) => stream(server.baseURL, round * 1000 + i)));
      const res = results[k];
      const seconds = (performance.now() - t0) / 1000;
      res.seconds += seconds;
      res.rates.push(runs.reduce((n, r) => n + r.tokens, 0) / seconds);
      for (const r of runs) {
        res.tokens += r.tokens;
        res.ttft.push(r.ttft);
        res.gaps.push(...r.gaps);
      }
    }
  }
  console.log(`rounds ${rounds}, concurrency ${concurrency}, max_tokens ${maxTokens}`);
  const off = results[variants.findIndex((v) => v.interval === 0)];
  for (const [k, v] of variants.entries()) {
    const r = results[k];
    // Each round's rate over the same round's rate without checkpoints (run next to it in time).
    const ratio = pct(r.rates.map((x, i) => x / off.rates[i]), 50);
    console.log(`${v.name.padEnd(30)} ${(r.tokens / r.seconds).toFixed(1).padStart(8)} tok/s ` +
      `(median per-round ratio to off ${ratio.toFixed(2)})  ` +
      `TTFT p50 ${pct(r.ttft, 50).toFixed(1)} ms  ITL p50 ${pct(r.gaps, 50).toFixed(2)} ms ` +
      `p99 ${pct(r.gaps, 99).toFixed(2)} ms`);
  }
} finally {
  for (const s of servers) await s.stop();
  rmSync(configDir, { recursive: true, force: true });
}
