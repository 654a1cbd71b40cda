// The note under an assistant message says why it ended, a filtered reply included.
import { describe, expect, it } from 'vitest';
import type { Message as Msg } from '../api/types';
import { render } from 'preact';
import { Message, finishNote, isInterrupted } from './Message';

const reply = (finish_reason: Msg['finish_reason']): Msg =>
  ({ id: 'm1', role: 'assistant', content: 'Here is the ', finish_reason }) as Msg;

describe('finishNote', () => {
  it('marks a reply stopped by the content policy', () => {
    expect(finishNote(reply('content_filter'))).toBe("The reply was stopped by this server's content policy.");
  });
  it('says nothing for a reply that ended normally', () => {
    expect(finishNote(reply('stop'))).toBeNull();
  });
});

describe('an interrupted reply', () => {
  const cut = (over: Partial<Msg>): Msg =>
    ({ id: 'm2', role: 'assistant', content: 'Half of the', finish_reason: 'cancelled', status: 'interrupted', ...over }) as Msg;

  it('says so, whatever its finish reason, with the error when there is one', () => {
    expect(finishNote(cut({}))).toBe('The reply was interrupted before it finished.');
    expect(finishNote(cut({ finish_reason: 'error', error: 'the worker went away' }))).toBe(
      'The reply was interrupted: the worker went away',
    );
    expect(isInterrupted(cut({}))).toBe(true);
    expect(isInterrupted(cut({ status: 'complete', finish_reason: 'stop' }))).toBe(false);
  });

  it('shows its text, the note and a Retry that regenerates it', async () => {
    const root = document.createElement('div');
    document.body.append(root);
    const asked: string[] = [];
    render(
      <Message
        message={cut({})}
        versions={{ index: 1, count: 1, prev: null, next: null }}
        busy={false}
        eager
        onSwitch={() => {}}
        onEdit={() => {}}
        onRegenerate={(id) => asked.push(id)}
      />,
      root,
    );
    await Promise.resolve();
    const note = root.querySelector('.finish-note.interrupted');
    expect(note?.textContent).toContain('The reply was interrupted before it finished.');
    expect(root.textContent).toContain('Half of the');
    const retry = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Retry');
    expect(retry).toBeDefined();
    retry!.click();
    expect(asked).toEqual(['m2']);
    render(null, root);
    root.remove();
  });
});
