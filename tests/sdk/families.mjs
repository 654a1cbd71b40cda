// The synthetic models the SDK tests run against, one per chat-template family, each served by
// its own `parley serve` (tests/integration/server.mjs starts it).
//
// - chatml: the built-in byte-level vocabulary with Parley's ChatML template (the built-in tool
//   format, docs/tools.md).
// - llama31: the Llama 3 vocabulary (128k tokens) with Llama 3.1's own template, from
//   ../shared/templates (PARLEY_SHARED_DIR): skipped where that directory is missing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parleyBin, startServer, synthModel } from '../integration/server.mjs';

export const sharedDir = resolve(process.env.PARLEY_SHARED_DIR || '../shared');

function synthWithTemplate(dir, { arch, vocab, template }) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', arch, '--vocab-from', vocab, '--chat-template', template,
    '--layers', '2', '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '1024',
    '--type', 'q8_0', '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}

const llama31 = {
  arch: 'llama',
  vocab: join(sharedDir, 'vocab', 'ggml-vocab-llama-bpe.gguf'),
  template: join(sharedDir, 'templates', 'meta-llama-Llama-3.1-8B-Instruct.jinja'),
};

// { name, skip (a reason, or false), start() -> server }
export const families = [
  { name: 'chatml', skip: false, start: () => startServer([], { synth: synthModel }) },
  {
    name: 'llama31',
    skip: existsSync(llama31.vocab) && existsSync(llama31.template) ? false : `no ${sharedDir}/vocab or templates`,
    start: () => startServer([], { synth: (dir) => synthWithTemplate(dir, llama31) }),
  },
];
