// What a failed request means to a user: one sentence, and when to try again.
import { ApiError } from '../api/http';

export type ErrorKind = 'network' | 'rate_limit' | 'quota' | 'busy' | 'auth' | 'suspended' | 'not_found' | 'invalid' | 'server' | 'other';

export interface UserError {
  kind: ErrorKind;
  message: string;
  /** Seconds until a retry may work (Retry-After), when known. */
  retryAfter: number | null;
}

/** "12 s", "3 min", "2 h": a wait as people say it (rounded up). */
export function formatWait(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.ceil(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.ceil(seconds / 3600)} h`;
  return `${Math.ceil(seconds / 86400)} days`;
}

function retryText(seconds: number | null, prefix = 'retry in'): string {
  return seconds === null ? '' : ` ${prefix} ${formatWait(seconds)}.`;
}

export function describeError(err: unknown): UserError {
  if (!(err instanceof ApiError)) {
    const message = err instanceof Error && err.message ? err.message : 'Something went wrong.';
    return { kind: 'other', message, retryAfter: null };
  }
  const { status, code, retryAfter } = err;
  if (status === 0) {
    const message =
      code === 'stream_ended'
        ? 'The connection to the server was lost before the reply finished.'
        : 'Cannot reach the server: the network is down or the server stopped.';
    return { kind: 'network', message, retryAfter: null };
  }
  // A suspension for repeated violations (403, or 429 for rate abuse): the server's message says
  // until when; retrying sooner does not help.
  if (code === 'suspended') return { kind: 'suspended', message: err.message, retryAfter };
  if (status === 429) {
    if (code === 'insufficient_quota') {
      return { kind: 'quota', message: `Your usage quota is spent.${retryText(retryAfter, 'It resets in')}`, retryAfter };
    }
    if (code === 'rate_limit_exceeded') {
      return { kind: 'rate_limit', message: `Rate limit reached:${retryText(retryAfter) || ' retry later.'}`, retryAfter };
    }
    return { kind: 'busy', message: `The server is busy (its queue is full):${retryText(retryAfter) || ' retry shortly.'}`, retryAfter };
  }
  if (status === 503) {
    return { kind: 'busy', message: `The server is overloaded:${retryText(retryAfter) || ' retry shortly.'}`, retryAfter };
  }
  if (status === 502 || status === 504) {
    return { kind: 'network', message: 'The server is not answering (it may be restarting).', retryAfter };
  }
  if (status === 401) return { kind: 'auth', message: 'Your session has ended: sign in again.', retryAfter: null };
  if (status === 403 && code === 'csrf_failed') {
    return { kind: 'auth', message: 'Your session token is out of date: reload the page.', retryAfter: null };
  }
  if (status === 404) return { kind: 'not_found', message: err.message || 'Not found.', retryAfter: null };
  if (status === 413) return { kind: 'invalid', message: 'That is too large for the server to accept.', retryAfter: null };
  if (code === 'context_length_exceeded') {
    return {
      kind: 'invalid',
      message: 'The conversation is too long for the model: edit an earlier message to branch off with less context.',
      retryAfter: null,
    };
  }
  if (status >= 500) return { kind: 'server', message: `The server failed: ${err.message}`, retryAfter };
  return { kind: status >= 400 && status < 500 ? 'invalid' : 'other', message: err.message, retryAfter: null };
}

/** An error event inside a reply stream (the generation failed after it started). */
export function describeStreamError(error: { message: string; code?: string | null; type?: string | null }): UserError {
  return describeError(new ApiError(error.type === 'rate_limit_error' ? 429 : 500, error.message, { code: error.code ?? null }));
}
