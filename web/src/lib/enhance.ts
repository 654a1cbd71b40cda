// After a message's HTML is in the DOM: math, highlighting (when the text is final) and the
// code blocks' copy buttons (one delegated listener per message).
import { copyText } from './clipboard';
import { highlightElement } from './highlight';
import { renderMath } from './math';

export function enhance(root: HTMLElement, final: boolean): void {
  renderMath(root);
  if (!final) return;
  for (const code of root.querySelectorAll<HTMLElement>('pre > code[class*="language-"]:not([data-highlighted])')) {
    void highlightElement(code);
  }
}

/** Handles clicks on the copy buttons of code blocks inside root. */
export function onCodeCopyClick(e: MouseEvent): void {
  const button = (e.target as HTMLElement | null)?.closest<HTMLButtonElement>('button[data-copy-code]');
  if (!button) return;
  const code = button.closest('.code-block')?.querySelector('pre > code');
  if (!code) return;
  void copyText(code.textContent ?? '').then((ok) => {
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => {
      button.textContent = 'Copy';
    }, 1500);
  });
}
