// Builds the UI and prints what the first screen loads: the scripts and styles index.html
// names, plus every chunk those scripts import statically, with their gzipped sizes. Lazily
// loaded chunks (KaTeX, highlight.js languages) are listed apart. Exits 1 over the budget.
//   npm run size            build, then measure
//   npm run size -- --no-build   measure dist/ as it is
import { execSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_JS_GZIP = 150 * 1024;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

if (!process.argv.includes('--no-build')) execSync('npm run build', { cwd: root, stdio: 'inherit' });

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1].slice(1));

const seen = new Set();
const queue = [...refs];
while (queue.length) {
  const file = queue.shift();
  if (seen.has(file)) continue;
  seen.add(file);
  if (!file.endsWith('.js')) continue;
  const code = readFileSync(join(dist, file), 'utf8');
  // Static imports only: `import ... from "./x.js"` / `import "./x.js"` (not import()).
  for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w*{}\s,$]+from\s*)?["'](\.\/[^"']+\.js)["']/g)) {
    queue.push(join(dirname(file), m[1]));
  }
}

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let js = 0;
let css = 0;
console.log('First screen (index.html and its static imports):');
for (const f of seen) {
  const size = gz(f);
  if (f.endsWith('.js')) js += size;
  else css += size;
  console.log(`  ${f.padEnd(40)} ${kb(size).padStart(10)} gzip`);
}
const lazy = readdirSync(join(dist, 'assets'))
  .map((f) => `assets/${f}`)
  .filter((f) => f.endsWith('.js') && !seen.has(f));
const lazyTotal = lazy.reduce((n, f) => n + gz(f), 0);
console.log(`Loaded later: ${lazy.length} chunks, ${kb(lazyTotal)} gzip (KaTeX, highlight.js and its languages)`);
console.log(`First-screen JavaScript: ${kb(js)} gzip (budget ${kb(BUDGET_JS_GZIP)}); CSS: ${kb(css)} gzip`);
if (js > BUDGET_JS_GZIP) {
  console.error('over budget');
  process.exit(1);
}
