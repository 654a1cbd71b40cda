// The one place that talks HTTP: JSON bodies, the CSRF header, errors as ApiError.
import type { ErrorBody } from './types';

/** An answer with an error status, or a request that never got one (status 0: network). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly type: string | null;
  readonly param: string | null;
  /** Seconds from Retry-After, when the server sent it. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    message: string,
    opts: { code?: string | null; type?: string | null; param?: string | null; retryAfter?: number | null } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = opts.code ?? null;
    this.type = opts.type ?? null;
    this.param = opts.param ?? null;
    this.retryAfter = opts.retryAfter ?? null;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** The session's CSRF token (from log-in, sign-up or /api/auth/me); null in local mode. */
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** Called when an authenticated request answers 401 (the session ended elsewhere). */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/** Retry-After is seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Turns a non-2xx response into an ApiError, reading its OpenAI-style body when it has one. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> | null = null;
  try {
    const text = await res.text();
    body = text ? (JSON.parse(text) as Partial<ErrorBody>) : null;
  } catch {
    body = null;
  }
  const e = body?.error;
  return new ApiError(res.status, e?.message || res.statusText || `HTTP ${res.status}`, {
    code: e?.code ?? null,
    type: e?.type ?? null,
    param: e?.param ?? null,
    retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
  });
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Do not call the unauthorized handler on 401 (sign-in itself, the first /me). */
  quiet401?: boolean;
}

/** fetch with JSON, credentials and CSRF; resolves to the Response when it is 2xx. */
export async function send(path: string, opts: RequestOptions = {}): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network error', { code: 'network_error' });
  }
  if (!res.ok) {
    const error = await errorFromResponse(res);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw error;
  }
  return res;
}

/** A JSON request; 204 resolves to undefined. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Builds a query string from the defined values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
