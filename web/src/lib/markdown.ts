// Markdown -> sanitised HTML. Model output is untrusted: raw HTML in it is shown as text, the
// result passes DOMPurify (no scripts, no event handlers, no javascript: URLs, no styles), and
// math is left as placeholders that math.ts renders with KaTeX (loaded only when needed).
import DOMPurify from 'dompurify';
import { Marked, type Tokens, type TokenizerAndRendererExtension } from 'marked';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c]};`);
}

function mathHtml(tex: string, display: boolean): string {
  const tag = display ? 'div' : 'span';
  return `<${tag} class="math${display ? ' math-display' : ''}" data-tex="${escapeHtml(tex)}">${escapeHtml(tex)}</${tag}>`;
}

interface MathToken extends Tokens.Generic {
  tex: string;
}

const blockMath: TokenizerAndRendererExtension = {
  name: 'blockMath',
  level: 'block',
  start: (src) => {
    const m = /\$\$|\\\[/.exec(src);
    return m ? m.index : undefined;
  },
  tokenizer(src) {
    const m = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n|$)/.exec(src);
    if (!m) return undefined;
    return { type: 'blockMath', raw: m[0], tex: (m[1] ?? m[2] ?? '').trim() } as MathToken;
  },
  renderer: (token) => mathHtml((token as MathToken).tex, true),
};

const inlineMath: TokenizerAndRendererExtension = {
  name: 'inlineMath',
  level: 'inline',
  start: (src) => {
    const m = /\$|\\\(/.exec(src);
    return m ? m.index : undefined;
  },
  tokenizer(src) {
    // $$..$$ inline is display math; $..$ needs no space inside its ends and no digit after
    // (so "$5 and $10" stays text); \(..\) is always math.
    const m =
      /^\$\$((?:\\.|[^\\$])+?)\$\$/.exec(src) ??
      /^\$(?![\s$])((?:\\.|[^\\$\n])+?)(?<!\s)\$(?![0-9])/.exec(src) ??
      /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (!m) return undefined;
    return { type: 'inlineMath', raw: m[0], tex: (m[1] ?? '').trim(), display: m[0].startsWith('$$') } as MathToken;
  },
  renderer: (token) => mathHtml((token as MathToken).tex, Boolean(token.display)),
};

function codeBlock(text: string, lang: string | undefined): string {
  const language = (lang ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const label = language ? escapeHtml(language) : 'text';
  const cls = language ? ` class="language-${escapeHtml(language)}"` : '';
  return (
    `<div class="code-block"><div class="code-head"><span class="code-lang">${label}</span>` +
    `<button type="button" class="code-copy" data-copy-code="" aria-label="Copy code">Copy</button></div>` +
    `<pre><code${cls}>${escapeHtml(text.replace(/\n$/, ''))}</code></pre></div>`
  );
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  extensions: [blockMath, inlineMath],
  renderer: {
    code: ({ text, lang }) => codeBlock(text, lang),
    // Raw HTML from a model is shown as the text it is.
    html: (token) => {
      const t = escapeHtml(token.text);
      return 'block' in token && token.block ? `<p>${t}</p>` : t;
    },
    // Images would load from anywhere (and CSP refuses other hosts): a link instead.
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    checkbox: ({ checked }) => `<span class="task" aria-hidden="true">${checked ? '☑' : '☐'}</span> `,
  },
});

const purify = DOMPurify;
let hooked = false;

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
}

const PURIFY_CONFIG = {
  FORBID_TAGS: ['style', 'form', 'input', 'textarea', 'select', 'iframe', 'img', 'svg', 'math', 'video', 'audio'],
  FORBID_ATTR: ['style', 'id', 'name', 'srcset'],
  ALLOW_DATA_ATTR: true,
};

/** Sanitises HTML (exported for tests and for any HTML that did not come from renderMarkdown). */
export function sanitize(html: string): string {
  installHooks();
  return purify.sanitize(html, PURIFY_CONFIG) as unknown as string;
}

const cache = new Map<string, string>();
const CACHE_MAX = 400;

/** Markdown to safe HTML; recent results are cached (switching branches re-renders nothing). */
export function renderMarkdown(src: string): string {
  const hit = cache.get(src);
  if (hit !== undefined) {
    cache.delete(src);
    cache.set(src, hit);
    return hit;
  }
  let html: string;
  try {
    html = sanitize(marked.parse(src, { async: false }) as string);
  } catch {
    html = `<p>${escapeHtml(src)}</p>`;
  }
  cache.set(src, html);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return html;
}

/** Renders a growing reply without caching every intermediate text. */
export function renderMarkdownUncached(src: string): string {
  try {
    return sanitize(marked.parse(src, { async: false }) as string);
  } catch {
    return `<p>${escapeHtml(src)}</p>`;
  }
}
