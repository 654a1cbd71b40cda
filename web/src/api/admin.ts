// /api/admin: users and usage (admins only).
import { query, request } from './http';
import type { Page, Role, User, UsageRow, UserUsageRow } from './types';

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
