// The admin page's moderation filters and labels, apart from the components (unit-tested).
import type { EventFilter } from '../api/admin';
import type { Suspension } from '../api/types';

/** The filter form as typed: free text, and local date-times from <input type="datetime-local">. */
export interface EventForm {
  user_id: string;
  address: string;
  rule: string;
  action: string;
  stage: string;
  from: string;
  to: string;
}

export const emptyEventForm: EventForm = { user_id: '', address: '', rule: '', action: '', stage: '', from: '', to: '' };

/** Actions of the audit log: rule actions first, then the violation kinds. */
export const eventActions = ['flag', 'redact', 'block', 'rate_limited', 'quota_exceeded', 'failed_login', 'malformed_request'];

function unixSeconds(local: string): number | undefined {
  if (!local) return undefined;
  const ms = new Date(local).getTime();
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** The API's filter for a form: trimmed, empty fields left out, times as Unix seconds. */
export function eventFilter(f: EventForm): EventFilter {
  const out: EventFilter = {};
  for (const k of ['user_id', 'address', 'rule', 'action', 'stage'] as const) {
    const v = f[k].trim();
    if (v) out[k] = v;
  }
  const from = unixSeconds(f.from);
  const to = unixSeconds(f.to);
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  return out;
}

/** "user:usr_1" -> { kind: 'Account', id: 'usr_1' }; "addr:10.0.0.1" -> { kind: 'Address', ... }. */
export function describeSubject(subject: string): { kind: string; id: string } {
  if (subject.startsWith('user:')) return { kind: 'Account', id: subject.slice(5) };
  if (subject.startsWith('addr:')) return { kind: 'Address', id: subject.slice(5) };
  return { kind: 'Subject', id: subject };
}

/** What a suspension's status cell says. */
export function suspensionState(s: Suspension): 'active' | 'lifted' | 'ended' {
  if (s.lifted_at) return 'lifted';
  return s.active ? 'active' : 'ended';
}
