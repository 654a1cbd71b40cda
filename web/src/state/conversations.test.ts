// Deleting with undo: the deletion is pending from the click, so a page closed while the archive
// request is still in flight sends it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Conversation } from '../api/types';
import { conversations, deleteWithUndo, flushPendingDeletes } from './conversations';

const conv = { id: 'cnv_1', object: 'conversation', title: 'Doomed', created_at: 1, updated_at: 1, archived: false, current_leaf_id: null, message_count: 2 } as unknown as Conversation;

afterEach(() => {
  vi.unstubAllGlobals();
  conversations.value = [];
});

describe('deleteWithUndo', () => {
  it('sends the deletion when the page is closed before the archive request answered', async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string, init: RequestInit = {}) => {
        calls.push(`${init.method ?? 'GET'} ${url}${init.keepalive ? ' keepalive' : ''}`);
        return new Promise<Response>(() => undefined); // no answer yet
      }),
    );
    conversations.value = [conv];
    void deleteWithUndo(conv);
    expect(conversations.value).toEqual([]);
    flushPendingDeletes('csrf');
    expect(calls).toContain('PATCH /api/conversations/cnv_1');
    expect(calls).toContain('DELETE /api/conversations/cnv_1 keepalive');
  });

  it('keeps the conversation, and sends nothing on close, when archiving it fails', async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit = {}) => {
        calls.push(`${init.method ?? 'GET'} ${url}`);
        return new Response(JSON.stringify({ error: { message: 'down', type: 'server_error' } }), {
          status: 503,
          headers: { 'Content-Type': 'application/json' },
        });
      }),
    );
    conversations.value = [conv];
    await deleteWithUndo(conv);
    expect(conversations.value.map((c) => c.id)).toEqual(['cnv_1']);
    flushPendingDeletes('csrf');
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });
});
