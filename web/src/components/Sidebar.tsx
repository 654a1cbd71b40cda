// The sidebar: New chat, search, conversations grouped by date with infinite scroll, and links
// to settings and administration.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { groupConversations } from '../lib/grouping';
import { conversations, hasMore, listError, listLoading, loadMore, searchQuery, setSearch } from '../state/conversations';
import { closeDrawerOnPhone, setSidebar } from '../state/layout';
import { chatPath, linkClick, navigate, route } from '../state/router';
import { currentMe, isAdmin } from '../state/session';
import { ConversationItem } from './ConversationItem';
import { Icon } from './Icons';

function Sentinel() {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void loadMore();
    });
    io.observe(el);
    return () => io.disconnect();
  }, []);
  return (
    <div ref={ref} class="list-sentinel">
      {listLoading.value ? <span class="muted small">Loading…</span> : null}
    </div>
  );
}

export function Sidebar() {
  const r = route.value;
  const activeId = r.name === 'chat' ? r.id : null;
  const items = conversations.value;
  const groups = useMemo(() => groupConversations(items), [items]);
  const me = currentMe.value;
  const searchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  return (
    <nav class="sidebar" aria-label="Conversations">
      <div class="sidebar-head">
        <a class="brand" href="/" onClick={(e) => { linkClick(e); closeDrawerOnPhone(); }}>
          <span class="brand-mark" aria-hidden="true" />
          Parley
        </a>
        <button type="button" class="icon-btn" aria-label="Close sidebar" title="Close sidebar" onClick={() => setSidebar(false)}>
          <Icon name="sidebar" />
        </button>
      </div>
      <button
        type="button"
        class="new-chat"
        title="New chat (Ctrl+Shift+O)"
        onClick={() => {
          navigate(chatPath(null));
          closeDrawerOnPhone();
        }}
      >
        <Icon name="newChat" size={16} />
        New chat
      </button>
      <div class="search">
        <Icon name="search" size={16} />
        <input
          id="conversation-search"
          type="search"
          aria-label="Search conversations"
          placeholder="Search chats"
          defaultValue={searchQuery.value}
          onInput={(e) => {
            const v = e.currentTarget.value;
            clearTimeout(searchTimer.current);
            searchTimer.current = setTimeout(() => setSearch(v), 200);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && e.currentTarget.value) {
              e.currentTarget.value = '';
              setSearch('');
              e.stopPropagation();
            }
          }}
        />
        <kbd class="kbd" aria-hidden="true">/</kbd>
      </div>
      <div class="conv-list">
        {groups.map((g) => (
          <section key={g.name} class="conv-group" aria-labelledby={`grp-${g.name}`}>
            <h2 id={`grp-${g.name}`} class="conv-group-title">
              {g.name}
            </h2>
            <ul>
              {g.items.map((c) => (
                <ConversationItem key={c.id} c={c} active={c.id === activeId} />
              ))}
            </ul>
          </section>
        ))}
        {items.length === 0 && !listLoading.value ? (
          <p class="muted small pad">{searchQuery.value.trim() ? 'No conversation has that in its title.' : 'No conversations yet.'}</p>
        ) : null}
        {listError.value ? <p class="error-text small pad">{listError.value}</p> : null}
        {hasMore.value ? <Sentinel /> : null}
      </div>
      <div class="sidebar-foot">
        <a href="/settings" class={`foot-link${r.name === 'settings' ? ' active' : ''}`} onClick={(e) => { linkClick(e); closeDrawerOnPhone(); }}>
          <Icon name="user" size={16} />
          <span class="foot-text">
            <span>Settings</span>
            <span class="muted small ellipsis">{me?.user.email}</span>
          </span>
        </a>
        {isAdmin.value ? (
          <a href="/admin" class={`foot-link${r.name === 'admin' ? ' active' : ''}`} onClick={(e) => { linkClick(e); closeDrawerOnPhone(); }}>
            <Icon name="shield" size={16} />
            <span>Admin</span>
          </a>
        ) : null}
      </div>
    </nav>
  );
}
