import { beforeEach, describe, expect, it } from 'vitest';
import { DraftStore, NEW_CHAT } from './drafts';

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  quota = Infinity;
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    const used = [...this.m.values()].reduce((n, x) => n + x.length, 0);
    if (used + v.length > this.quota) throw new DOMException('full', 'QuotaExceededError');
    this.m.set(k, v);
  }
}

describe('DraftStore', () => {
  let storage: MemoryStorage;
  let drafts: DraftStore;
  beforeEach(() => {
    storage = new MemoryStorage();
    drafts = new DraftStore(storage);
  });

  it('keeps a draft per conversation, across instances (a reload)', () => {
    drafts.save('cnv_a', 'hello a');
    drafts.save('cnv_b', 'hello b');
    const reloaded = new DraftStore(storage);
    expect(reloaded.load('cnv_a')).toBe('hello a');
    expect(reloaded.load('cnv_b')).toBe('hello b');
    expect(reloaded.load('cnv_c')).toBe('');
  });

  it('removes the draft when cleared or saved blank', () => {
    drafts.save(NEW_CHAT, 'x');
    drafts.save(NEW_CHAT, '   ');
    expect(drafts.load(NEW_CHAT)).toBe('');
    drafts.save('cnv_a', 'y');
    drafts.clear('cnv_a');
    expect(drafts.load('cnv_a')).toBe('');
    expect(storage.length).toBe(0);
  });

  it('moves a draft without overwriting one that exists', () => {
    drafts.save(NEW_CHAT, 'typed in a new chat');
    drafts.move(NEW_CHAT, 'cnv_new');
    expect(drafts.load('cnv_new')).toBe('typed in a new chat');
    expect(drafts.load(NEW_CHAT)).toBe('');
    drafts.save(NEW_CHAT, 'other');
    drafts.move(NEW_CHAT, 'cnv_new');
    expect(drafts.load('cnv_new')).toBe('typed in a new chat');
  });

  it('survives corrupt entries and a missing storage', () => {
    storage.setItem('parley.draft.cnv_x', '{not json');
    expect(drafts.load('cnv_x')).toBe('');
    const none = new DraftStore(null);
    none.save('a', 'b');
    expect(none.load('a')).toBe('');
  });

  it('drops the oldest drafts when the storage is full, keeping the new one', () => {
    drafts.save('old1', 'a'.repeat(100), 1);
    drafts.save('old2', 'b'.repeat(100), 2);
    storage.quota = 300;
    drafts.save('new', 'c'.repeat(100), 3);
    expect(drafts.load('new')).toBe('c'.repeat(100));
  });

  it('keeps the most recent drafts when there are many', () => {
    for (let i = 0; i < 10; i++) drafts.save(`c${i}`, `t${i}`, i);
    drafts.prune(3);
    expect(['c7', 'c8', 'c9'].map((k) => drafts.load(k))).toEqual(['t7', 't8', 't9']);
    expect(drafts.load('c0')).toBe('');
  });
});
