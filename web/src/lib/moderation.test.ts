import { describe, expect, it } from 'vitest';
import type { Suspension } from '../api/types';
import { describeSubject, emptyEventForm, eventFilter, suspensionState } from './moderation';

describe('eventFilter', () => {
  it('leaves out empty fields and trims the others', () => {
    expect(eventFilter({ ...emptyEventForm, rule: '  secrets-in ', address: ' ' })).toEqual({ rule: 'secrets-in' });
  });
  it('turns local date-times into Unix seconds', () => {
    const f = eventFilter({ ...emptyEventForm, from: '2026-12-06T10:00', to: '2026-12-06T11:30' });
    expect(f.from).toBe(Math.floor(new Date('2026-12-06T10:00').getTime() / 1000));
    expect(f.to! - f.from!).toBe(90 * 60);
  });
  it('ignores a date-time it cannot read', () => {
    expect(eventFilter({ ...emptyEventForm, from: 'not a date' })).toEqual({});
  });
});

describe('describeSubject', () => {
  it('tells accounts from addresses', () => {
    expect(describeSubject('user:usr_7041')).toEqual({ kind: 'Account', id: 'usr_7041' });
    expect(describeSubject('addr:2001:db8::1')).toEqual({ kind: 'Address', id: '2001:db8::1' });
  });
});

describe('suspensionState', () => {
  const s = { active: false, lifted_at: null } as Suspension;
  it('is lifted, active or ended', () => {
    expect(suspensionState({ ...s, lifted_at: 5 })).toBe('lifted');
    expect(suspensionState({ ...s, active: true })).toBe('active');
    expect(suspensionState(s)).toBe('ended');
  });
});
