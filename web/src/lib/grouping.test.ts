import { describe, expect, it } from 'vitest';
import type { Conversation } from '../api/types';
import { groupConversations, groupOf } from './grouping';

const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const secs = (ms: number) => Math.floor(ms / 1000);
const conv = (id: string, updatedMs: number): Conversation => ({
  id,
  object: 'conversation',
  title: id,
  created_at: secs(updatedMs),
  updated_at: secs(updatedMs),
  archived: false,
  current_leaf_id: null,
  message_count: 0,
});

describe('groupOf', () => {
  const now = at(2026, 3, 10, 9, 30);
  it('uses local calendar days', () => {
    expect(groupOf(secs(at(2026, 3, 10, 0, 0)), now)).toBe('Today');
    expect(groupOf(secs(at(2026, 3, 9, 23, 59)), now)).toBe('Yesterday');
    expect(groupOf(secs(at(2026, 3, 9, 0, 0)), now)).toBe('Yesterday');
    expect(groupOf(secs(at(2026, 3, 8, 23, 0)), now)).toBe('Previous 7 days');
    expect(groupOf(secs(at(2026, 3, 3, 0, 0)), now)).toBe('Previous 7 days');
    expect(groupOf(secs(at(2026, 3, 2, 23, 0)), now)).toBe('Older');
    expect(groupOf(secs(at(2025, 1, 1)), now)).toBe('Older');
  });
  it('puts a time in the future (clock skew) under Today', () => {
    expect(groupOf(secs(now + 3_600_000), now)).toBe('Today');
  });
});

describe('groupConversations', () => {
  it('keeps the newest-first order inside groups, groups in date order', () => {
    const now = at(2026, 3, 10, 18);
    const items = [conv('t2', at(2026, 3, 10, 17)), conv('t1', at(2026, 3, 10, 8)), conv('y', at(2026, 3, 9)), conv('w', at(2026, 3, 5)), conv('o', at(2026, 1, 1))];
    const groups = groupConversations(items, now);
    expect(groups.map((g) => [g.name, g.items.map((c) => c.id)])).toEqual([
      ['Today', ['t2', 't1']],
      ['Yesterday', ['y']],
      ['Previous 7 days', ['w']],
      ['Older', ['o']],
    ]);
  });
  it('gives no groups for no conversations', () => {
    expect(groupConversations([], Date.now())).toEqual([]);
  });
});
