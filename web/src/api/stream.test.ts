import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './http';
import { streamReply } from './stream';
import type { ReplyEvent } from './types';

function sseResponse(text: string, split = 7): Response {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += split) c.enqueue(bytes.slice(i, i + split));
      c.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

afterEach(() => vi.unstubAllGlobals());

describe('streamReply', () => {
  it('delivers message, deltas and done in order', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        sseResponse(
          'event: message\ndata: {"conversation_id":"cnv_1","message":{"id":"msg_u","role":"user"}}\n\n' +
            'event: delta\ndata: {"content":"Hel"}\n\n' +
            'event: delta\ndata: {"content":"lo"}\n\n' +
            'event: done\ndata: {"message":{"id":"msg_a","content":"Hello"},"conversation":{"id":"cnv_1"}}\n\n',
        ),
      ),
    );
    const events: ReplyEvent[] = [];
    await streamReply('/api/conversations/cnv_1/messages', { content: 'hi' }, (e) => events.push(e));
    expect(events.map((e) => e.type)).toEqual(['message', 'delta', 'delta', 'done']);
    expect(events.filter((e) => e.type === 'delta').map((e) => (e as { content: string }).content).join('')).toBe('Hello');
  });

  it('rejects with the JSON error of a refused request, with Retry-After', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } }), {
            status: 429,
            headers: { 'Retry-After': '12', 'Content-Type': 'application/json' },
          }),
      ),
    );
    const err = await streamReply('/x', {}, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', retryAfter: 12 });
  });

  it('rejects as a network error when the stream ends before done or error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => sseResponse('event: delta\ndata: {"content":"Hel"}\n\n')));
    const events: ReplyEvent[] = [];
    const err = await streamReply('/x', {}, (e) => events.push(e)).catch((e: unknown) => e);
    expect(events).toHaveLength(1);
    expect(err).toMatchObject({ status: 0, code: 'stream_ended' });
  });

  it('resolves after an error event (the stream ended properly)', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => sseResponse('event: error\ndata: {"error":{"message":"engine failed","type":"server_error"}}\n\n')),
    );
    const events: ReplyEvent[] = [];
    await streamReply('/x', {}, (e) => events.push(e));
    expect(events).toEqual([{ type: 'error', error: { message: 'engine failed', type: 'server_error' } }]);
  });

  it('rejects as a network error when fetch itself fails', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(streamReply('/x', {}, () => undefined)).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });
});
