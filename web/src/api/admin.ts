// /api/admin: users, usage and moderation (admins only).
import { query, request } from './http';
import type { ModerationEvent, Page, Role, Suspension, User, UsageRow, UserUsageRow } from './types';

const base = '/api/admin';

export function listUsers(p: { search?: string; limit?: number; offset?: number }): Promise<Page<User>> {
  return request(`${base}/users${query(p)}`);
}

export function createUser(body: { email: string; password: string; display_name?: string; role?: Role }): Promise<User> {
  return request(`${base}/users`, { method: 'POST', body });
}

export function updateUser(id: string, body: { display_name?: string; role?: Role; disabled?: boolean }): Promise<User> {
  return request(`${base}/users/${encodeURIComponent(id)}`, { method: 'PATCH', body });
}

export function resetPassword(id: string, password: string): Promise<User> {
  return request(`${base}/users/${encodeURIComponent(id)}/password`, { method: 'POST', body: { password } });
}

export function userUsage(id: string, p: { from?: number; to?: number } = {}): Promise<{ user: User; from: number; to: number; by_model: UsageRow[] }> {
  return request(`${base}/users/${encodeURIComponent(id)}/usage${query(p)}`);
}

export function usageByUser(p: { from?: number; to?: number } = {}): Promise<{ by_user: UserUsageRow[] }> {
  return request(`${base}/usage${query(p)}`);
}

/** Filters of the moderation audit log; from/to are Unix seconds (from <= at < to). */
export interface EventFilter {
  user_id?: string;
  address?: string;
  rule?: string;
  action?: string;
  stage?: string;
  from?: number;
  to?: number;
}

export function moderationEvents(p: EventFilter & { limit?: number; offset?: number }): Promise<Page<ModerationEvent>> {
  return request(`${base}/moderation/events${query({ ...p })}`);
}

export function suspensions(p: { subject?: string; active?: boolean; limit?: number; offset?: number }): Promise<Page<Suspension>> {
  return request(`${base}/moderation/suspensions${query({ ...p, active: p.active ? true : undefined })}`);
}

export function liftSuspension(subject: string): Promise<{ subject: string; lifted: boolean }> {
  return request(`${base}/moderation/suspensions/lift`, { method: 'POST', body: { subject } });
}
