// The draft is never lost: a send that the server refused keeps the text; a saved one clears it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NEW_CHAT, drafts } from '../lib/drafts';
import { composerRestore, sendMessage, streams } from './reply';
import { conversations } from './conversations';
import { conversation, leafId, openConversation, path, replyError } from './thread';

const conv = { id: 'cnv_1', object: 'conversation', title: '', created_at: 1, updated_at: 1, archived: false, current_leaf_id: null, message_count: 0 };
const userMsg = { id: 'msg_u', object: 'conversation.message', parent_id: null, role: 'user', content: 'hello there', model: null, created_at: 2 };
const asstMsg = { id: 'msg_a', object: 'conversation.message', parent_id: 'msg_u', role: 'assistant', content: 'Hi!', model: 'm', created_at: 3, finish_reason: 'stop' };

function json(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function sse(events: [string, unknown][]) {
  return new Response(events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join(''), {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream' },
  });
}

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function serve(routes: Record<string, Handler>) {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const key = `${init.method ?? 'GET'} ${url.split('?')[0]}`;
      calls.push(key);
      const h = routes[key];
      return h ? h(url, init) : json({ error: { message: `no route ${key}` } }, 404);
    }),
  );
  return calls;
}

beforeEach(async () => {
  localStorage.clear();
  await openConversation(null);
  replyError.value = null;
  composerRestore.value = null;
});
afterEach(() => vi.unstubAllGlobals());

