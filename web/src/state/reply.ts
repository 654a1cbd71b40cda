// Streamed replies: send, edit (a sibling of a user message), regenerate, stop. Only the growing
// reply's text signal changes per token, so only that message re-renders.
import { signal, type Signal } from '@preact/signals';
import * as api from '../api/conversations';
import type { ReplyEvent } from '../api/types';
import { NEW_CHAT, drafts } from '../lib/drafts';
import { describeError, describeStreamError } from '../lib/errors';
import { chatPath, navigate } from './router';
import { removeConversation, upsertConversation } from './conversations';
import { effectiveModel } from './models';
import {
  addMessage,
  conversation,
  emptyTree,
  isOpen,
  leafId,
  mergeConversation,
  pendingSettings,
  refreshConversation,
  replyError,
  threadStatus,
  tree,
} from './thread';

export interface Streaming {
  conversationId: string;
  /** The last message shown above the reply (the user message once the server saved it). */
  baseId: string | null;
  /** The user's text until the server confirms its message. */
  pendingUser: string | null;
  text: Signal<string>;
  /** The model's thinking so far (reasoning models). */
  reasoning: Signal<string>;
  controller: AbortController;
  stopping: boolean;
  stopTimer?: ReturnType<typeof setTimeout>;
}

/** Replies in progress, by conversation id. */
export const streams = signal<Record<string, Streaming>>({});
/** Polite announcements for screen readers (start and end of a reply, not every token). */
export const announcement = signal('');
/** Text handed back to the composer of a conversation when a send failed before it was saved. */
export const composerRestore = signal<{ key: string; text: string } | null>(null);
/** An edit whose send failed before it was saved: the message reopens its editor with it. */
export const editRestore = signal<{ messageId: string; text: string } | null>(null);

export function streamOf(conversationId: string | null | undefined): Streaming | null {
  return conversationId ? (streams.value[conversationId] ?? null) : null;
}

function setStream(id: string, s: Streaming | null): void {
  const next = { ...streams.value };
  if (s) next[id] = s;
  else delete next[id];
  streams.value = next;
}

interface StreamPlan {
  conversationId: string;
  baseId: string | null;
  pendingUser: string | null;
  run: (onEvent: (e: ReplyEvent) => void, signal: AbortSignal) => Promise<void>;
}

/** Runs one reply stream; resolves to whether the user message (if any) was saved. */
async function runStream(plan: StreamPlan): Promise<{ userSaved: boolean; failed: boolean }> {
  const id = plan.conversationId;
  const s: Streaming = {
    conversationId: id,
    baseId: plan.baseId,
    pendingUser: plan.pendingUser,
    text: signal(''),
    reasoning: signal(''),
    controller: new AbortController(),
    stopping: false,
  };
  setStream(id, s);
  replyError.value = null;
  announcement.value = 'Generating a reply…';
  let userSaved = plan.pendingUser === null;
  let failed = false;
  const onEvent = (e: ReplyEvent) => {
    switch (e.type) {
      case 'message':
        userSaved = true;
        addMessage(id, e.message, true);
        s.baseId = e.message.id;
        s.pendingUser = null;
        setStream(id, s);
        break;
      case 'delta':
        if (e.content) s.text.value += e.content;
        if (e.reasoning) s.reasoning.value += e.reasoning;
        break;
      case 'done':
        addMessage(id, e.message, true);
        if (e.conversation) mergeConversation(e.conversation);
        announcement.value = `Reply finished. ${e.message.content.slice(0, 600)}`;
        break;
      case 'error':
        failed = true;
        if (e.message) addMessage(id, e.message, true);
        replyError.value = { conversationId: id, error: describeStreamError(e.error), retryOn: e.message?.parent_id ?? s.baseId };
        announcement.value = `The reply failed: ${e.error.message}`;
        break;
    }
  };
  try {
    await plan.run(onEvent, s.controller.signal);
  } catch (err) {
    failed = true;
    if (err instanceof DOMException && err.name === 'AbortError') {
      if (isOpen(id)) await refreshConversation().catch(() => undefined);
    } else {
      const error = describeError(err);
      let retryOn: string | null = null;
      if (isOpen(id)) {
        // A 429 after the user message was saved, or a connection lost mid-reply: the server
        // knows what was kept. Show that, and offer to answer the last user message again.
        try {
          await refreshConversation();
          const last = leafId.value ? tree.value.byId.get(leafId.value) : undefined;
          if (last?.role === 'user') {
            retryOn = last.id;
            if (plan.pendingUser !== null && last.content === plan.pendingUser) userSaved = true;
          }
        } catch {
          /* the server is gone: keep what is shown */
        }
      }
      replyError.value = { conversationId: id, error, retryOn };
      announcement.value = `The reply failed: ${error.message}`;
    }
  } finally {
    clearTimeout(s.stopTimer);
    setStream(id, null);
  }
  return { userSaved, failed };
}

