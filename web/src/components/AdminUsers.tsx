// Users (admins only): search, pages, create, role, disable/enable, reset password.
import { useEffect, useState } from 'preact/hooks';
import * as admin from '../api/admin';
import type { Role, User } from '../api/types';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { currentMe } from '../state/session';
import { showToast } from '../state/toasts';

const PAGE = 20;

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('user');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await admin.createUser({ email: email.trim(), password, role });
      showToast(`Created ${email.trim()}`);
      setEmail('');
      setPassword('');
      onCreated();
    } catch (err) {
      setError(describeError(err).message);
    }
  };
  return (
    <form class="form inline-form" onSubmit={(e) => void submit(e)} aria-label="Create a user">
      <label class="field">
        <span>New user's e-mail</span>
        <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>Initial password</span>
        <input type="password" required autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <label class="field narrow">
        <span>Role</span>
        <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </label>
      <button type="submit" class="btn-primary">
        Create user
      </button>
      {error ? (
        <p class="error-text full" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function ResetPassword({ user, onDone }: { user: User; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await admin.resetPassword(user.id, password);
      showToast(`Password of ${user.email} reset; their sessions ended`);
      onDone();
    } catch (err) {
      setError(describeError(err).message);
    }
  };
  return (
    <form class="form inline-form reset" onSubmit={(e) => void submit(e)}>
      <label class="field">
        <span>New password for {user.email}</span>
        <input type="password" autoComplete="new-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} autoFocus />
      </label>
      <button type="submit" class="btn-primary small">
        Set password
      </button>
      <button type="button" class="btn-secondary small" onClick={onDone}>
        Close
      </button>
      {error ? (
        <p class="error-text full" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

export function AdminUsers({ onShowUsage }: { onShowUsage: (u: User) => void }) {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ data: User[]; has_more: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [resetting, setResetting] = useState<string | null>(null);
  const myId = currentMe.value?.user.id;

  const load = () =>
    admin
      .listUsers({ search: search.trim() || undefined, limit: PAGE, offset })
      .then(setPage)
      .catch((err) => setError(describeError(err).message));
  useEffect(() => {
    const t = setTimeout(() => void load(), 200);
    return () => clearTimeout(t);
  }, [search, offset]);

  const update = async (u: User, body: { role?: Role; disabled?: boolean }) => {
    try {
      await admin.updateUser(u.id, body);
      await load();
    } catch (err) {
      showToast(describeError(err).message, { kind: 'error' });
    }
  };

  return (
    <section class="card" aria-labelledby="users-title">
      <div class="card-head">
        <h2 id="users-title">Users</h2>
        <input
          type="search"
          class="search-input"
          aria-label="Search users"
          placeholder="Search by e-mail"
          value={search}
          onInput={(e) => {
            setSearch(e.currentTarget.value);
            setOffset(0);
          }}
        />
      </div>
      <CreateUser onCreated={() => void load()} />
      {error ? <p class="error-text">{error}</p> : null}
      {page ? (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((u) => (
                <>
                  <tr key={u.id} class={u.disabled ? 'revoked' : ''}>
                    <td>
                      {u.email}
                      {u.display_name ? <div class="muted small">{u.display_name}</div> : null}
                    </td>
                    <td>
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        disabled={u.id === myId}
                        onChange={(e) => void update(u, { role: e.currentTarget.value as Role })}
                      >
                        <option value="user">user</option>
                        <option value="admin">admin</option>
                      </select>
                    </td>
                    <td>{u.disabled ? <span class="badge danger">disabled</span> : <span class="badge ok">active</span>}</td>
                    <td>{formatDate(u.created_at)}</td>
                    <td class="right actions">
                      <button type="button" class="btn-secondary small" onClick={() => onShowUsage(u)}>
                        Usage
                      </button>
                      <button type="button" class="btn-secondary small" onClick={() => setResetting(resetting === u.id ? null : u.id)}>
                        Reset password
                      </button>
                      {u.id === myId ? null : (
                        <button type="button" class={`btn-secondary small${u.disabled ? '' : ' danger'}`} onClick={() => void update(u, { disabled: !u.disabled })}>
                          {u.disabled ? 'Enable' : 'Disable'}
                        </button>
                      )}
                    </td>
                  </tr>
                  {resetting === u.id ? (
                    <tr key={`${u.id}-reset`}>
                      <td colSpan={5}>
                        <ResetPassword user={u} onDone={() => setResetting(null)} />
                      </td>
                    </tr>
                  ) : null}
                </>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">Loading…</p>
      )}
      <div class="pager">
        <button type="button" class="btn-secondary small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous page
        </button>
        <span class="muted small">
          {page && page.data.length ? `${offset + 1}–${offset + page.data.length}` : ''}
        </span>
        <button type="button" class="btn-secondary small" disabled={!page?.has_more} onClick={() => setOffset(offset + PAGE)}>
          Next page
        </button>
      </div>
    </section>
  );
}
