// One conversation in the sidebar: a link, and a menu to rename, archive or delete it.
import { memo } from 'preact/compat';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Conversation } from '../api/types';
import { describeError } from '../lib/errors';
import { archiveConversation, deleteWithUndo, renameConversation } from '../state/conversations';
import { closeDrawerOnPhone } from '../state/layout';
import { chatPath, linkClick, navigate } from '../state/router';
import { conversation } from '../state/thread';
import { showToast } from '../state/toasts';
import { Icon } from './Icons';
import { Menu } from './Menu';

export const untitled = 'Untitled chat';

function Rename({ c, onDone }: { c: Conversation; onDone: () => void }) {
  const [title, setTitle] = useState(c.title);
  const ref = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  // In the commit that shows the field (see Message's editor): typing at once replaces the title.
  useLayoutEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const commit = async () => {
    if (done.current) return;
    done.current = true;
    onDone();
    if (title.trim() === c.title) return;
    try {
      await renameConversation(c.id, title.trim());
      if (conversation.value?.id === c.id) conversation.value = { ...conversation.value, title: title.trim() };
    } catch (err) {
      showToast(`Could not rename: ${describeError(err).message}`, { kind: 'error' });
    }
  };
  return (
    <input
      ref={ref}
      class="rename-input"
      aria-label="Conversation title"
      value={title}
      maxLength={200}
      onInput={(e) => setTitle(e.currentTarget.value)}
      onBlur={() => void commit()}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          void commit();
        } else if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          done.current = true;
          onDone();
        }
      }}
    />
  );
}

export const ConversationItem = memo(function ConversationItem({ c, active }: { c: Conversation; active: boolean }) {
  const [renaming, setRenaming] = useState(false);
  const title = c.title || untitled;
  return (
    <li class={`conv-item${active ? ' active' : ''}`}>
      {renaming ? (
        <Rename c={c} onDone={() => setRenaming(false)} />
      ) : (
        <a
          href={chatPath(c.id)}
          aria-current={active ? 'page' : undefined}
          title={title}
          onClick={(e) => {
            linkClick(e);
            closeDrawerOnPhone();
          }}
        >
          {title}
        </a>
      )}
      {renaming ? null : (
        <Menu
          label={`More options for ${title}`}
          class="icon-btn small conv-menu"
          items={[
            { label: 'Rename', run: () => setRenaming(true) },
            {
              label: 'Archive',
              run: () =>
                void archiveConversation(c.id)
                  .then(() => {
                    showToast('Conversation archived (Settings lists archived chats)');
                    if (active) navigate(chatPath(null));
                  })
                  .catch((err) => showToast(`Could not archive: ${describeError(err).message}`, { kind: 'error' })),
            },
            { label: 'Delete', danger: true, run: () => void deleteWithUndo(c, () => active && navigate(chatPath(null))) },
          ]}
        >
          <Icon name="more" size={16} />
        </Menu>
      )}
    </li>
  );
});
