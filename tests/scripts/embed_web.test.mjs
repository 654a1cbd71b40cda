// cmake/embed_web.mjs: every file of a built site is embedded with the right variants, the C++
// literals decode to the same bytes, and the outputs are rewritten only when they change.
// Run by ctest (tests/scripts/CMakeLists.txt): node --test tests/scripts/embed_web.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

import { cppStringLiteral, embedSite, listFiles, MIN_SAVING } from '../../cmake/embed_web.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'cmake/embed_web.mjs');
const fixture = path.join(root, 'tests/gateway/fixtures/site');

// Decodes C++ string literal pieces (as cppStringLiteral writes them) back to bytes.
function decodeCppLiteral(text) {
  const out = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"/gs)) {
    const s = m[1];
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== '\\') {
        out.push(s.charCodeAt(i));
        continue;
      }
      const c = s[++i];
      if (c >= '0' && c <= '7') {
        out.push(parseInt(s.slice(i, i + 3), 8));
        i += 2;
      } else {
        out.push({ n: 10, t: 9, '"': 34, '\\': 92, '?': 63 }[c] ?? assert.fail(`unexpected escape \\${c}`));
      }
    }
  }
  return Buffer.from(out);
}

test('every file of the fixture is embedded, hidden ones left out', () => {
  const files = listFiles(fixture);
  assert.deepEqual(files, [
    'assets/app-3f9a1c.js',
    'assets/bytes-0a1b2c.bin',
    'assets/font-5d1c0a.woff2',
    'assets/style-8b2e4d.css',
    'empty.txt',
    'favicon.svg',
    'img/logo.png',
    'index.html',
  ]);
  assert.ok(fs.existsSync(path.join(fixture, '.vite/manifest.json')));
});

test('variants decompress to the bytes and are kept only when they save 5%', () => {
  const records = embedSite(fixture);
  const byPath = Object.fromEntries(records.map((r) => [r.path, r]));
  for (const r of records) {
    const bytes = fs.readFileSync(path.join(fixture, r.path));
    assert.deepEqual(r.bytes, bytes, r.path);
    if (r.gzip) {
      assert.deepEqual(zlib.gunzipSync(r.gzip), bytes, r.path);
      assert.ok(r.gzip.length <= bytes.length * (1 - MIN_SAVING), r.path);
    }
    if (r.br) {
      assert.deepEqual(zlib.brotliDecompressSync(r.br), bytes, r.path);
      assert.ok(r.br.length <= bytes.length * (1 - MIN_SAVING), r.path);
    }
    assert.match(r.etag, /^"[0-9a-f]{32}"$/);
    assert.equal(r.immutable, r.path.startsWith('assets/'), r.path);
  }
  const js = byPath['assets/app-3f9a1c.js'];
  assert.ok(js.gzip && js.br && js.br.length < js.gzip.length);
  assert.equal(js.contentType, 'text/javascript; charset=utf-8');
  assert.equal(byPath['index.html'].contentType, 'text/html; charset=utf-8');
  assert.equal(byPath['assets/font-5d1c0a.woff2'].contentType, 'font/woff2');
  assert.equal(byPath['assets/font-5d1c0a.woff2'].gzip, null);  // random bytes do not compress
  assert.equal(byPath['assets/font-5d1c0a.woff2'].br, null);
  assert.equal(byPath['empty.txt'].gzip, null);
  assert.equal(byPath['assets/bytes-0a1b2c.bin'].contentType, 'application/octet-stream');
  assert.notEqual(byPath['index.html'].etag, byPath['favicon.svg'].etag);
});

test('C++ literals decode to every byte value', () => {
  const all = Buffer.from([...Array(256).keys(), 0x3f, 0x3f, 0x3d, 0x5c, 0x30, 0x00, 0x31, 0x22]);
  for (const lineBytes of [1, 7, 96]) {
    assert.deepEqual(decodeCppLiteral(cppStringLiteral(all, lineBytes)), all);
  }
  assert.equal(cppStringLiteral(Buffer.alloc(0)), '""');
  assert.ok(!cppStringLiteral(Buffer.from('a??=b')).includes('??'), 'no trigraph sequences');
});

test('the generated source holds the table; an unchanged site is not rewritten', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-web-'));
  try {
    const run = (dist) =>
      execFileSync(process.execPath, [script, '--dist', dist, '--out', path.join(out, 'site.cpp'), '--header',
        path.join(out, 'site.h'), '--function', 'site_files'], { encoding: 'utf8' });
    run(fixture);
    const cpp = fs.readFileSync(path.join(out, 'site.cpp'), 'utf8');
    assert.match(cpp, /#include "site\.h"/);
    assert.match(cpp, /std::span<const EmbeddedFile> site_files\(\)/);
    assert.match(cpp, /return std::span<const EmbeddedFile>\(kFiles, 8\);/);
    assert.match(fs.readFileSync(path.join(out, 'site.h'), 'utf8'), /std::span<const EmbeddedFile> site_files\(\);/);
    const bin = fs.readFileSync(path.join(fixture, 'assets/bytes-0a1b2c.bin'));
    const literal = cpp.match(/constexpr char kRaw1\[\] =\n([\s\S]*?);\n/)[1];
    assert.deepEqual(decodeCppLiteral(literal), bin);

    const before = fs.statSync(path.join(out, 'site.cpp')).mtimeMs;
    run(fixture);
    assert.equal(fs.statSync(path.join(out, 'site.cpp')).mtimeMs, before);

    run(path.join(out, 'no-such-dist'));
    assert.match(fs.readFileSync(path.join(out, 'site.cpp'), 'utf8'), /return std::span<const EmbeddedFile>\(kFiles, 0\);/);

    // A symbolic link in the site is an error, not a silent copy of what it points at.
    const dist = path.join(out, 'dist');
    fs.mkdirSync(dist);
    fs.writeFileSync(path.join(dist, 'index.html'), '<p>x</p>');
    fs.symlinkSync('/etc/hostname', path.join(dist, 'leak.txt'));
    const r = spawnSync(process.execPath, [script, '--dist', dist, '--out', path.join(out, 'x.cpp'), '--header',
      path.join(out, 'x.h'), '--function', 'x'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /symbolic links are not embedded/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
