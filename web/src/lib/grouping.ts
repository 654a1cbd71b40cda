// Groups conversations by when they were last updated, in the reader's local time.
import type { Conversation } from '../api/types';

export type GroupName = 'Today' | 'Yesterday' | 'Previous 7 days' | 'Older';

export interface Group {
  name: GroupName;
  items: Conversation[];
}

const DAY_MS = 86_400_000;

function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The group of a time stamp (Unix seconds) seen at `now` (milliseconds). */
export function groupOf(updatedAt: number, now: number): GroupName {
  const today = startOfDay(now);
  const t = updatedAt * 1000;
  if (t >= today) return 'Today';
  // Calendar days, not 24-hour spans (daylight saving days have 23 or 25 hours).
  const yesterday = startOfDay(today - DAY_MS / 2);
  if (t >= yesterday) return 'Yesterday';
  const week = startOfDay(today - 7 * DAY_MS + DAY_MS / 2);
  if (t >= week) return 'Previous 7 days';
  return 'Older';
}

/** Groups in display order; the items keep their order (the API's: newest first). */
export function groupConversations(items: readonly Conversation[], now: number = Date.now()): Group[] {
  const groups: Group[] = [];
  for (const c of items) {
    const name = groupOf(c.updated_at, now);
    const last = groups[groups.length - 1];
    if (last && last.name === name) last.items.push(c);
    else {
      const existing = groups.find((g) => g.name === name);
      if (existing) existing.items.push(c);
      else groups.push({ name, items: [c] });
    }
  }
  const order: GroupName[] = ['Today', 'Yesterday', 'Previous 7 days', 'Older'];
  return groups.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}
