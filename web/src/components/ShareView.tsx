// /share/{token}: a read-only snapshot that anyone with the link can read, signed in or not.
import { useEffect, useState } from 'preact/hooks';
import { getShared } from '../api/conversations';
import type { SharedConversation } from '../api/types';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { isDemoModel } from '../state/models';
import { Icon } from './Icons';
import { MessageContent } from './MessageContent';

function noindex(): () => void {
  const meta = document.createElement('meta');
  meta.name = 'robots';
  meta.content = 'noindex, nofollow';
  document.head.appendChild(meta);
  return () => meta.remove();
}

export function ShareView({ token }: { token: string }) {
  const [data, setData] = useState<SharedConversation | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(noindex, []);
  useEffect(() => {
    setData(null);
    setError(null);
    getShared(token)
      .then((d) => {
        setData(d);
        document.title = `${d.title || 'Shared conversation'} · Parley`;
      })
      .catch((err) => {
        const e = describeError(err);
        setError(e.kind === 'not_found' ? 'This link does not exist or was revoked.' : e.message);
      });
  }, [token]);

  const shown = data?.messages.filter((m) => m.role === 'user' || m.role === 'assistant') ?? [];
  // A reader of a shared demo conversation has not seen the chat's banner: say it here too.
  const demo = shown.find((m) => m.role === 'assistant' && m.model && isDemoModel(m.model))?.model;
  return (
    <div class="share-page">
      <header class="share-head">
        <a class="brand" href="/">
          <span class="brand-mark" aria-hidden="true" />
          Parley
        </a>
        <span class="badge">Read-only</span>
      </header>
      <main class="share-main">
        {error ? <p class="error-text center pad">{error}</p> : null}
        {!data && !error ? <p class="muted center pad">Loading…</p> : null}
        {data ? (
          <>
            <h1 class="share-title">{data.title || 'Shared conversation'}</h1>
            <p class="muted center small">
              A snapshot shared on {formatDate(data.created_at)} · {shown.length} messages
            </p>
            {demo ? (
              <div class="banner banner-demo" role="note" aria-label="Demo model">
                <Icon name="alert" size={16} />
                <p>
                  <strong>Demo model:</strong> the replies come from {demo}, Parley's built-in demo model. It has random weights, so its replies are
                  noise.
                </p>
              </div>
            ) : null}
            <div class="conversation-inner">
              {shown.map((m, i) => (
                <article key={i} class={`msg msg-${m.role}`} data-role={m.role}>
                  <div class="msg-body">
                    {m.role === 'user' ? <div class="user-text">{m.content}</div> : <MessageContent text={m.content} eager={i >= shown.length - 40} />}
                  </div>
                  {m.role === 'assistant' && m.model ? (
                    <div class="msg-actions visible">
                      <span class="msg-model">{m.model}</span>
                    </div>
                  ) : null}
                </article>
              ))}
            </div>
          </>
        ) : null}
      </main>
    </div>
  );
}
