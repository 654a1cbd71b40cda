import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/http';
import { describeError, describeStreamError, formatWait } from './errors';

const api = (status: number, code: string | null, retryAfter: number | null = null, message = 'server says') =>
  new ApiError(status, message, { code, retryAfter });

describe('describeError', () => {
  it('rate limits say when to retry, from Retry-After', () => {
    const e = describeError(api(429, 'rate_limit_exceeded', 12));
    expect(e.kind).toBe('rate_limit');
    expect(e.message).toContain('retry in 12 s');
    expect(e.retryAfter).toBe(12);
  });

  it('a spent quota says when it resets', () => {
    const e = describeError(api(429, 'insufficient_quota', 7200));
    expect(e.kind).toBe('quota');
    expect(e.message).toMatch(/quota is spent/);
    expect(e.message).toContain('2 h');
  });

  it('a suspension says until when in the server\'s words, for rate abuse (429) too', () => {
    const until = 'Too many requests: suspended until 2026-12-06T10:58:39Z (UTC).';
    const rate = describeError(api(429, 'suspended', 3000, until));
    expect(rate.kind).toBe('suspended');
    expect(rate.message).toBe(until);
    const policy = describeError(api(403, 'suspended', null, 'This account is suspended until 2026-12-06T10:58:39Z (UTC).'));
    expect(policy.kind).toBe('suspended');
    expect(policy.message).toContain('suspended until');
  });

  it('a full queue (429 without a known code) and 503 are "busy"', () => {
    expect(describeError(api(429, null, 2)).kind).toBe('busy');
    expect(describeError(api(429, null, 2)).message).toContain('retry in 2 s');
    const e = describeError(api(503, 'overloaded', 5));
    expect(e.kind).toBe('busy');
    expect(e.message).toContain('5 s');
  });

  it('network failures and cut streams are "network"', () => {
    expect(describeError(api(0, 'network_error')).kind).toBe('network');
    expect(describeError(api(0, 'stream_ended')).message).toMatch(/lost/);
    expect(describeError(api(502, null)).kind).toBe('network');
  });

  it('other statuses map to what a user can do', () => {
    expect(describeError(api(401, 'not_authenticated')).kind).toBe('auth');
    expect(describeError(api(403, 'csrf_failed')).message).toMatch(/reload/);
    expect(describeError(api(404, 'conversation_not_found')).kind).toBe('not_found');
    expect(describeError(api(400, 'context_length_exceeded')).message).toMatch(/too long/);
    expect(describeError(api(400, 'bad', null, 'title is too long')).message).toBe('title is too long');
    expect(describeError(api(500, null, null, 'boom')).message).toBe('The server failed: boom');
    expect(describeError(new Error('plain')).message).toBe('plain');
  });

  it('stream error events become messages too', () => {
    expect(describeStreamError({ message: 'engine failed', type: 'server_error' }).kind).toBe('server');
    expect(describeStreamError({ message: 'queue', type: 'rate_limit_error' }).kind).toBe('busy');
  });
});

describe('formatWait', () => {
  it('rounds up to the unit people use', () => {
    expect(formatWait(0.2)).toBe('1 s');
    expect(formatWait(89)).toBe('89 s');
    expect(formatWait(91)).toBe('2 min');
    expect(formatWait(3 * 3600)).toBe('3 h');
    expect(formatWait(5 * 86400)).toBe('5 days');
  });
});
