// One message of the conversation: its content, version switcher and actions. A user message
// can be edited in place (sent as a new version); an answer can be regenerated.
import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Message as Msg } from '../api/types';
import { copyText } from '../lib/clipboard';
import type { Versions } from '../lib/tree';
import { editRestore } from '../state/reply';
import { Icon } from './Icons';
import { MessageContent } from './MessageContent';
import { Thoughts } from './Thoughts';
import { VersionSwitcher } from './VersionSwitcher';

export interface MessageProps {
  message: Msg;
  versions: Versions;
  busy: boolean;
  eager: boolean;
  onSwitch: (id: string) => void;
  onEdit: (id: string, text: string) => void;
  onRegenerate: (id: string) => void;
}

/** A reply cut short without its user asking (a crash, a lost worker, a disconnect): kept, with a retry. */
export function isInterrupted(m: Msg): boolean {
  return m.role === 'assistant' && (m.status === 'interrupted' || m.status === 'streaming');
}

export function finishNote(m: Msg): string | null {
  if (m.status === 'interrupted') {
    return m.error ? `The reply was interrupted: ${m.error}` : 'The reply was interrupted before it finished.';
  }
  if (m.status === 'streaming') return 'This reply is still being written, or was cut short.';
  switch (m.finish_reason) {
    case 'length':
      return 'The reply reached its length limit.';
    case 'stopped':
      return 'Stopped.';
    case 'cancelled':
      return 'The reply was interrupted.';
    case 'error':
      return `The reply failed${m.error ? `: ${m.error}` : '.'}`;
    case 'content_filter':
      return "The reply was stopped by this server's content policy.";
    default:
      return null;
  }
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="icon-btn small"
      aria-label="Copy"
      title={copied ? 'Copied' : 'Copy'}
      onClick={() =>
        void copyText(text).then((ok) => {
          setCopied(ok);
          setTimeout(() => setCopied(false), 1500);
        })
      }
    >
      <Icon name={copied ? 'check' : 'copy'} size={16} />
    </button>
  );
}

function Editor({ initial, onCancel, onSave }: { initial: string; onCancel: () => void; onSave: (text: string) => void }) {
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  // In the commit that shows the editor, not after the next paint: a key typed (or a selection
  // made) at once must not be followed by a late focus that moves the caret to the end.
  useLayoutEffect(() => {
    const ta = ref.current!;
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }, []);
  useLayoutEffect(() => {
    const ta = ref.current!;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, 400)}px`;
  }, [text]);
  const save = () => {
    if (text.trim()) onSave(text);
  };
  return (
    <div class="msg-editor">
      <textarea
        ref={ref}
        aria-label="Edit message text"
        value={text}
        rows={2}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onCancel();
          } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            save();
          }
        }}
      />
      <div class="msg-editor-actions">
        <button type="button" class="btn-secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" class="btn-primary" onClick={save} disabled={!text.trim()}>
          Save and send
        </button>
      </div>
    </div>
  );
}

export const Message = memo(function Message({ message: m, versions, busy, eager, onSwitch, onEdit, onRegenerate }: MessageProps) {
  const restore = editRestore.value?.messageId === m.id ? editRestore.value.text : null;
  const [editing, setEditing] = useState<string | null>(restore);
  useEffect(() => {
    if (restore !== null) {
      setEditing(restore);
      editRestore.value = null;
    }
  }, [restore]);
  const isUser = m.role === 'user';
  const note = isUser ? null : finishNote(m);
  return (
    <article class={`msg msg-${m.role}${editing !== null ? ' editing' : ''}`} data-role={m.role} data-id={m.id}>
      <div class="msg-body">
        {!isUser && m.reasoning && editing === null ? <Thoughts text={m.reasoning} /> : null}
        {editing !== null ? (
          <Editor
            initial={editing}
            onCancel={() => setEditing(null)}
            onSave={(text) => {
              setEditing(null);
              onEdit(m.id, text);
            }}
          />
        ) : isUser ? (
          <div class="user-text">{m.content}</div>
        ) : (
          <MessageContent text={m.content} eager={eager} />
        )}
        {note ? (
          <p class={`finish-note${m.finish_reason === 'error' ? ' error' : ''}${isInterrupted(m) ? ' interrupted' : ''}`}>
            {note}
            {isInterrupted(m) ? (
              <button type="button" class="btn-secondary small" disabled={busy} onClick={() => onRegenerate(m.id)}>
                Retry
              </button>
            ) : null}
          </p>
        ) : null}
      </div>
      {editing === null ? (
        <div class="msg-actions">
          <VersionSwitcher versions={versions} disabled={busy} onSwitch={onSwitch} />
          <CopyButton text={m.content} />
          {isUser ? (
            <button type="button" class="icon-btn small" aria-label="Edit message" title="Edit" disabled={busy} onClick={() => setEditing(m.content)}>
              <Icon name="edit" size={16} />
            </button>
          ) : (
            <button type="button" class="icon-btn small" aria-label="Regenerate" title="Regenerate" disabled={busy} onClick={() => onRegenerate(m.id)}>
              <Icon name="regenerate" size={16} />
            </button>
          )}
          {!isUser && m.model ? <span class="msg-model">{m.model}</span> : null}
        </div>
      ) : null}
    </article>
  );
}, same);

function same(a: MessageProps, b: MessageProps): boolean {
  return (
    a.message === b.message &&
    a.busy === b.busy &&
    a.eager === b.eager &&
    a.versions.index === b.versions.index &&
    a.versions.count === b.versions.count &&
    a.versions.prev === b.versions.prev &&
    a.versions.next === b.versions.next &&
    a.onSwitch === b.onSwitch &&
    a.onEdit === b.onEdit &&
    a.onRegenerate === b.onRegenerate
  );
}
