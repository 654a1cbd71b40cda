// Drafts of unsent messages, per conversation, in localStorage: a reload, a crash or a failed
// send never loses what was typed. The key of a chat that does not exist yet is NEW_CHAT.

export const NEW_CHAT = 'new';
const PREFIX = 'parley.draft.';
const MAX_DRAFTS = 200;

interface Stored {
  text: string;
  at: number;
}

export class DraftStore {
  constructor(private readonly storage: Storage | null = safeLocalStorage()) {}

  load(key: string): string {
    const raw = this.get(PREFIX + key);
    if (raw === null) return '';
    try {
      const v = JSON.parse(raw) as Partial<Stored>;
      return typeof v.text === 'string' ? v.text : '';
    } catch {
      return '';
    }
  }

  /** Saves the text; an empty or blank text removes the draft. */
  save(key: string, text: string, now: number = Date.now()): void {
    if (text.trim() === '') {
      this.clear(key);
      return;
    }
    const value = JSON.stringify({ text, at: now } satisfies Stored);
    // Storage full: drop the oldest other drafts, one at a time, until this one fits.
    while (!this.set(PREFIX + key, value)) {
      const oldest = this.entries().find((e) => e.key !== PREFIX + key);
      if (!oldest) return;
      this.storage?.removeItem(oldest.key);
    }
    this.prune(MAX_DRAFTS);
  }

  clear(key: string): void {
    try {
      this.storage?.removeItem(PREFIX + key);
    } catch {
      /* storage unavailable */
    }
  }

  /** Moves a draft to another key (the new chat became a conversation), unless one is there. */
  move(from: string, to: string): void {
    const text = this.load(from);
    if (text && !this.load(to)) this.save(to, text);
    this.clear(from);
  }

  /** Keeps at most `max` drafts, the most recent ones. */
  prune(max: number): void {
    const entries = this.entries();
    for (const e of entries.slice(0, Math.max(0, entries.length - max))) this.storage?.removeItem(e.key);
  }

  /** The stored drafts, oldest first. */
  private entries(): { key: string; at: number }[] {
    if (!this.storage) return [];
    const entries: { key: string; at: number }[] = [];
    for (let i = 0; i < this.storage.length; i++) {
      const k = this.storage.key(i);
      if (!k || !k.startsWith(PREFIX)) continue;
      let at = 0;
      try {
        at = Number((JSON.parse(this.storage.getItem(k) ?? '{}') as Partial<Stored>).at) || 0;
      } catch {
        at = 0;
      }
      entries.push({ key: k, at });
    }
    return entries.sort((a, b) => a.at - b.at);
  }

  private get(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private set(key: string, value: string): boolean {
    try {
      this.storage?.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export const drafts = new DraftStore();
