// Wire shapes of Parley's API (docs/api.md and the web UI contract). Times are Unix seconds,
// ids opaque strings. Only what the UI reads is typed; unknown fields are ignored.

export type Role = 'user' | 'admin';
export type Scope = 'chat' | 'models' | 'admin';

export interface User {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  disabled: boolean;
  created_at: number;
}

export interface AuthOptions {
  auth_mode: 'none' | 'required';
  signup: boolean;
}

export interface Me {
  user: User;
  auth_mode: 'none' | 'required';
  via: 'local' | 'session' | 'api_key' | string;
  scopes: Scope[];
  csrf_token?: string;
}

export interface SessionAnswer {
  user: User;
  csrf_token: string;
}

export interface Usage {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_micros: number;
  cost: number;
}

export interface ConversationSettings {
  system_prompt?: string;
  temperature?: number;
  max_tokens?: number;
  model?: string;
}

/** A settings change: null clears a field, an absent field is unchanged. */
export type SettingsPatch = { [K in keyof ConversationSettings]?: ConversationSettings[K] | null };

export interface Conversation {
  id: string;
  object: 'conversation';
  title: string;
  created_at: number;
  updated_at: number;
  archived: boolean;
  current_leaf_id: string | null;
  message_count: number;
  model?: string | null;
  settings?: ConversationSettings;
  usage?: Usage;
}

export type MessageRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';
export type FinishReason = 'stop' | 'length' | 'stopped' | 'cancelled' | 'error' | 'content_filter';

export interface Message {
  id: string;
  object: 'conversation.message';
  parent_id: string | null;
  role: MessageRole;
  content: string;
  model: string | null;
  created_at: number;
  finish_reason?: FinishReason;
  error?: string;
  /** A reasoning model's thinking before the answer (assistant messages). */
  reasoning?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  children?: string[];
}

export interface ConversationTree {
  conversation: Conversation;
  current_leaf_id: string | null;
  messages: Message[];
}

export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export interface ModelInfo {
  id: string;
  context_length?: number;
  demo?: boolean;
  owned_by?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  secret?: string;
}

export interface UsageRow {
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_micros: number;
  cost: number;
}

export interface DayUsageRow extends UsageRow {
  day: string;
}

export interface UsageAnswer {
  from: number;
  to: number;
  totals: Usage;
  by_model: UsageRow[];
  by_day?: DayUsageRow[];
  limits?: Record<string, number | null>;
  quota_used?: Record<string, number>;
}

export interface UserUsageRow {
  user_id: string;
  email: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  cost_micros: number;
  cost: number;
}

export interface Share {
  id: string;
  object: 'share';
  conversation_id: string;
  title: string;
  url: string;
  token: string;
  message_count: number;
  created_at: number;
  revoked_at: number | null;
}

export interface SharedConversation {
  object: 'shared_conversation';
  title: string;
  created_at: number;
  messages: { role: MessageRole; content: string; model: string | null; created_at: number }[];
}

export interface ErrorBody {
  error: { message: string; type?: string; param?: string | null; code?: string | null };
}

/** Events of a streamed reply (POST .../messages and .../regenerate). */
export type ReplyEvent =
  | { type: 'message'; conversation_id: string; message: Message }
  | { type: 'delta'; content?: string; reasoning?: string }
  | { type: 'done'; message: Message; conversation: Conversation }
  | { type: 'error'; error: ErrorBody['error']; message?: Message };

/** One moderation audit event (GET /api/admin/moderation/events). */
export interface ModerationEvent {
  id: string;
  at: number;
  user_id: string;
  address: string;
  request_id: string;
  rule: string;
  /** flag, redact, block, or a violation kind (rate_limited, failed_login, ...) */
  action: string;
  /** input, output, or '' for violations without a rule */
  stage: string;
  excerpt: string;
}

/** A suspension of a subject ("user:usr_..." or "addr:<address>"). */
export interface Suspension {
  id: string;
  subject: string;
  reason: string;
  score: number;
  created_at: number;
  until: number;
  created_by: string;
  lifted_at: number | null;
  lifted_by: string;
  active: boolean;
}
