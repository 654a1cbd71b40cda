// API keys for the OpenAI-compatible API: create (name, scopes, expiry), copy once, revoke.
import { useEffect, useState } from 'preact/hooks';
import * as account from '../api/account';
import type { ApiKey, Scope } from '../api/types';
import { copyText } from '../lib/clipboard';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { isAdmin } from '../state/session';

function NewSecret({ k, onDone }: { k: ApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret-box" role="status">
      <p>
        <strong>Copy the key “{k.name || k.prefix}” now:</strong> it is shown only this once.
      </p>
      <div class="secret-row">
        <code class="mono secret" tabIndex={0}>
          {k.secret}
        </code>
        <button
          type="button"
          class="btn-primary small"
          onClick={() =>
            void copyText(k.secret ?? '').then((ok) => {
              setCopied(ok);
              setTimeout(() => setCopied(false), 1500);
            })
          }
        >
          {copied ? 'Copied' : 'Copy key'}
        </button>
        <button type="button" class="btn-secondary small" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['chat', 'models']);
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () =>
    account
      .listKeys()
      .then((l) => setKeys(l.data))
      .catch((err) => setError(describeError(err).message));
  useEffect(() => void load(), []);

  const toggle = (s: Scope) => setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s]);

  const create = async (e: Event) => {
    e.preventDefault();
    const d = days.trim() ? Number(days) : undefined;
    if (d !== undefined && (!Number.isInteger(d) || d < 1)) return setError('Expiry is a whole number of days (or empty: never).');
    if (scopes.length === 0) return setError('Choose at least one scope.');
    setBusy(true);
    setError(null);
    try {
      const k = await account.createKey({ name: name.trim() || undefined, scopes, expires_in_days: d });
      setCreated(k);
      setName('');
      setDays('');
      await load();
    } catch (err) {
      setError(describeError(err).message);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (k: ApiKey) => {
    try {
      await account.revokeKey(k.id);
      await load();
    } catch (err) {
      setError(describeError(err).message);
    }
  };

  const available: Scope[] = isAdmin.value ? ['chat', 'models', 'admin'] : ['chat', 'models'];
  return (
    <section class="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p class="hint">
        Keys let programs use the OpenAI-compatible API at <code>/v1</code> (for example the official SDKs with <code>base_url</code> set to this server).
      </p>
      {created ? <NewSecret k={created} onDone={() => setCreated(null)} /> : null}
      <form class="form inline-form" onSubmit={(e) => void create(e)}>
        <label class="field">
          <span>Key name</span>
          <input value={name} maxLength={100} placeholder="e.g. laptop scripts" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset class="field scopes">
          <legend>Scopes</legend>
          {available.map((s) => (
            <label key={s} class="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} />
              {s}
            </label>
          ))}
        </fieldset>
        <label class="field narrow">
          <span>Expires in days</span>
          <input type="number" min={1} step={1} placeholder="never" value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </label>
        <button type="submit" class="btn-primary" disabled={busy}>
          Create key
        </button>
      </form>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {keys === null ? (
        <p class="muted">Loading…</p>
      ) : keys.length === 0 ? (
        <p class="muted">No keys yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} class={k.revoked_at ? 'revoked' : ''}>
                  <td>{k.name || <span class="muted">unnamed</span>}</td>
                  <td class="mono">{k.prefix}…</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{formatDate(k.created_at)}</td>
                  <td>{k.expires_at ? formatDate(k.expires_at) : 'never'}</td>
                  <td>{k.last_used_at ? formatDate(k.last_used_at) : 'never'}</td>
                  <td class="right">
                    {k.revoked_at ? (
                      <span class="badge">revoked</span>
                    ) : (
                      <button type="button" class="btn-secondary small danger" aria-label={`Revoke key ${k.name || k.prefix}`} onClick={() => void revoke(k)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