/** The server's automatic title: the first line, trimmed, at most 60 characters. */
export function provisionalTitle(text: string): string {
  const line = text.trim().split('\n')[0]!.trim();
  const chars = [...line];
  return chars.length > 60 ? `${chars.slice(0, 60).join('').trimEnd()}…` : line;
}

/** Sends a new message (creating the conversation first for a new chat). */
export async function sendMessage(text: string): Promise<void> {
  const draftKey = conversation.value?.id ?? NEW_CHAT;
  let c = conversation.value;
  const created = !c;
  if (!c) {
    try {
      const settings = pendingSettings.value;
      c = await api.createConversation(Object.keys(settings).length ? { settings } : {});
    } catch (err) {
      replyError.value = { conversationId: null, error: describeError(err), retryOn: null };
      composerRestore.value = { key: NEW_CHAT, text };
      return;
    }
    conversation.value = c;
    tree.value = emptyTree;
    leafId.value = null;
    threadStatus.value = 'ready';
    // Shown until the server names it (with the same rule) when the first reply is saved.
    upsertConversation({ ...c, title: c.title || provisionalTitle(text) });
    navigate(chatPath(c.id), { replace: false });
  }
  const id = c.id;
  const model = effectiveModel(c.settings?.model ?? c.model);
  const body: api.SendBody = { content: text };
  if (model) body.model = model;
  const result = await runStream({
    conversationId: id,
    baseId: leafId.value,
    pendingUser: text,
    run: (onEvent, signal) => api.sendMessage(id, body, onEvent, signal),
  });
  if (result.userSaved) drafts.clear(draftKey);
  else if (created && (await discardEmpty(id))) {
    // The first message was refused (a limit, moderation): no empty chat is left in the list;
    // the new chat view shows the error with the text back in its composer.
    drafts.save(NEW_CHAT, text);
    composerRestore.value = { key: NEW_CHAT, text };
  } else {
    drafts.clear(draftKey);
    drafts.save(id, text);
    composerRestore.value = { key: id, text };
  }
}

/**
 * Deletes a conversation this page just created once the server confirms it holds no message,
 * and goes back to a new chat if it is still open; false (kept) when that cannot be confirmed.
 */
async function discardEmpty(id: string): Promise<boolean> {
  try {
    const t = await api.getConversation(id);
    if (t.messages.length > 0) return false;
    await api.deleteConversation(id);
  } catch {
    return false;
  }
  removeConversation(id);
  if (isOpen(id)) {
    const error = replyError.value?.conversationId === id ? replyError.value : null;
    conversation.value = null;
    tree.value = emptyTree;
    leafId.value = null;
    navigate(chatPath(null), { replace: true });
    if (error) replyError.value = { ...error, conversationId: null, retryOn: null };
  }
  return true;
}

/** Sends an edited user message as a new version (a sibling) of `messageId`. */
export async function editMessage(messageId: string, text: string): Promise<void> {
  const c = conversation.value;
  const m = tree.value.byId.get(messageId);
  if (!c || !m) return;
  const model = effectiveModel(c.settings?.model ?? c.model);
  const body: api.SendBody = { content: text, parent_id: m.parent_id ?? '' };
  if (model) body.model = model;
  const result = await runStream({
    conversationId: c.id,
    baseId: m.parent_id,
    pendingUser: text,
    run: (onEvent, signal) => api.sendMessage(c.id, body, onEvent, signal),
  });
  if (!result.userSaved) editRestore.value = { messageId, text };
}

/** A new answer to the user message above `messageId` (or to a user message itself). */
export async function regenerate(messageId: string): Promise<void> {
  const c = conversation.value;
  const m = tree.value.byId.get(messageId);
  if (!c || !m) return;
  const model = effectiveModel(c.settings?.model ?? c.model);
  await runStream({
    conversationId: c.id,
    baseId: m.role === 'user' ? m.id : m.parent_id,
    pendingUser: null,
    run: (onEvent, signal) => api.regenerate(c.id, messageId, model ? { model } : {}, onEvent, signal),
  });
}

/** Stops the open conversation's reply: the server ends it (saved as stopped). */
export async function stopReply(conversationId: string | null = conversation.value?.id ?? null): Promise<void> {
  const s = streamOf(conversationId);
  if (!s || s.stopping || !conversationId) return;
  s.stopping = true;
  setStream(conversationId, s);
  // If the server does not end the stream soon, stop reading it (it then saves what it has).
  s.stopTimer = setTimeout(() => s.controller.abort(), 5000);
  try {
    await api.stopReply(conversationId);
  } catch {
    s.controller.abort();
  }
}
