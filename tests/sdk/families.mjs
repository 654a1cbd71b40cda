// The synthetic models the SDK tests run against, one per chat-template family, each served by
// its own `parley serve` (tests/integration/server.mjs starts it).
//
// - chatml: the built-in byte-level vocabulary with Parley's ChatML template (the built-in tool
//   format, docs/tools.md).
// - llama31: the Llama 3 vocabulary (128k tokens, byte-level BPE) with Llama 3.1's own template
//   (tools in its own format).
// - phi35: the Phi-3 vocabulary (32k, SentencePiece with byte fallback) with Phi-3.5-mini's
//   template, which knows no tools (the built-in tool format goes into its system turn).
// The last two come from ../shared (PARLEY_SHARED_DIR): skipped where it is missing.
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

const phi35 = {
  arch: 'llama',
  vocab: join(sharedDir, 'vocab', 'ggml-vocab-phi-3.gguf'),
  template: join(sharedDir, 'templates', 'microsoft-Phi-3.5-mini-instruct.jinja'),
};

function fromShared(name, files) {
  const missing = !existsSync(files.vocab) || !existsSync(files.template);
  return {
    name,
    skip: missing ? `no ${files.vocab} or ${files.template}` : false,
    start: (args = []) => startServer(args, { synth: (dir) => synthWithTemplate(dir, files) }),
  };
}

// { name, skip (a reason, or false), start(args) -> server (more `parley serve` arguments) }
export const families = [
  { name: 'chatml', skip: false, start: (args = []) => startServer(args, { synth: synthModel }) },
  fromShared('llama31', llama31),
  fromShared('phi35', phi35),
];
