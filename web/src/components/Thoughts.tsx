// A reasoning model's thinking (the message's `reasoning`), collapsed under "Thoughts" above the
// answer: there to read on demand, out of the way of the reply. Plain text, not Markdown: the
// thinking is a draft, often with half-formed markup.
export function Thoughts({ text, live = false }: { text: string; live?: boolean }) {
  if (!text) return null;
  return (
    <details class="thoughts">
      <summary>{live ? 'Thinking…' : 'Thoughts'}</summary>
      <div class="thoughts-body">{text}</div>
    </details>
  );
}
