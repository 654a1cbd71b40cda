// /api/conversations: lists, trees, settings, streamed replies, branches, shares, export.
import { query, request, send } from './http';
import { streamReply } from './stream';
import type {
  Conversation,
  ConversationTree,
  Page,
  ReplyEvent,
  SettingsPatch,
  Share,
  SharedConversation,
} from './types';

const base = '/api/conversations';
const at = (id: string) => `${base}/${encodeURIComponent(id)}`;

export interface ListParams {
  limit?: number;
  offset?: number;
  q?: string;
  include_archived?: boolean;
}

export function listConversations(p: ListParams = {}, signal?: AbortSignal): Promise<Page<Conversation>> {
  return request(base + query({ ...p }), { signal });
}

export function createConversation(body: { title?: string; system_prompt?: string; settings?: SettingsPatch } = {}): Promise<Conversation> {
  return request(base, { method: 'POST', body });
}

export function getConversation(id: string, signal?: AbortSignal): Promise<ConversationTree> {
  return request(at(id), { signal });
}

export function patchConversation(
  id: string,
  body: { title?: string; archived?: boolean; settings?: SettingsPatch },
): Promise<Conversation> {
  return request(at(id), { method: 'PATCH', body });
}

export function deleteConversation(id: string): Promise<void> {
  return request(at(id), { method: 'DELETE' });
}

export interface ReplyOptions {
  model?: string;
  temperature?: number;
  max_tokens?: number;
}

export interface SendBody extends ReplyOptions {
  content: string;
  /** Absent: continue the current path; a message id: answer it (editing); '': a new root. */
  parent_id?: string;
}

export function sendMessage(id: string, body: SendBody, onEvent: (e: ReplyEvent) => void, signal?: AbortSignal): Promise<void> {
  return streamReply(`${at(id)}/messages`, body, onEvent, signal);
}

export function regenerate(
  id: string,
  messageId: string,
  body: ReplyOptions,
  onEvent: (e: ReplyEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  return streamReply(`${at(id)}/messages/${encodeURIComponent(messageId)}/regenerate`, body, onEvent, signal);
}

export function setCurrentLeaf(id: string, messageId: string): Promise<Conversation> {
  return request(`${at(id)}/current_leaf`, { method: 'PUT', body: { message_id: messageId } });
}

export function stopReply(id: string): Promise<{ stopped: number }> {
  return request(`${at(id)}/stop`, { method: 'POST', body: {} });
}

export function createShare(id: string): Promise<Share> {
  return request(`${at(id)}/shares`, { method: 'POST', body: {} });
}

export function listShares(id: string): Promise<{ object: 'list'; data: Share[] }> {
  return request(`${at(id)}/shares`);
}

export function revokeShare(shareId: string): Promise<Share> {
  return request(`/api/shares/${encodeURIComponent(shareId)}`, { method: 'DELETE' });
}

export function getShared(token: string): Promise<SharedConversation> {
  return request(`/api/shared/${encodeURIComponent(token)}`, { quiet401: true });
}

export type ExportFormat = 'markdown' | 'json';

/** Downloads the export as a Blob with the file name the server proposes. */
export async function exportConversation(id: string, format: ExportFormat): Promise<{ blob: Blob; filename: string }> {
  const res = await send(`${at(id)}/export${query({ format })}`, { headers: { Accept: '*/*' } });
  const blob = await res.blob();
  return { blob, filename: filenameFrom(res.headers.get('Content-Disposition'), format) };
}

export function filenameFrom(disposition: string | null, format: ExportFormat): string {
  const fallback = format === 'json' ? 'conversation.json' : 'conversation.md';
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)/i.exec(disposition);
  const name = (plain?.[1] ?? plain?.[2] ?? '').trim();
  return name || fallback;
}
