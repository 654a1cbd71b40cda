// Share links: a read-only snapshot of the conversation as it is now; copy, list, revoke.
import { useEffect, useState } from 'preact/hooks';
import * as api from '../api/conversations';
import type { Share } from '../api/types';
import { copyText } from '../lib/clipboard';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { Dialog } from './Dialog';

const absolute = (s: Share) => new URL(s.url || `/share/${s.token}`, location.origin).href;

export function SharePanel({ conversationId, onClose }: { conversationId: string; onClose: () => void }) {
  const [shares, setShares] = useState<Share[] | null>(null);
  const [created, setCreated] = useState<Share | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);

  const load = () =>
    api
      .listShares(conversationId)
      .then((l) => setShares(l.data))
      .catch((err) => setError(describeError(err).message));
  useEffect(() => void load(), [conversationId]);

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const s = await api.createShare(conversationId);
      setCreated(s);
      await load();
    } catch (err) {
      setError(describeError(err).message);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (s: Share) => {
    try {
      await api.revokeShare(s.id);
      if (created?.id === s.id) setCreated(null);
      await load();
    } catch (err) {
      setError(describeError(err).message);
    }
  };

  return (
    <Dialog title="Share conversation" onClose={onClose}>
      <p class="hint">
        Anyone with the link can read this conversation as it is now, without signing in. Messages added later are not shared. Links are not
        indexed by search engines and can be revoked at any time.
      </p>
      {created ? (
        <div class="share-created">
          <input class="mono" readOnly aria-label="Public link" value={absolute(created)} onFocus={(e) => e.currentTarget.select()} />
          <button
            type="button"
            class="btn-primary"
            onClick={() =>
              void copyText(absolute(created)).then((ok) => {
                setCopied(ok);
                setTimeout(() => setCopied(false), 1500);
              })
            }
          >
            {copied ? 'Copied' : 'Copy link'}
          </button>
        </div>
      ) : (
        <button type="button" class="btn-primary" disabled={busy} onClick={() => void create()}>
          {busy ? 'Creating…' : 'Create link'}
        </button>
      )}
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      <h3 class="section-title">Links</h3>
      {shares === null ? (
        <p class="muted">Loading…</p>
      ) : shares.length === 0 ? (
        <p class="muted">No links yet.</p>
      ) : (
        <ul class="share-list">
          {shares.map((s) => (
            <li key={s.id} class={s.revoked_at ? 'revoked' : ''}>
              <div>
                <a href={absolute(s)} target="_blank" rel="noopener noreferrer" class="mono">
                  /share/{s.token.slice(0, 10)}…
                </a>
                <div class="muted small">
                  {formatDate(s.created_at)} · {s.message_count} messages{s.revoked_at ? ` · revoked ${formatDate(s.revoked_at)}` : ''}
                </div>
              </div>
              {s.revoked_at ? null : (
                <button type="button" class="btn-secondary small danger" onClick={() => void revoke(s)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
