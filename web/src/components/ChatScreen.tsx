// The chat: top bar (model, settings, share, export), the demo banner, the conversation and the
// composer.
import { useEffect, useState } from 'preact/hooks';
import { NEW_CHAT } from '../lib/drafts';
import { effectiveModel } from '../state/models';
import { conversation } from '../state/thread';
import { DemoBanner } from './Banners';
import { Composer } from './Composer';
import { ConversationSettings } from './ConversationSettings';
import { ConversationView } from './ConversationView';
import { ExportMenu } from './ExportMenu';
import { Icon } from './Icons';
import { ModelPicker } from './ModelPicker';
import { SharePanel } from './SharePanel';
import { TopBarStart } from './TopBarStart';

function EmptyChat() {
  return (
    <div class="empty-chat">
      <h1>What can I help with?</h1>
      <p class="muted">Ask anything. Replies stream as they are written; edit a message or regenerate an answer to branch off.</p>
    </div>
  );
}

export function ChatScreen({ routeId }: { routeId: string | null }) {
  const c = conversation.value;
  const [panel, setPanel] = useState<'settings' | 'share' | null>(null);
  const model = effectiveModel(c?.settings?.model ?? c?.model);
  const id = c?.id ?? null;
  useEffect(() => {
    document.title = c?.title ? `${c.title} · Parley` : 'Parley';
  }, [c?.title]);
  return (
    <div class="chat-screen">
      <header class="topbar">
        <TopBarStart />
        <ModelPicker />
        <div class="topbar-end">
          <button type="button" class="icon-btn" aria-label="Conversation settings" title="Conversation settings" onClick={() => setPanel('settings')}>
            <Icon name="settings" />
          </button>
          {id ? (
            <>
              <button type="button" class="icon-btn" aria-label="Share" title="Share" onClick={() => setPanel('share')}>
                <Icon name="share" />
              </button>
              <ExportMenu conversationId={id} />
            </>
          ) : null}
        </div>
      </header>
      <DemoBanner model={model} />
      <ConversationView empty={<EmptyChat />} />
      <Composer key={routeId ?? NEW_CHAT} draftKey={routeId ?? NEW_CHAT} conversationId={id} />
      {panel === 'settings' ? <ConversationSettings onClose={() => setPanel(null)} /> : null}
      {panel === 'share' && id ? <SharePanel conversationId={id} onClose={() => setPanel(null)} /> : null}
    </div>
  );
}
