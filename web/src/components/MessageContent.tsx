// A message's Markdown as sanitised HTML. Messages far from the viewport first show their plain
// text and are rendered when they come near (a 500-message conversation opens at once).
import { memo } from 'preact/compat';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { enhance, onCodeCopyClick } from '../lib/enhance';
import { renderMarkdown } from '../lib/markdown';

function render(el: HTMLElement, text: string): void {
  el.innerHTML = renderMarkdown(text);
  el.classList.remove('md-pending');
  enhance(el, true);
}

export const MessageContent = memo(function MessageContent({ text, eager }: { text: string; eager: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const shown = useRef<string | null>(null); // the text whose Markdown is in the DOM
  useLayoutEffect(() => {
    const el = ref.current!;
    if (shown.current === text) return; // already rendered (eager may have changed since)
    const show = () => {
      render(el, text);
      shown.current = text;
    };
    if (eager || typeof IntersectionObserver === 'undefined') {
      show();
      return;
    }
    el.textContent = text;
    el.classList.add('md-pending');
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          io.disconnect();
          show();
        }
      },
      { rootMargin: '1200px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [text, eager]);
  return <div class="md" ref={ref} onClick={onCodeCopyClick} />;
});
