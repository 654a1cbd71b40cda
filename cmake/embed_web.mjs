#!/usr/bin/env node
// Embeds a built static site (the web UI's web/dist, or a test fixture) in a generated C++ source:
// for every file its path, content type, bytes, a gzip and a brotli variant (each kept only when
// it saves at least 5% of the bytes), an ETag (a hash of the bytes) and whether it is immutable
// (under assets/, where the build puts content-hashed names). The table is read by
// src/gateway/static_site.h (EmbeddedFile); the function that returns it is named by --function.
//
//   node cmake/embed_web.mjs --dist DIR --out FILE.cpp --header FILE.h --function NAME
//
// A missing DIR embeds an empty site. Hidden files and directories (".vite/") are left out, as
// the server never serves them; a symbolic link is an error. The outputs are rewritten only when
// their text changes, so an identical web build recompiles nothing.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';

// Content types by extension. src/gateway/static_site.cpp has the same table for --web-dir;
// StaticSite.EmbeddedContentTypesMatchTheServersTable checks that they agree.
export const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
};
const DEFAULT_TYPE = 'application/octet-stream';

// A compressed variant must save at least this share of the bytes to be kept: one that saves less
// (fonts, images: already compressed) would only make the binary larger.
export const MIN_SAVING = 0.05;

export function contentType(file) {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? DEFAULT_TYPE;
}

// Every regular file under `dist`, as paths relative to it with '/' separators, sorted.
export function listFiles(dist) {
  if (!fs.existsSync(dist)) return [];
  const out = [];
  const walk = (dir, prefix) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const rel = prefix + entry.name;
      if (entry.isSymbolicLink()) throw new Error(`${path.join(dir, entry.name)}: symbolic links are not embedded`);
      if (entry.isDirectory()) walk(path.join(dir, entry.name), rel + '/');
      else if (entry.isFile()) out.push(rel);
    }
  };
  walk(dist, '');
  return out.sort();
}

function keepIfSmaller(raw, compressed) {
  return compressed.length <= raw.length * (1 - MIN_SAVING) ? compressed : null;
}

// One file's record: what the generated table holds.
export function embedFile(dist, rel) {
  const bytes = fs.readFileSync(path.join(dist, rel));
  const gzip = zlib.gzipSync(bytes, { level: 9 });
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  return {
    path: rel,
    contentType: contentType(rel),
    bytes,
    gzip: keepIfSmaller(bytes, gzip),
    br: keepIfSmaller(bytes, br),
    // The first 128 bits of SHA-256, as static_site.cpp computes it for --web-dir.
    etag: '"' + createHash('sha256').update(bytes).digest('hex').slice(0, 32) + '"',
    immutable: rel.startsWith('assets/'),
  };
}

export function embedSite(dist) {
  return listFiles(dist).map((rel) => embedFile(dist, rel));
}

// `bytes` as C++ string literal pieces, one per line (adjacent literals concatenate). Octal
// escapes always have three digits, so a following digit never extends them (hex escapes would).
export function cppStringLiteral(bytes, lineBytes = 96) {
  if (bytes.length === 0) return '""';
  const lines = [];
  let line = '';
  let n = 0;
  for (const b of bytes) {
    if (b === 0x22) line += '\\"';
    else if (b === 0x5c) line += '\\\\';
    else if (b === 0x0a) line += '\\n';
    else if (b === 0x09) line += '\\t';
    else if (b === 0x3f) line += '\\?';  // no "??" trigraph sequences
    else if (b >= 0x20 && b < 0x7f) line += String.fromCharCode(b);
    else line += '\\' + b.toString(8).padStart(3, '0');
    if (++n === lineBytes) {
      lines.push('"' + line + '"');
      line = '';
      n = 0;
    }
  }
  if (line !== '') lines.push('"' + line + '"');
  return lines.join('\n    ');
}

// A C++ string literal of a short text (path, type, ETag).
function cppText(s) {
  return cppStringLiteral(Buffer.from(s, 'utf8'), 1 << 30);
}

function view(name, bytes) {
  return bytes === null ? 'std::string_view()' : `std::string_view(${name}, ${bytes.length})`;
}

export function renderCpp(records, { fn, header, source }) {
  const out = [];
  out.push(`// Generated by cmake/embed_web.mjs from ${source}: do not edit.`);
  out.push(`#include "${header}"`, '', 'namespace parley {', 'namespace {', '');
  records.forEach((r, i) => {
    out.push(`// ${r.path.replace(/[\x00-\x1f]/g, '?')}: ${r.bytes.length} bytes, gzip ${r.gzip?.length ?? '-'}, br ${r.br?.length ?? '-'}`);
    out.push(`constexpr char kRaw${i}[] =\n    ${cppStringLiteral(r.bytes)};`);
    if (r.gzip) out.push(`constexpr char kGzip${i}[] =\n    ${cppStringLiteral(r.gzip)};`);
    if (r.br) out.push(`constexpr char kBr${i}[] =\n    ${cppStringLiteral(r.br)};`);
    out.push('');
  });
  out.push(`constexpr EmbeddedFile kFiles[] = {`);
  records.forEach((r, i) => {
    out.push(
      `    {${cppText(r.path)}, ${cppText(r.contentType)}, ${view(`kRaw${i}`, r.bytes)},\n` +
        `     ${view(`kGzip${i}`, r.gzip)}, ${view(`kBr${i}`, r.br)}, ${cppText(r.etag)}, ${r.immutable}},`,
    );
  });
  if (records.length === 0) out.push('    {},  // no files: an array cannot be empty; the span below is');
  out.push('};', '', '}  // namespace', '');
  out.push(`std::span<const EmbeddedFile> ${fn}() {`);
  out.push(`  return std::span<const EmbeddedFile>(kFiles, ${records.length});`);
  out.push('}', '', '}  // namespace parley', '');
  return out.join('\n');
}

export function renderHeader({ fn, source }) {
  return [
    `// Generated by cmake/embed_web.mjs: the files of ${source}, embedded (gateway/static_site.h).`,
    '#pragma once',
    '',
    '#include <span>',
    '',
    '#include "gateway/static_site.h"',
    '',
    'namespace parley {',
    '',
    `std::span<const EmbeddedFile> ${fn}();`,
    '',
    '}  // namespace parley',
    '',
  ].join('\n');
}

function writeIfChanged(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${key}`);
    args[key.slice(2)] = argv[i + 1];
  }
  for (const k of ['dist', 'out', 'header', 'function']) {
    if (!args[k]) throw new Error(`missing --${k}`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(args.function)) throw new Error(`--function must be a C++ name`);
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const records = embedSite(args.dist);
  const source = fs.existsSync(args.dist) ? path.basename(path.dirname(path.resolve(args.dist))) + '/' +
    path.basename(args.dist) : `${args.dist} (missing: an empty site)`;
  const fn = args.function;
  writeIfChanged(args.header, renderHeader({ fn, source }));
  writeIfChanged(args.out, renderCpp(records, { fn, header: path.basename(args.header), source }));
  const sum = (k) => records.reduce((n, r) => n + (r[k]?.length ?? 0), 0);
  console.log(`embed_web: ${records.length} files from ${source}: ${sum('bytes')} bytes, ` +
    `gzip variants ${sum('gzip')}, brotli variants ${sum('br')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main();
  } catch (e) {
    console.error(`embed_web: ${e.message}`);
    process.exit(1);
  }
}
