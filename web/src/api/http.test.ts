import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRetryAfter, query, request, setCsrfToken } from './http';

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('request', () => {
  it('sends JSON with the CSRF token on state-changing requests only', async () => {
    const calls: { method: string; headers: Record<string, string>; body?: string }[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_url: string, init: RequestInit) => {
        calls.push({ method: init.method!, headers: init.headers as Record<string, string>, body: init.body as string | undefined });
        return new Response('{"ok":true}', { status: 200 });
      }),
    );
    setCsrfToken('tok123');
    await request('/api/a');
    await request('/api/a', { method: 'PATCH', body: { title: 't' } });
    expect(calls[0]!.headers['X-CSRF-Token']).toBeUndefined();
    expect(calls[1]!.headers['X-CSRF-Token']).toBe('tok123');
    expect(calls[1]!.headers['Content-Type']).toBe('application/json');
    expect(calls[1]!.body).toBe('{"title":"t"}');
  });

  it('resolves 204 to undefined', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
    await expect(request('/api/x', { method: 'DELETE' })).resolves.toBeUndefined();
  });

  it('turns an OpenAI error body into ApiError fields', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{"error":{"message":"nope","type":"invalid_request_error","param":"title","code":"bad"}}', { status: 400 })),
    );
    await expect(request('/api/x')).rejects.toMatchObject({ status: 400, message: 'nope', param: 'title', code: 'bad' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90);
  });
});

describe('query', () => {
  it('skips empty values and encodes the rest', () => {
    expect(query({ limit: 50, offset: 0, q: '', x: undefined, s: 'a b&c' })).toBe('?limit=50&offset=0&s=a+b%26c');
    expect(query({})).toBe('');
  });
});
