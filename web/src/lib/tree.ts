// A conversation's message tree: the path shown (root -> current leaf), siblings and "N / M".
import type { Message } from '../api/types';

export interface Tree {
  byId: Map<string, Message>;
  /** Messages without a parent, oldest first (several after editing a first message). */
  roots: string[];
}

/** Builds the index from the API's flat list (parents before children, children oldest first). */
export function buildTree(messages: readonly Message[]): Tree {
  const byId = new Map<string, Message>();
  const roots: string[] = [];
  for (const m of messages) byId.set(m.id, { ...m, children: [...(m.children ?? [])] });
  for (const m of byId.values()) {
    if (m.parent_id === null || !byId.has(m.parent_id)) roots.push(m.id);
  }
  // The list's `children` are authoritative; a child that names a parent without it is added.
  for (const m of byId.values()) {
    if (m.parent_id === null) continue;
    const parent = byId.get(m.parent_id);
    if (parent && !parent.children!.includes(m.id)) parent.children!.push(m.id);
  }
  return { byId, roots };
}

/** Returns a new tree with `message` added (or replaced), appended to its parent's children. */
export function withMessage(tree: Tree, message: Message): Tree {
  const byId = new Map(tree.byId);
  const existing = byId.get(message.id);
  byId.set(message.id, { ...message, children: existing?.children ?? [...(message.children ?? [])] });
  let roots = tree.roots;
  if (message.parent_id === null || !byId.has(message.parent_id)) {
    if (!roots.includes(message.id)) roots = [...roots, message.id];
  } else {
    const parent = byId.get(message.parent_id)!;
    if (!parent.children!.includes(message.id)) {
      byId.set(parent.id, { ...parent, children: [...parent.children!, message.id] });
    }
  }
  return { byId, roots };
}

/** The messages from the root to `leafId`, in order; empty when the leaf is unknown or null. */
export function pathTo(tree: Tree, leafId: string | null): Message[] {
  const path: Message[] = [];
  const seen = new Set<string>();
  let id = leafId;
  while (id !== null) {
    const m = tree.byId.get(id);
    if (!m || seen.has(id)) break;
    seen.add(id);
    path.push(m);
    id = m.parent_id;
  }
  return path.reverse();
}

/** The ids of the versions of a message: its parent's children, or the roots. */
export function siblingsOf(tree: Tree, message: Message): string[] {
  if (message.parent_id !== null) {
    const parent = tree.byId.get(message.parent_id);
    if (parent) return parent.children ?? [message.id];
  }
  return tree.roots;
}

export interface Versions {
  /** 1-based position, as shown: "index / count". */
  index: number;
  count: number;
  prev: string | null;
  next: string | null;
}

export function versionsOf(tree: Tree, message: Message): Versions {
  const siblings = siblingsOf(tree, message);
  const i = siblings.indexOf(message.id);
  if (i < 0) return { index: 1, count: 1, prev: null, next: null };
  return {
    index: i + 1,
    count: siblings.length,
    prev: i > 0 ? siblings[i - 1]! : null,
    next: i + 1 < siblings.length ? siblings[i + 1]! : null,
  };
}

/** The leaf the server moves to when switching to `id`: follow the newest child down. */
export function newestLeafBelow(tree: Tree, id: string): string {
  let current = id;
  const seen = new Set<string>();
  for (;;) {
    seen.add(current);
    const children = tree.byId.get(current)?.children ?? [];
    const newest = children[children.length - 1];
    if (newest === undefined || seen.has(newest)) return current;
    current = newest;
  }
}

/** The parent_id that sends an edit of `message` as its sibling ('' = a new root). */
export function editParentId(message: Message): string {
  return message.parent_id ?? '';
}

/** Messages a reader sees: system and developer messages stay hidden. */
export function visible(path: readonly Message[]): Message[] {
  return path.filter((m) => m.role === 'user' || m.role === 'assistant');
}
