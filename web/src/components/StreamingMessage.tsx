// The reply being generated. Only this component follows the token stream: each animation
// frame re-renders the growing Markdown, nothing else in the conversation changes.
import { effect, useComputed, type Signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { enhance, onCodeCopyClick } from '../lib/enhance';
import { renderMarkdownUncached } from '../lib/markdown';
import { Thoughts } from './Thoughts';

function StreamingBody({ text }: { text: Signal<string> }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let frame = 0;
    let shown = '';
    const dispose = effect(() => {
      const t = text.value;
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const el = ref.current;
        const latest = text.peek();
        if (!el || latest === shown) return;
        shown = latest;
        el.innerHTML = renderMarkdownUncached(latest);
        enhance(el, false);
      });
      void t;
    });
    return () => {
      dispose();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [text]);
  return <div class="md" ref={ref} onClick={onCodeCopyClick} />;
}

export function StreamingMessage({ text, reasoning }: { text: Signal<string>; reasoning?: Signal<string> }) {
  // A computed: this component re-renders when the first token arrives, not at every token.
  const empty = useComputed(() => text.value.length === 0 && !reasoning?.value);
  return (
    <article class="msg msg-assistant streaming" data-role="assistant" aria-busy="true" aria-label="Reply being generated">
      <div class="msg-body">
        {reasoning?.value ? <Thoughts text={reasoning.value} live={text.value.length === 0} /> : null}
        {empty.value ? (
          <div class="typing" aria-hidden="true">
            <span />
            <span />
            <span />
          </div>
        ) : null}
        <StreamingBody text={text} />
      </div>
    </article>
  );
}
