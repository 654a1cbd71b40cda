// The message box. Enter sends, Shift+Enter is a new line; the text is saved as a draft of this
// conversation at every keystroke and cleared only once the server has saved the message.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { drafts } from '../lib/drafts';
import { isPhone } from '../state/layout';
import { composerRestore, sendMessage, stopReply, streamOf } from '../state/reply';
import { Icon } from './Icons';

export function Composer({ draftKey, conversationId, disabled }: { draftKey: string; conversationId: string | null; disabled?: boolean }) {
  const [text, setText] = useState(() => drafts.load(draftKey));
  const ref = useRef<HTMLTextAreaElement>(null);
  const s = streamOf(conversationId);

  // Ready to type on a wide screen; a phone would pop its keyboard over the page. In the commit
  // that opens the chat: a focus after the next paint could take it from a field already in use.
  useLayoutEffect(() => {
    if (!isPhone.value) ref.current?.focus({ preventScroll: true });
  }, [draftKey]);

  // A send that failed before the server kept the message hands its text back.
  const restore = composerRestore.value;
  useEffect(() => {
    if (restore && restore.key === draftKey) {
      composerRestore.value = null;
      setText((current) => {
        if (current.trim()) return current;
        drafts.save(draftKey, restore.text);
        return restore.text;
      });
    }
  }, [restore, draftKey]);

  useEffect(() => {
    const ta = ref.current;
    if (!ta) return;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
  }, [text]);

  const canSend = text.trim().length > 0 && !s && !disabled;
  const send = () => {
    if (!canSend) return;
    const value = text;
    setText(''); // the stored draft stays until the server confirms the message
    void sendMessage(value);
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <div class="composer-box">
        <textarea
          ref={ref}
          aria-label="Message"
          placeholder="Message Parley"
          rows={1}
          value={text}
          disabled={disabled}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            drafts.save(draftKey, v);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
              e.preventDefault();
              send();
            }
          }}
        />
        {s ? (
          <button type="button" class="send-btn stop" aria-label="Stop generating" title="Stop generating (Esc)" onClick={() => void stopReply(conversationId)}>
            <Icon name="stop" size={16} />
          </button>
        ) : (
          <button type="submit" class="send-btn" aria-label="Send message" title="Send message (Enter)" disabled={!canSend}>
            <Icon name="send" size={18} />
          </button>
        )}
      </div>
      <p class="composer-hint">Enter to send · Shift+Enter for a new line · Esc to stop</p>
    </form>
  );
}
