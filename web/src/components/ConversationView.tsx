// The messages of the current path, the growing reply, and the scrolling that follows it
// unless the reader scrolled up (then a "Jump to latest" button).
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { pathTo, versionsOf, visible } from '../lib/tree';
import { editMessage, regenerate, streamOf, type Streaming } from '../state/reply';
import { conversation, leafId, replyError, switchVersion, threadError, threadStatus, tree } from '../state/thread';
import { Icon } from './Icons';
import { Message } from './Message';
import { ReplyError } from './ReplyError';
import { StreamingMessage } from './StreamingMessage';

const EAGER_TAIL = 40; // messages at the end rendered at once; the rest when scrolled near
const STICK_PX = 48;

const onSwitch = (id: string) => void switchVersion(id);
const onEdit = (id: string, text: string) => void editMessage(id, text);
const onRegenerate = (id: string) => void regenerate(id);

export function ConversationView({ empty }: { empty: ComponentChildren }) {
  const c = conversation.value;
  const s: Streaming | null = streamOf(c?.id);
  const t = tree.value;
  const shownPath = visible(pathTo(t, s ? s.baseId : leafId.value));
  const scroller = useRef<HTMLDivElement>(null);
  const inner = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [atBottom, setAtBottom] = useState(true);

  const toBottom = useCallback((smooth = false) => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
  }, []);

  // A newly opened conversation starts at its end.
  useLayoutEffect(() => {
    stick.current = true;
    setAtBottom(true);
    toBottom();
  }, [c?.id, threadStatus.value === 'ready']);

  // Sending always brings the view to the new message.
  useLayoutEffect(() => {
    if (s) {
      stick.current = true;
      setAtBottom(true);
      toBottom();
    }
  }, [s?.pendingUser, Boolean(s)]);

  // Content grows (tokens, Markdown rendered late, images of math): follow it when stuck.
  useEffect(() => {
    const el = inner.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (stick.current) toBottom();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [toBottom]);

  // A reader scrolling up stops the following at once (before any resize can pull it down).
  const release = (e: Event) => {
    if (e instanceof WheelEvent && e.deltaY >= 0) return;
    if (e instanceof KeyboardEvent && !['ArrowUp', 'PageUp', 'Home'].includes(e.key)) return;
    stick.current = false;
  };

  const onScroll = () => {
    const el = scroller.current!;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
    stick.current = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
  };

  const busy = Boolean(s);
  const err = replyError.value;
  const showError = err && (err.conversationId === (c?.id ?? null) || err.conversationId === null);
  const nothing = shownPath.length === 0 && !s;

  return (
    <div class="conversation" ref={scroller} onScroll={onScroll} onWheel={release} onTouchMove={release} onKeyDown={release}>
      <div class="conversation-inner" ref={inner}>
        {threadStatus.value === 'loading' && shownPath.length === 0 ? <p class="muted center pad">Loading…</p> : null}
        {threadStatus.value === 'missing' ? <p class="muted center pad">This conversation does not exist (or was deleted).</p> : null}
        {threadStatus.value === 'error' ? <p class="error-text center pad">{threadError.value}</p> : null}
        {nothing && threadStatus.value === 'ready' && !showError ? empty : null}
        {shownPath.map((m, i) => (
          <Message
            key={m.id}
            message={m}
            versions={versionsOf(t, m)}
            busy={busy}
            eager={i >= shownPath.length - EAGER_TAIL}
            onSwitch={onSwitch}
            onEdit={onEdit}
            onRegenerate={onRegenerate}
          />
        ))}
        {s?.pendingUser != null ? (
          <article class="msg msg-user pending" data-role="user">
            <div class="msg-body">
              <div class="user-text">{s.pendingUser}</div>
            </div>
          </article>
        ) : null}
        {s ? <StreamingMessage key={s.conversationId} text={s.text} reasoning={s.reasoning} /> : null}
        {showError ? <ReplyError error={err.error} retryOn={err.retryOn} busy={busy} /> : null}
      </div>
      {!atBottom ? (
        <button type="button" class="jump-latest" onClick={() => toBottom(true)}>
          <Icon name="down" size={16} />
          Jump to latest
        </button>
      ) : null}
    </div>
  );
}
