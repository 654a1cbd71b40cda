// Archived conversations: open, restore to the sidebar, or delete.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api/conversations';
import type { Conversation } from '../api/types';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { archiveConversation } from '../state/conversations';
import { chatPath, linkClick } from '../state/router';
import { untitled } from './ConversationItem';

export function ArchivedList() {
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    try {
      // The list has no "archived only" filter: page through everything and keep the archived.
      const found: Conversation[] = [];
      for (let offset = 0; offset < 2000; offset += 200) {
        const page = await api.listConversations({ limit: 200, offset, include_archived: true });
        found.push(...page.data.filter((c) => c.archived));
        if (!page.has_more) break;
      }
      setItems(found);
    } catch (err) {
      setError(describeError(err).message);
    }
  };
  useEffect(() => void load(), []);

  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      await load();
    } catch (err) {
      setError(describeError(err).message);
    }
  };

  return (
    <section class="card" aria-labelledby="archived-title">
      <h2 id="archived-title">Archived chats</h2>
      {error ? <p class="error-text">{error}</p> : null}
      {items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">No archived chats.</p>
      ) : (
        <ul class="plain-list">
          {items.map((c) => (
            <li key={c.id}>
              <a href={chatPath(c.id)} onClick={linkClick}>
                {c.title || untitled}
              </a>
              <span class="muted small">{formatDate(c.updated_at)}</span>
              <span class="grow" />
              <button type="button" class="btn-secondary small" onClick={() => void act(() => archiveConversation(c.id, false))}>
                Unarchive
              </button>
              <button type="button" class="btn-secondary small danger" onClick={() => void act(() => api.deleteConversation(c.id))}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
