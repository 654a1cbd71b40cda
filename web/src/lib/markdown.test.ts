import { describe, expect, it } from 'vitest';
import { renderMarkdown, sanitize } from './markdown';

function dom(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

describe('renderMarkdown', () => {
  it('shows raw HTML from the model as text, never as elements', () => {
    const el = dom(renderMarkdown('Hi <script>alert(1)</script> <img src=x onerror=alert(1)> <b onclick="x()">b</b>'));
    expect(el.querySelector('script, img, b')).toBeNull();
    expect(el.textContent).toContain('<script>alert(1)</script>');
    const attrs = [...el.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name));
    expect(attrs.filter((a) => a.startsWith('on'))).toEqual([]);
  });

  it('removes javascript: and data: links but keeps http ones', () => {
    const el = dom(renderMarkdown('[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](https://example.com/x) [d](data:text/html,<script>x</script>)'));
    const links = [...el.querySelectorAll('a')];
    const hrefs = links.map((a) => a.getAttribute('href'));
    expect(hrefs.filter((h) => h && /^\s*(javascript|data):/i.test(h))).toEqual([]);
    const safe = links.find((a) => a.getAttribute('href') === 'https://example.com/x')!;
    expect(safe.getAttribute('rel')).toContain('noopener');
    expect(safe.getAttribute('target')).toBe('_blank');
  });

  it('keeps fenced code (escaped) with a language and a "Copy code" button', () => {
    const el = dom(renderMarkdown('```python\nif a < b:\n    print("<x>")\n```'));
    const code = el.querySelector('pre > code.language-python')!;
    expect(code.textContent).toBe('if a < b:\n    print("<x>")');
    expect(el.querySelector('.code-lang')!.textContent).toBe('python');
    const button = el.querySelector('button[data-copy-code]')!;
    expect(button.getAttribute('aria-label')).toBe('Copy code');
  });

  it('keeps GFM tables', () => {
    const el = dom(renderMarkdown('| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |'));
    expect(el.querySelectorAll('table th')).toHaveLength(2);
    expect([...el.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['1', '2', '3', '4']);
  });

  it('marks math for KaTeX and leaves prices alone', () => {
    const el = dom(renderMarkdown('Euler: $e^{i\\pi} + 1 = 0$ and\n\n$$\\int_0^1 x\\,dx$$\n\nIt costs $5 and $10.'));
    const math = [...el.querySelectorAll<HTMLElement>('.math')];
    expect(math.map((m) => m.dataset.tex)).toEqual(['e^{i\\pi} + 1 = 0', '\\int_0^1 x\\,dx']);
    expect(math[1]!.classList.contains('math-display')).toBe(true);
    expect(el.textContent).toContain('It costs $5 and $10.');
  });

  it('does not turn dollar signs in code into math', () => {
    const el = dom(renderMarkdown('`echo $HOME$` and\n\n```sh\necho $a $b\n```'));
    expect(el.querySelector('.math')).toBeNull();
  });

  it('turns images into links (no request to other hosts)', () => {
    const el = dom(renderMarkdown('![cat](https://example.com/cat.png)'));
    expect(el.querySelector('img')).toBeNull();
    expect(el.querySelector('a')!.getAttribute('href')).toBe('https://example.com/cat.png');
  });

  it('keeps control characters from a noisy model from breaking anything', () => {
    const el = dom(renderMarkdown('a\u0005b\u0001 **c**\uFFFD'));
    expect(el.querySelector('strong')!.textContent).toBe('c');
  });
});

describe('sanitize', () => {
  it('removes scripts, event handlers, styles and iframes from HTML', () => {
    const el = dom(sanitize('<p onclick="x()" style="color:red">p</p><script>1</script><iframe src="x"></iframe><a href="javascript:x">a</a><style>*{}</style>'));
    expect(el.querySelector('script, iframe, style')).toBeNull();
    const p = el.querySelector('p')!;
    expect(p.getAttribute('onclick')).toBeNull();
    expect(p.getAttribute('style')).toBeNull();
    expect(el.querySelector('a')!.getAttribute('href')).toBeNull();
  });
});
