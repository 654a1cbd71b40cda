import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { buildTree, editParentId, newestLeafBelow, pathTo, siblingsOf, versionsOf, visible, withMessage } from './tree';

let t = 0;
function msg(id: string, parent: string | null, role: Message['role'], children: string[] = []): Message {
  return { id, object: 'conversation.message', parent_id: parent, role, content: id, model: null, created_at: ++t, children };
}

// sys -> u1 -> a1 (first answer)
//              a2 (regenerated) -> u2 -> a3
//        u1b (edit of u1) -> a4
const messages = [
  msg('sys', null, 'system', ['u1', 'u1b']),
  msg('u1', 'sys', 'user', ['a1', 'a2']),
  msg('a1', 'u1', 'assistant'),
  msg('a2', 'u1', 'assistant', ['u2']),
  msg('u2', 'a2', 'user', ['a3']),
  msg('a3', 'u2', 'assistant'),
  msg('u1b', 'sys', 'user', ['a4']),
  msg('a4', 'u1b', 'assistant'),
];

describe('message tree', () => {
  const tree = buildTree(messages);

  it('follows the path from the root to the current leaf', () => {
    expect(pathTo(tree, 'a3').map((m) => m.id)).toEqual(['sys', 'u1', 'a2', 'u2', 'a3']);
    expect(pathTo(tree, 'a1').map((m) => m.id)).toEqual(['sys', 'u1', 'a1']);
    expect(pathTo(tree, null)).toEqual([]);
    expect(pathTo(tree, 'unknown')).toEqual([]);
  });

  it('hides system messages from what is shown', () => {
    expect(visible(pathTo(tree, 'a4')).map((m) => m.id)).toEqual(['u1b', 'a4']);
  });

  it('counts versions as "N / M" among the parent\'s children', () => {
    expect(versionsOf(tree, tree.byId.get('a2')!)).toEqual({ index: 2, count: 2, prev: 'a1', next: null });
    expect(versionsOf(tree, tree.byId.get('a1')!)).toEqual({ index: 1, count: 2, prev: null, next: 'a2' });
    expect(versionsOf(tree, tree.byId.get('u1b')!)).toEqual({ index: 2, count: 2, prev: 'u1', next: null });
    expect(versionsOf(tree, tree.byId.get('a3')!)).toMatchObject({ index: 1, count: 1 });
  });

  it('treats several roots as versions of the first message', () => {
    const roots = buildTree([msg('r1', null, 'user', ['x']), msg('x', 'r1', 'assistant'), msg('r2', null, 'user')]);
    expect(siblingsOf(roots, roots.byId.get('r2')!)).toEqual(['r1', 'r2']);
    expect(versionsOf(roots, roots.byId.get('r1')!)).toMatchObject({ index: 1, count: 2, next: 'r2' });
  });

  it('finds the leaf a switch lands on: the newest child at each step', () => {
    expect(newestLeafBelow(tree, 'u1')).toBe('a3');
    expect(newestLeafBelow(tree, 'a1')).toBe('a1');
    expect(newestLeafBelow(tree, 'u1b')).toBe('a4');
  });

  it('sends an edit with the edited message\'s parent (or a new root)', () => {
    expect(editParentId(tree.byId.get('u2')!)).toBe('a2');
    expect(editParentId(msg('root', null, 'user'))).toBe('');
  });

  it('adds a streamed message as the newest child without changing the old tree', () => {
    const next = withMessage(tree, msg('a5', 'u1', 'assistant'));
    expect(next.byId.get('u1')!.children).toEqual(['a1', 'a2', 'a5']);
    expect(tree.byId.get('u1')!.children).toEqual(['a1', 'a2']);
    expect(versionsOf(next, next.byId.get('a5')!)).toMatchObject({ index: 3, count: 3, prev: 'a2' });
    const again = withMessage(next, { ...msg('a5', 'u1', 'assistant'), content: 'final' });
    expect(again.byId.get('u1')!.children).toEqual(['a1', 'a2', 'a5']);
    expect(again.byId.get('a5')!.content).toBe('final');
  });

  it('does not loop on a cycle in bad data', () => {
    const bad = buildTree([msg('x', 'y', 'user', ['y']), msg('y', 'x', 'assistant', ['x'])]);
    expect(pathTo(bad, 'x').length).toBeLessThanOrEqual(2);
    expect(['x', 'y']).toContain(newestLeafBelow(bad, 'x'));
  });
});