describe('sending from a new chat', () => {
  it('clears the draft once the server saved the message, and shows the reply', async () => {
    drafts.save(NEW_CHAT, 'hello there');
    serve({
      'POST /api/conversations': () => json(conv, 201),
      'POST /api/conversations/cnv_1/messages': () =>
        sse([
          ['message', { conversation_id: 'cnv_1', message: userMsg }],
          ['delta', { content: 'Hi!' }],
          ['done', { message: asstMsg, conversation: { ...conv, title: 'hello there', current_leaf_id: 'msg_a' } }],
        ]),
    });
    await sendMessage('hello there');
    expect(drafts.load(NEW_CHAT)).toBe('');
    expect(drafts.load('cnv_1')).toBe('');
    expect(conversation.value?.title).toBe('hello there');
    expect(leafId.value).toBe('msg_a');
    expect(path.value.map((m) => m.id)).toEqual(['msg_u', 'msg_a']);
    expect(streams.value).toEqual({});
    expect(location.pathname).toBe('/c/cnv_1');
  });

  it('keeps the text when the server refused it (rate limit), says when to retry and leaves no empty chat', async () => {
    drafts.save(NEW_CHAT, 'hello there');
    const calls = serve({
      'POST /api/conversations': () => json(conv, 201),
      'POST /api/conversations/cnv_1/messages': () =>
        json({ error: { message: 'limit', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, 429, { 'Retry-After': '20' }),
      'GET /api/conversations/cnv_1': () => json({ conversation: conv, current_leaf_id: null, messages: [] }),
      'DELETE /api/conversations/cnv_1': () => new Response(null, { status: 204 }),
    });
    await sendMessage('hello there');
    expect(calls).toContain('DELETE /api/conversations/cnv_1');
    expect(conversations.value.map((c) => c.id)).not.toContain('cnv_1');
    expect(conversation.value).toBeNull();
    expect(location.pathname).toBe('/');
    expect(drafts.load(NEW_CHAT)).toBe('hello there');
    expect(composerRestore.value).toEqual({ key: NEW_CHAT, text: 'hello there' });
    expect(replyError.value?.conversationId).toBeNull();
    expect(replyError.value?.error.kind).toBe('rate_limit');
    expect(replyError.value?.error.message).toContain('20 s');
  });

  it('keeps the new chat when the refused message was saved after all', async () => {
    const calls = serve({
      'POST /api/conversations': () => json(conv, 201),
      'POST /api/conversations/cnv_1/messages': () => json({ error: { message: 'queue full', type: 'rate_limit_error' } }, 429, { 'Retry-After': '3' }),
      'GET /api/conversations/cnv_1': () =>
        json({ conversation: { ...conv, current_leaf_id: 'msg_u' }, current_leaf_id: 'msg_u', messages: [{ ...userMsg, children: [] }] }),
    });
    await sendMessage('hello there');
    expect(calls).not.toContain('DELETE /api/conversations/cnv_1');
    expect(conversation.value?.id).toBe('cnv_1');
    expect(location.pathname).toBe('/c/cnv_1');
    expect(replyError.value?.retryOn).toBe('msg_u');
  });

  it('keeps the new chat and the text in it when the server cannot say whether it is empty', async () => {
    const calls = serve({
      'POST /api/conversations': () => json(conv, 201),
      'POST /api/conversations/cnv_1/messages': () => json({ error: { message: 'down', type: 'server_error' } }, 503),
      'GET /api/conversations/cnv_1': () => json({ error: { message: 'down', type: 'server_error' } }, 503),
    });
    await sendMessage('hello there');
    expect(calls).not.toContain('DELETE /api/conversations/cnv_1');
    expect(conversation.value?.id).toBe('cnv_1');
    expect(composerRestore.value).toEqual({ key: 'cnv_1', text: 'hello there' });
  });

  it('keeps the text when the network is down', async () => {
    drafts.save(NEW_CHAT, 'offline words');
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await sendMessage('offline words');
    expect(drafts.load(NEW_CHAT)).toBe('offline words');
    expect(composerRestore.value).toEqual({ key: NEW_CHAT, text: 'offline words' });
    expect(replyError.value?.error.kind).toBe('network');
  });
});

describe('sending in an open conversation', () => {
  it('does not give the text back when the message was saved but the queue was full; offers a retry', async () => {
    serve({
      'GET /api/conversations/cnv_1': () => json({ conversation: { ...conv, current_leaf_id: 'msg_u' }, current_leaf_id: 'msg_u', messages: [{ ...userMsg, children: [] }] }),
    });
    await openConversation('cnv_1');
    // The first GET was before the send; the one after it finds the saved user message.
    let gets = 0;
    serve({
      'POST /api/conversations/cnv_1/messages': () => json({ error: { message: 'queue full', type: 'rate_limit_error' } }, 429, { 'Retry-After': '3' }),
      'GET /api/conversations/cnv_1': () => {
        gets++;
        return json({ conversation: { ...conv, current_leaf_id: 'msg_u2' }, current_leaf_id: 'msg_u2', messages: [{ ...userMsg, children: ['msg_u2'] }, { ...userMsg, id: 'msg_u2', parent_id: 'msg_u', content: 'again', children: [] }] });
      },
    });
    drafts.save('cnv_1', 'again');
    await sendMessage('again');
    expect(gets).toBe(1);
    expect(drafts.load('cnv_1')).toBe('');
    expect(composerRestore.value).toBeNull();
    expect(replyError.value?.error.kind).toBe('busy');
    expect(replyError.value?.retryOn).toBe('msg_u2');
  });

  it('keeps what was streamed when the connection drops mid-reply', async () => {
    serve({ 'GET /api/conversations/cnv_1': () => json({ conversation: conv, current_leaf_id: null, messages: [] }) });
    await openConversation('cnv_1');
    serve({
      'POST /api/conversations/cnv_1/messages': () =>
        sse([
          ['message', { conversation_id: 'cnv_1', message: userMsg }],
          ['delta', { content: 'partial' }],
        ]),
      'GET /api/conversations/cnv_1': () =>
        json({
          conversation: conv,
          current_leaf_id: 'msg_a',
          messages: [{ ...userMsg, children: ['msg_a'] }, { ...asstMsg, content: 'partial', finish_reason: 'cancelled', children: [] }],
        }),
    });
    drafts.save('cnv_1', 'hello there');
    await sendMessage('hello there');
    expect(drafts.load('cnv_1')).toBe('');
    expect(replyError.value?.error.kind).toBe('network');
    expect(path.value.map((m) => m.content)).toEqual(['hello there', 'partial']);
  });
});
