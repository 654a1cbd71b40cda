// Syntax highlighting with highlight.js's core; each language is its own lazily loaded chunk.
import type { HLJSApi, LanguageFn } from 'highlight.js';

type Loader = () => Promise<{ default: LanguageFn }>;

const loaders: Record<string, Loader> = {
  bash: () => import('highlight.js/lib/languages/bash'),
  c: () => import('highlight.js/lib/languages/c'),
  cpp: () => import('highlight.js/lib/languages/cpp'),
  csharp: () => import('highlight.js/lib/languages/csharp'),
  css: () => import('highlight.js/lib/languages/css'),
  diff: () => import('highlight.js/lib/languages/diff'),
  dockerfile: () => import('highlight.js/lib/languages/dockerfile'),
  go: () => import('highlight.js/lib/languages/go'),
  ini: () => import('highlight.js/lib/languages/ini'),
  java: () => import('highlight.js/lib/languages/java'),
  javascript: () => import('highlight.js/lib/languages/javascript'),
  json: () => import('highlight.js/lib/languages/json'),
  kotlin: () => import('highlight.js/lib/languages/kotlin'),
  lua: () => import('highlight.js/lib/languages/lua'),
  makefile: () => import('highlight.js/lib/languages/makefile'),
  markdown: () => import('highlight.js/lib/languages/markdown'),
  php: () => import('highlight.js/lib/languages/php'),
  python: () => import('highlight.js/lib/languages/python'),
  ruby: () => import('highlight.js/lib/languages/ruby'),
  rust: () => import('highlight.js/lib/languages/rust'),
  scala: () => import('highlight.js/lib/languages/scala'),
  sql: () => import('highlight.js/lib/languages/sql'),
  swift: () => import('highlight.js/lib/languages/swift'),
  typescript: () => import('highlight.js/lib/languages/typescript'),
  xml: () => import('highlight.js/lib/languages/xml'),
  yaml: () => import('highlight.js/lib/languages/yaml'),
  cmake: () => import('highlight.js/lib/languages/cmake'),
  haskell: () => import('highlight.js/lib/languages/haskell'),
  r: () => import('highlight.js/lib/languages/r'),
  latex: () => import('highlight.js/lib/languages/latex'),
};

const aliases: Record<string, string> = {
  sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash',
  'c++': 'cpp', cc: 'cpp', h: 'c', hpp: 'cpp', cxx: 'cpp',
  cs: 'csharp', 'c#': 'csharp',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', node: 'javascript',
  ts: 'typescript', tsx: 'typescript',
  py: 'python', python3: 'python', rb: 'ruby', rs: 'rust', golang: 'go', kt: 'kotlin',
  html: 'xml', svg: 'xml', xhtml: 'xml', vue: 'xml',
  yml: 'yaml', toml: 'ini', docker: 'dockerfile', make: 'makefile', md: 'markdown',
  patch: 'diff', tex: 'latex', jsonc: 'json', postgres: 'sql', postgresql: 'sql', mysql: 'sql', sqlite: 'sql',
};

/** The language a fence name maps to, or null when there is no highlighter for it. */
export function languageFor(name: string): string | null {
  const n = name.toLowerCase();
  const id = aliases[n] ?? n;
  return id in loaders ? id : null;
}

let core: Promise<HLJSApi> | null = null;
const registered = new Map<string, Promise<void>>();

function loadCore(): Promise<HLJSApi> {
  core ??= import('highlight.js/lib/core').then((m) => m.default);
  return core;
}

async function ensureLanguage(hljs: HLJSApi, id: string): Promise<void> {
  let p = registered.get(id);
  if (!p) {
    p = loaders[id]!().then((m) => hljs.registerLanguage(id, m.default));
    registered.set(id, p);
  }
  await p;
}

/** Highlights a <code class="language-x"> element in place (once). */
export async function highlightElement(code: HTMLElement): Promise<void> {
  if (code.dataset.highlighted) return;
  const cls = [...code.classList].find((c) => c.startsWith('language-'));
  const id = cls ? languageFor(cls.slice('language-'.length)) : null;
  if (!id) return;
  code.dataset.highlighted = 'pending';
  try {
    const hljs = await loadCore();
    await ensureLanguage(hljs, id);
    if (!code.isConnected) return;
    const text = code.textContent ?? '';
    // highlight.js escapes the text it wraps in <span class="hljs-...">.
    code.innerHTML = hljs.highlight(text, { language: id, ignoreIllegals: true }).value;
    code.classList.add('hljs');
    code.dataset.highlighted = 'yes';
  } catch {
    code.dataset.highlighted = 'failed';
  }
}
