// The sidebar's list: newest first, paged by limit/offset, filtered by title; rename, archive,
// delete with undo (the conversation is archived at once, deleted when the undo time is over).
import { signal } from '@preact/signals';
import * as api from '../api/conversations';
import type { Conversation } from '../api/types';
import { describeError } from '../lib/errors';
import { showToast } from './toasts';

const PAGE = 50;
const UNDO_MS = 6000;

export const conversations = signal<Conversation[]>([]);
export const hasMore = signal(false);
export const listLoading = signal(false);
export const listError = signal<string | null>(null);
export const searchQuery = signal('');

let generation = 0;
let controller: AbortController | null = null;

/** Loads the first page for the current search (drops any page in flight). */
export async function reloadList(): Promise<void> {
  const gen = ++generation;
  controller?.abort();
  controller = new AbortController();
  listLoading.value = true;
  listError.value = null;
  try {
    const page = await api.listConversations({ limit: PAGE, offset: 0, q: searchQuery.value.trim() }, controller.signal);
    if (gen !== generation) return;
    conversations.value = page.data.filter((c) => !pendingDeletes.has(c.id));
    hasMore.value = page.has_more;
  } catch (err) {
    if (gen !== generation || (err instanceof DOMException && err.name === 'AbortError')) return;
    listError.value = describeError(err).message;
  } finally {
    if (gen === generation) listLoading.value = false;
  }
}

/** Loads the next page (infinite scroll); items already shown are skipped. */
export async function loadMore(): Promise<void> {
  if (listLoading.value || !hasMore.value) return;
  const gen = generation;
  listLoading.value = true;
  try {
    const page = await api.listConversations({ limit: PAGE, offset: conversations.value.length, q: searchQuery.value.trim() });
    if (gen !== generation) return;
    const seen = new Set(conversations.value.map((c) => c.id));
    conversations.value = [...conversations.value, ...page.data.filter((c) => !seen.has(c.id) && !pendingDeletes.has(c.id))];
    hasMore.value = page.has_more;
  } catch (err) {
    if (gen === generation) listError.value = describeError(err).message;
  } finally {
    if (gen === generation) listLoading.value = false;
  }
}

export function setSearch(q: string): void {
  searchQuery.value = q;
  void reloadList();
}

/** Puts a created or updated conversation where the list's order wants it (the top). */
export function upsertConversation(c: Conversation): void {
  if (c.archived || pendingDeletes.has(c.id)) {
    conversations.value = conversations.value.filter((x) => x.id !== c.id);
    return;
  }
  const q = searchQuery.value.trim().toLowerCase();
  const rest = conversations.value.filter((x) => x.id !== c.id);
  if (q && !c.title.toLowerCase().includes(q)) {
    conversations.value = rest;
    return;
  }
  const old = conversations.value.find((x) => x.id === c.id);
  const merged = old ? { ...old, ...c } : c;
  conversations.value = [merged, ...rest].sort((a, b) => b.updated_at - a.updated_at);
}

/** Takes a conversation out of the list (deleted for good). */
export function removeConversation(id: string): void {
  conversations.value = conversations.value.filter((x) => x.id !== id);
}

export async function renameConversation(id: string, title: string): Promise<void> {
  const c = await api.patchConversation(id, { title });
  conversations.value = conversations.value.map((x) => (x.id === id ? { ...x, ...c } : x));
}

export async function archiveConversation(id: string, archived = true): Promise<Conversation> {
  const c = await api.patchConversation(id, { archived });
  if (archived) conversations.value = conversations.value.filter((x) => x.id !== id);
  else upsertConversation(c);
  return c;
}

const pendingDeletes = new Map<string, ReturnType<typeof setTimeout>>();

/**
 * Deletes with a few seconds to undo: archived now (gone from every list, also after a
 * reload), deleted when the time is over or the page is closed.
 */
export async function deleteWithUndo(c: Conversation, onGone?: () => void): Promise<void> {
  const before = conversations.value;
  removeConversation(c.id);
  // Pending from the click on, so that a page closed while the archive request is in flight still
  // sends the deletion (flushPendingDeletes).
  const timer = setTimeout(() => void finishDelete(c.id), UNDO_MS);
  pendingDeletes.set(c.id, timer);
  try {
    if (!c.archived) await api.patchConversation(c.id, { archived: true });
  } catch (err) {
    clearTimeout(timer);
    pendingDeletes.delete(c.id);
    conversations.value = before;
    showToast(`Could not delete: ${describeError(err).message}`, { kind: 'error' });
    return;
  }
  onGone?.();
  showToast(`Deleted “${c.title || 'New chat'}”`, {
    ms: UNDO_MS,
    action: {
      label: 'Undo',
      run: () => {
        clearTimeout(timer);
        pendingDeletes.delete(c.id);
        if (!c.archived) void archiveConversation(c.id, false).catch(() => undefined);
      },
    },
  });
}

async function finishDelete(id: string): Promise<void> {
  pendingDeletes.delete(id);
  try {
    await api.deleteConversation(id);
  } catch (err) {
    showToast(`Could not delete: ${describeError(err).message}`, { kind: 'error' });
  }
}

/** On page hide, deletions still waiting for their undo time are sent (keepalive). */
export function flushPendingDeletes(csrf: string | null): void {
  for (const [id, timer] of pendingDeletes) {
    clearTimeout(timer);
    const headers: Record<string, string> = {};
    if (csrf) headers['X-CSRF-Token'] = csrf;
    void fetch(`/api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE', keepalive: true, headers, credentials: 'same-origin' }).catch(
      () => undefined,
    );
  }
  pendingDeletes.clear();
}
