// /api/auth, /api/keys, /api/usage, /api/models: the signed-in user's own things.
import { query, request } from './http';
import type { ApiKey, AuthOptions, Me, ModelInfo, Scope, SessionAnswer, UsageAnswer } from './types';

export function authOptions(): Promise<AuthOptions> {
  return request('/api/auth/options', { quiet401: true });
}

export function me(): Promise<Me> {
  return request('/api/auth/me', { quiet401: true });
}

export function login(email: string, password: string): Promise<SessionAnswer> {
  return request('/api/auth/login', { method: 'POST', body: { email, password }, quiet401: true });
}

export function signup(email: string, password: string, display_name?: string): Promise<SessionAnswer> {
  const body: Record<string, string> = { email, password };
  if (display_name) body.display_name = display_name;
  return request('/api/auth/signup', { method: 'POST', body, quiet401: true });
}

export function logout(): Promise<void> {
  return request('/api/auth/logout', { method: 'POST', quiet401: true });
}

export function listModels(): Promise<{ object: 'list'; data: ModelInfo[] }> {
  return request('/api/models');
}

export function listOpenAiModels(): Promise<{ object: 'list'; data: ModelInfo[] }> {
  return request('/v1/models', { quiet401: true });
}

export function listKeys(): Promise<{ data: ApiKey[] }> {
  return request('/api/keys');
}

export function createKey(body: { name?: string; scopes?: Scope[]; expires_in_days?: number }): Promise<ApiKey> {
  return request('/api/keys', { method: 'POST', body });
}

export function revokeKey(id: string): Promise<ApiKey> {
  return request(`/api/keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function ownUsage(p: { from?: number; to?: number; group_by?: 'day' } = {}): Promise<UsageAnswer> {
  return request('/api/usage' + query(p));
}
