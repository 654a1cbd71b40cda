// The note under an assistant message says why it ended, a filtered reply included.
import { describe, expect, it } from 'vitest';
import type { Message as Msg } from '../api/types';
import { finishNote } from './Message';

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
