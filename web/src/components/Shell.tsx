// The signed-in layout: sidebar (a drawer on phones) beside the page of the current route, and
// the keyboard shortcuts.
import { useEffect, useRef } from 'preact/hooks';
import { reloadList } from '../state/conversations';
import { isPhone, setSidebar, sidebarOpen } from '../state/layout';
import { loadModels } from '../state/models';
import { stopReply, streamOf } from '../state/reply';
import { chatPath, navigate, route, type Route } from '../state/router';
import { isAdmin } from '../state/session';
import { conversation, openConversation, threadStatus } from '../state/thread';
import { AdminPage } from './AdminPage';
import { ChatScreen } from './ChatScreen';
import { SettingsPage } from './SettingsPage';
import { Sidebar } from './Sidebar';

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

function onKeyDown(e: KeyboardEvent): void {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.shiftKey && (e.key === 'O' || e.key === 'o')) {
    e.preventDefault();
    navigate(chatPath(null));
    return;
  }
  if (e.key === '/' && !mod && !e.altKey && !typing(e.target) && !document.querySelector('dialog[open]')) {
    const search = document.getElementById('conversation-search') as HTMLInputElement | null;
    if (search) {
      e.preventDefault();
      if (sidebarOpen.value) search.focus();
      else {
        setSidebar(true);
        requestAnimationFrame(() => search.focus());
      }
    }
    return;
  }
  if (e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('dialog[open]')) {
    const id = conversation.value?.id ?? null;
    if (streamOf(id)) {
      e.preventDefault();
      void stopReply(id);
    } else if (isPhone.value && sidebarOpen.value) {
      setSidebar(false);
    }
  }
}

function Page({ r }: { r: Route }) {
  if (r.name === 'settings') return <SettingsPage />;
  if (r.name === 'admin') return isAdmin.value ? <AdminPage /> : <p class="pad">Only administrators can see this page.</p>;
  return <ChatScreen routeId={r.name === 'chat' ? r.id : null} />;
}

export function Shell() {
  const r = route.value;
  const chatId = r.name === 'chat' ? r.id : undefined;

  useEffect(() => {
    void reloadList();
    void loadModels();
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);

  useEffect(() => {
    if (r.name === 'login') navigate('/', { replace: true });
  }, [r.name]);

  useEffect(() => {
    if (chatId != null && conversation.value?.id !== chatId) void openConversation(chatId);
    if (chatId === null && (conversation.value !== null || threadStatus.value === 'idle')) void openConversation(null);
  }, [chatId]);

  const phone = isPhone.value;
  const open = sidebarOpen.value;
  const drawerOpen = phone && open;

  // The drawer takes the focus when it opens and gives it back to its opener when it closes.
  const wasOpen = useRef(drawerOpen);
  useEffect(() => {
    if (!phone || wasOpen.current === drawerOpen) return;
    wasOpen.current = drawerOpen;
    const target = drawerOpen ? '.sidebar .new-chat' : '.topbar [aria-label="Open sidebar"]';
    requestAnimationFrame(() => document.querySelector<HTMLElement>(target)?.focus({ preventScroll: true }));
  }, [drawerOpen]);
  return (
    <div class={`shell${open ? ' sidebar-open' : ' sidebar-closed'}${phone ? ' phone' : ''}`}>
      <Sidebar />
      {drawerOpen ? <div class="scrim" aria-hidden="true" onClick={() => setSidebar(false)} /> : null}
      <main class="main" inert={drawerOpen} aria-hidden={drawerOpen ? 'true' : undefined}>
        <Page r={r} />
      </main>
    </div>
  );
}
