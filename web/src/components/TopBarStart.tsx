// The start of a page's top bar: opens the sidebar (and starts a chat) when it is hidden.
import { chatPath, navigate } from '../state/router';
import { setSidebar, sidebarOpen } from '../state/layout';
import { Icon } from './Icons';

export function TopBarStart() {
  if (sidebarOpen.value) return null;
  return (
    <div class="topbar-start">
      <button type="button" class="icon-btn" aria-label="Open sidebar" title="Open sidebar" onClick={() => setSidebar(true)}>
        <Icon name="sidebar" />
      </button>
      <button type="button" class="icon-btn" aria-label="New chat" title="New chat (Ctrl+Shift+O)" onClick={() => navigate(chatPath(null))}>
        <Icon name="newChat" />
      </button>
    </div>
  );
}
