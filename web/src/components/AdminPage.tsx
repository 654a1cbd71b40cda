// Administration: users, usage by user (with one user's usage by model), and moderation
// (suspensions and the audit log).
import { useEffect, useState } from 'preact/hooks';
import * as admin from '../api/admin';
import type { User, UsageRow, UserUsageRow } from '../api/types';
import { describeError } from '../lib/errors';
import { AdminModeration } from './AdminModeration';
import { AdminUsers } from './AdminUsers';
import { TopBarStart } from './TopBarStart';
import { PeriodPicker, UsageTable, periodRange, type Period } from './UsageTable';

function UserUsage({ user, period }: { user: User; period: Period }) {
  const [rows, setRows] = useState<UsageRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setRows(null);
    admin
      .userUsage(user.id, periodRange(period))
      .then((u) => setRows(u.by_model))
      .catch((err) => setError(describeError(err).message));
  }, [user.id, period]);
  return (
    <div class="sub-card">
      <h3 class="section-title">Usage of {user.email} by model</h3>
      {error ? <p class="error-text">{error}</p> : rows ? <UsageTable rows={rows} first={[{ title: 'Model', cell: (r) => r.model }]} /> : <p class="muted">Loading…</p>}
    </div>
  );
}

export function AdminPage() {
  useEffect(() => {
    document.title = 'Admin · Parley';
  }, []);
  const [period, setPeriod] = useState<Period>('month');
  const [rows, setRows] = useState<UserUsageRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<User | null>(null);

  useEffect(() => {
    admin
      .usageByUser(periodRange(period))
      .then((u) => setRows(u.by_user))
      .catch((err) => setError(describeError(err).message));
  }, [period]);

  const pick = (u: User) => {
    setSelected(u);
    requestAnimationFrame(() => document.getElementById('usage-by-user')?.scrollIntoView({ behavior: 'smooth' }));
  };

  return (
    <div class="page">
      <header class="topbar">
        <TopBarStart />
        <h1 class="page-title">Admin</h1>
      </header>
      <div class="page-body">
        <AdminUsers onShowUsage={pick} />
        <section class="card" id="usage-by-user" aria-labelledby="uu-title">
          <div class="card-head">
            <h2 id="uu-title">Usage by user</h2>
            <PeriodPicker value={period} onChange={setPeriod} />
          </div>
          {error ? <p class="error-text">{error}</p> : null}
          {rows ? (
            <UsageTable
              rows={rows}
              first={[
                {
                  title: 'User',
                  cell: (r) => (
                    <button
                      type="button"
                      class="link-btn"
                      onClick={() => pick({ id: r.user_id, email: r.email, display_name: '', role: 'user', disabled: false, created_at: 0 })}
                    >
                      {r.email}
                    </button>
                  ),
                },
              ]}
              caption="Usage by user"
            />
          ) : (
            <p class="muted">Loading…</p>
          )}
          {selected ? <UserUsage user={selected} period={period} /> : null}
        </section>
        <AdminModeration />
      </div>
    </div>
  );
}
