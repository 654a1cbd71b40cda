// The open conversation: its tree, the path shown (root -> current leaf), branch switching and
// settings. Streamed replies live in reply.ts.
import { computed, signal } from '@preact/signals';
import * as api from '../api/conversations';
import type { Conversation, ConversationSettings, Message, SettingsPatch } from '../api/types';
import { describeError, type UserError } from '../lib/errors';
import { buildTree, newestLeafBelow, pathTo, withMessage, type Tree } from '../lib/tree';
import { upsertConversation } from './conversations';
import { chosenModel } from './models';
import { showToast } from './toasts';

export const emptyTree: Tree = { byId: new Map(), roots: [] };

export const conversation = signal<Conversation | null>(null);
export const tree = signal<Tree>(emptyTree);
export const leafId = signal<string | null>(null);
export const threadStatus = signal<'idle' | 'loading' | 'ready' | 'missing' | 'error'>('idle');
export const threadError = signal<string | null>(null);
/** Settings chosen for a chat that does not exist yet (sent when it is created). */
export const pendingSettings = signal<ConversationSettings>({});
/** An error shown under the conversation, with the message to regenerate on to retry. */
export const replyError = signal<{ conversationId: string | null; error: UserError; retryOn: string | null } | null>(null);

export const path = computed(() => pathTo(tree.value, leafId.value));

let openGeneration = 0;

/** Opens a conversation (null: a new chat). */
export async function openConversation(id: string | null): Promise<void> {
  const gen = ++openGeneration;
  if (id === null) {
    conversation.value = null;
    tree.value = emptyTree;
    leafId.value = null;
    threadStatus.value = 'ready';
    replyError.value = null;
    chosenModel.value = null;
    pendingSettings.value = {};
    return;
  }
  if (conversation.value?.id === id && threadStatus.value === 'ready') return;
  if (conversation.value?.id !== id) {
    conversation.value = null;
    tree.value = emptyTree;
    leafId.value = null;
    chosenModel.value = null;
    replyError.value = null;
  }
  threadStatus.value = 'loading';
  try {
    const t = await api.getConversation(id);
    if (gen !== openGeneration) return;
    conversation.value = t.conversation;
    tree.value = buildTree(t.messages);
    leafId.value = t.current_leaf_id;
    threadStatus.value = 'ready';
  } catch (err) {
    if (gen !== openGeneration) return;
    const e = describeError(err);
    threadStatus.value = e.kind === 'not_found' ? 'missing' : 'error';
    threadError.value = e.message;
  }
}

/** Re-reads the open conversation (after a failed send: was the user message saved?). */
export async function refreshConversation(): Promise<void> {
  const c = conversation.value;
  if (!c) return;
  const t = await api.getConversation(c.id);
  if (conversation.value?.id !== c.id) return;
  conversation.value = t.conversation;
  tree.value = buildTree(t.messages);
  leafId.value = t.current_leaf_id;
}

export function isOpen(conversationId: string): boolean {
  return conversation.value?.id === conversationId;
}

/** Adds a message that arrived in a stream to the open conversation's tree. */
export function addMessage(conversationId: string, m: Message, makeLeaf: boolean): void {
  if (!isOpen(conversationId)) return;
  tree.value = withMessage(tree.value, m);
  if (makeLeaf) leafId.value = m.id;
}

export function mergeConversation(c: Conversation): void {
  if (isOpen(c.id)) conversation.value = { ...conversation.value!, ...c };
  upsertConversation(c);
}

/** Shows another version of a message: the server moves the leaf below it and remembers it. */
export async function switchVersion(messageId: string): Promise<void> {
  const c = conversation.value;
  if (!c) return;
  const before = leafId.value;
  leafId.value = newestLeafBelow(tree.value, messageId);
  try {
    const answer = await api.setCurrentLeaf(c.id, messageId);
    if (!isOpen(c.id)) return;
    if (answer.current_leaf_id && tree.value.byId.has(answer.current_leaf_id)) leafId.value = answer.current_leaf_id;
    conversation.value = { ...conversation.value!, ...answer };
  } catch (err) {
    if (isOpen(c.id)) leafId.value = before;
    showToast(`Could not switch versions: ${describeError(err).message}`, { kind: 'error' });
  }
}

/** Saves per-conversation settings (or keeps them for the chat about to be created). */
export async function saveSettings(patch: SettingsPatch): Promise<void> {
  const c = conversation.value;
  if (!c) {
    const next: ConversationSettings = { ...pendingSettings.value };
    for (const [k, v] of Object.entries(patch) as [keyof ConversationSettings, unknown][]) {
      if (v === null || v === undefined) delete next[k];
      else (next as Record<string, unknown>)[k] = v;
    }
    pendingSettings.value = next;
    return;
  }
  const updated = await api.patchConversation(c.id, { settings: patch });
  mergeConversation(updated);
}

/** The settings in force for the open conversation (or the new chat). */
export const currentSettings = computed<ConversationSettings>(() => conversation.value?.settings ?? pendingSettings.value);
