import { describe, expect, it } from 'vitest';
import { filenameFrom } from '../api/conversations';
import { provisionalTitle } from './reply';
import { parseRoute } from './router';

describe('parseRoute', () => {
  it('maps the UI paths', () => {
    expect(parseRoute('/')).toEqual({ name: 'chat', id: null });
    expect(parseRoute('/c/cnv_1')).toEqual({ name: 'chat', id: 'cnv_1' });
    expect(parseRoute('/share/abc-_9')).toEqual({ name: 'share', token: 'abc-_9' });
    expect(parseRoute('/settings')).toEqual({ name: 'settings' });
    expect(parseRoute('/admin/')).toEqual({ name: 'admin' });
    expect(parseRoute('/login')).toEqual({ name: 'login' });
    expect(parseRoute('/nowhere')).toEqual({ name: 'chat', id: null });
    expect(parseRoute('/c/%E2%9C%93')).toEqual({ name: 'chat', id: '✓' });
    expect(parseRoute('/c/%')).toEqual({ name: 'chat', id: '%' });
  });
});

describe('filenameFrom', () => {
  it('reads Content-Disposition, RFC 5987 names first', () => {
    expect(filenameFrom('attachment; filename="Plan a trip.md"', 'markdown')).toBe('Plan a trip.md');
    expect(filenameFrom("attachment; filename=\"x.json\"; filename*=UTF-8''Caf%C3%A9.json", 'json')).toBe('Café.json');
    expect(filenameFrom('attachment; filename=plain.md', 'markdown')).toBe('plain.md');
    expect(filenameFrom(null, 'json')).toBe('conversation.json');
    expect(filenameFrom('attachment', 'markdown')).toBe('conversation.md');
  });
});

describe('provisionalTitle', () => {
  it('is the first line, trimmed, cut at 60 characters with an ellipsis', () => {
    expect(provisionalTitle('  Plan a trip\nwith details')).toBe('Plan a trip');
    expect(provisionalTitle('x'.repeat(61))).toBe(`${'x'.repeat(60)}…`);
    expect(provisionalTitle('é'.repeat(60))).toBe('é'.repeat(60));
  });
});
