// Editing a user message: the editor takes the focus, caret after the text, in the very commit
// that shows it. A focus left to an effect after the next paint raced whatever came first: text
// selected (or typed) in between had its caret moved to the end, and the edit was sent appended
// to the old text (e2e_chat failed on it in CI; a loop of 30 edits showed it 9 times).
import { render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message as Msg } from '../api/types';
import { Message } from './Message';

let root: HTMLElement;
afterEach(() => {
  render(null, root);
  root.remove();
});

const question: Msg = {
  id: 'msg_1',
  object: 'conversation.message',
  parent_id: null,
  role: 'user',
  content: 'Name three rivers.',
  model: null,
  created_at: 1,
};
const versions = { index: 0, count: 1, prev: null, next: null };
const noop = () => undefined;
const microtasks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const paint = () => new Promise((r) => setTimeout(r, 120)); // past Preact's after-paint effects

function mount(onEdit: (id: string, text: string) => void = noop): HTMLElement {
  root = document.createElement('div');
  document.body.appendChild(root);
  render(<Message message={question} versions={versions} busy={false} eager={true} onSwitch={noop} onEdit={onEdit} onRegenerate={noop} />, root);
  return root;
}

async function openEditor(el: HTMLElement): Promise<HTMLTextAreaElement> {
  (el.querySelector('button[aria-label="Edit message"]') as HTMLButtonElement).click();
  await microtasks(); // the re-render, not the effects after paint
  const ta = el.querySelector('textarea[aria-label="Edit message text"]') as HTMLTextAreaElement;
  expect(ta).not.toBeNull();
  return ta;
}

describe('Message editor', () => {
  it('is focused with the caret after the text as soon as it is shown', async () => {
    const ta = await openEditor(mount());
    expect(document.activeElement).toBe(ta);
    expect(ta.value).toBe('Name three rivers.');
    expect([ta.selectionStart, ta.selectionEnd]).toEqual([ta.value.length, ta.value.length]);
  });

  it('keeps a selection made at once: replacing the text sends only the new text', async () => {
    const edits: string[] = [];
    const el = mount((_id, text) => edits.push(text));
    const ta = await openEditor(el);
    ta.select(); // what a select-all (or Playwright's fill) does before it types
    await paint();
    expect([ta.selectionStart, ta.selectionEnd]).toEqual([0, ta.value.length]);
    ta.setRangeText('Name three lakes.', ta.selectionStart, ta.selectionEnd, 'end');
    ta.dispatchEvent(new Event('input', { bubbles: true }));
    await microtasks();
    (el.querySelector('.msg-editor .btn-primary') as HTMLButtonElement).click();
    expect(edits).toEqual(['Name three lakes.']);
  });
});
