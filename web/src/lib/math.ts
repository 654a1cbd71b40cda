// Math with KaTeX, loaded (with its CSS and fonts) the first time a message contains math.
type Katex = typeof import('katex').default;

let katex: Katex | null = null;
let loading: Promise<Katex> | null = null;

function loadKatex(): Promise<Katex> {
  loading ??= Promise.all([import('katex'), import('katex/dist/katex.min.css')]).then(([m]) => {
    katex = m.default;
    return katex;
  });
  return loading;
}

function renderOne(k: Katex, el: HTMLElement): void {
  const tex = el.dataset.tex ?? '';
  try {
    // trust: false keeps \href, \includegraphics and friends inert; errors show the source.
    k.render(tex, el, {
      displayMode: el.classList.contains('math-display'),
      throwOnError: false,
      trust: false,
      strict: 'ignore',
      output: 'htmlAndMathml',
    });
    el.dataset.rendered = 'yes';
  } catch {
    el.textContent = tex;
    el.dataset.rendered = 'failed';
  }
}

/** Renders every math placeholder under root (synchronously once KaTeX is loaded). */
export function renderMath(root: HTMLElement): void {
  const nodes = root.querySelectorAll<HTMLElement>('.math[data-tex]:not([data-rendered])');
  if (nodes.length === 0) return;
  if (katex) {
    for (const el of nodes) renderOne(katex, el);
    return;
  }
  void loadKatex()
    .then((k) => {
      for (const el of root.querySelectorAll<HTMLElement>('.math[data-tex]:not([data-rendered])')) renderOne(k, el);
    })
    .catch(() => undefined);
}
