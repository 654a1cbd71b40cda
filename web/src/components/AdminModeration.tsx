// Moderation (admins only): the audit log, filtered and paged, and suspensions, which can be
// lifted after a confirmation (docs/moderation.md).
import { useEffect, useState } from 'preact/hooks';
import * as admin from '../api/admin';
import type { ModerationEvent, Page, Suspension } from '../api/types';
import { describeError } from '../lib/errors';
import { formatDate } from '../lib/format';
import { describeSubject, emptyEventForm, eventActions, eventFilter, suspensionState, type EventForm } from '../lib/moderation';
import { showToast } from '../state/toasts';
import { Dialog } from './Dialog';

const PAGE = 20;

function Pager({ offset, count, hasMore, onPage }: { offset: number; count: number; hasMore: boolean; onPage: (offset: number) => void }) {
  return (
    <div class="pager">
      <button type="button" class="btn-secondary small" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - PAGE))}>
        Previous page
      </button>
      <span class="muted small">{count ? `${offset + 1}–${offset + count}` : ''}</span>
      <button type="button" class="btn-secondary small" disabled={!hasMore} onClick={() => onPage(offset + PAGE)}>
        Next page
      </button>
    </div>
  );
}

function EventFilters({ form, onChange }: { form: EventForm; onChange: (f: EventForm) => void }) {
  const text = (key: 'user_id' | 'address' | 'rule', label: string) => (
    <label class="field">
      <span>{label}</span>
      <input type="text" value={form[key]} onInput={(e) => onChange({ ...form, [key]: e.currentTarget.value })} />
    </label>
  );
  return (
    <form class="form inline-form" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
      {text('user_id', 'User id')}
      {text('address', 'Address')}
      {text('rule', 'Rule')}
      <label class="field narrow">
        <span>Action</span>
        <select value={form.action} onChange={(e) => onChange({ ...form, action: e.currentTarget.value })}>
          <option value="">any</option>
          {eventActions.map((a) => (
            <option value={a}>{a.replace('_', ' ')}</option>
          ))}
        </select>
      </label>
      <label class="field narrow">
        <span>Stage</span>
        <select value={form.stage} onChange={(e) => onChange({ ...form, stage: e.currentTarget.value })}>
          <option value="">any</option>
          <option value="input">input</option>
          <option value="output">output</option>
        </select>
      </label>
      <label class="field">
        <span>From</span>
        <input type="datetime-local" value={form.from} onInput={(e) => onChange({ ...form, from: e.currentTarget.value })} />
      </label>
      <label class="field">
        <span>To</span>
        <input type="datetime-local" value={form.to} onInput={(e) => onChange({ ...form, to: e.currentTarget.value })} />
      </label>
      <button type="button" class="btn-secondary small" onClick={() => onChange(emptyEventForm)}>
        Clear filters
      </button>
    </form>
  );
}

function ModerationEvents({ form, onForm }: { form: EventForm; onForm: (f: EventForm) => void }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<ModerationEvent> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const t = setTimeout(() => {
      setError(null);
      admin
        .moderationEvents({ ...eventFilter(form), limit: PAGE, offset })
        .then(setPage)
        .catch((err) => setError(describeError(err).message));
    }, 200);
    return () => clearTimeout(t);
  }, [form, offset]);
  const filter = (f: EventForm) => {
    setOffset(0);
    onForm(f);
  };
  return (
    <section class="card" aria-labelledby="events-title">
      <div class="card-head">
        <h2 id="events-title">Moderation events</h2>
      </div>
      <EventFilters form={form} onChange={filter} />
      {error ? <p class="error-text">{error}</p> : null}
      {page ? (
        page.data.length ? (
          <div class="table-wrap">
            <table class="table events-table">
              <caption class="visually-hidden">Moderation events</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">User</th>
                  <th scope="col">Address</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Action</th>
                  <th scope="col">Stage</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((e) => (
                  <tr key={e.id}>
                    <td>
                      {formatDate(e.at)}
                      {e.request_id ? (
                        <div class="muted small mono cell-sub" title="Request id">
                          {e.request_id}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      {e.user_id ? (
                        <button type="button" class="link-btn mono" title="Show only this user's events" onClick={() => filter({ ...form, user_id: e.user_id })}>
                          {e.user_id}
                        </button>
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                    <td class="mono">{e.address || '—'}</td>
                    <td>
                      {e.rule || <span class="muted">—</span>}
                      {e.excerpt ? <div class="muted small excerpt">{e.excerpt}</div> : null}
                    </td>
                    <td>
                      <span class={`badge${e.action === 'block' ? ' danger' : ''}`}>{e.action.replace('_', ' ')}</span>
                    </td>
                    <td>{e.stage || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">No events match these filters.</p>
        )
      ) : (
        <p class="muted">Loading…</p>
      )}
      <Pager offset={offset} count={page?.data.length ?? 0} hasMore={!!page?.has_more} onPage={setOffset} />
    </section>
  );
}

function LiftDialog({ subject, onClose, onLifted }: { subject: string; onClose: () => void; onLifted: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { kind, id } = describeSubject(subject);
  const lift = async () => {
    setBusy(true);
    try {
      await admin.liftSuspension(subject);
      showToast(`Suspension of ${id} lifted`);
      onLifted();
    } catch (err) {
      setError(describeError(err).message);
      setBusy(false);
    }
  };
  return (
    <Dialog title="Lift suspension" onClose={onClose}>
      <p>
        {kind} <strong class="mono">{id}</strong> can use this server again at once, and its violation score starts from zero.
      </p>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      <div class="dialog-actions">
        <button type="button" class="btn-secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="btn-primary danger" disabled={busy} onClick={() => void lift()}>
          Lift suspension
        </button>
      </div>
    </Dialog>
  );
}

function Suspensions({ onShowEvents }: { onShowEvents: (s: Suspension) => void }) {
  const [activeOnly, setActiveOnly] = useState(true);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page<Suspension> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lifting, setLifting] = useState<string | null>(null);
  const load = () =>
    admin
      .suspensions({ active: activeOnly, limit: PAGE, offset })
      .then((p) => {
        setError(null);
        setPage(p);
      })
      .catch((err) => setError(describeError(err).message));
  useEffect(() => void load(), [activeOnly, offset]);
  return (
    <section class="card" aria-labelledby="suspensions-title">
      <div class="card-head">
        <h2 id="suspensions-title">Suspensions</h2>
        <label class="period">
          Show
          <select
            aria-label="Which suspensions"
            value={activeOnly ? 'active' : 'all'}
            onChange={(e) => {
              setOffset(0);
              setActiveOnly(e.currentTarget.value === 'active');
            }}
          >
            <option value="active">active</option>
            <option value="all">all</option>
          </select>
        </label>
      </div>
      {error ? <p class="error-text">{error}</p> : null}
      {page ? (
        page.data.length ? (
          <div class="table-wrap">
            <table class="table">
              <caption class="visually-hidden">Suspensions</caption>
              <thead>
                <tr>
                  <th scope="col">Subject</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Until</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((s) => {
                  const { kind, id } = describeSubject(s.subject);
                  const state = suspensionState(s);
                  return (
                    <tr key={s.id} class={state === 'active' ? '' : 'revoked'}>
                      <td>
                        <div class="muted small">{kind}</div>
                        <span class="mono">{id}</span>
                      </td>
                      <td>{s.reason.replace('_', ' ')}</td>
                      <td>
                        {formatDate(s.until)}
                        <div class="muted small">since {formatDate(s.created_at)}</div>
                      </td>
                      <td>
                        <span class={`badge${state === 'active' ? ' danger' : ''}`}>{state}</span>
                        {s.lifted_at ? <div class="muted small">{formatDate(s.lifted_at)}</div> : null}
                      </td>
                      <td class="right actions">
                        <button type="button" class="btn-secondary small" onClick={() => onShowEvents(s)}>
                          Events
                        </button>
                        {state === 'active' ? (
                          <button type="button" class="btn-secondary small danger" aria-label={`Lift suspension of ${id}`} onClick={() => setLifting(s.subject)}>
                            Lift
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">{activeOnly ? 'Nobody is suspended.' : 'No suspensions yet.'}</p>
        )
      ) : (
        <p class="muted">Loading…</p>
      )}
      <Pager offset={offset} count={page?.data.length ?? 0} hasMore={!!page?.has_more} onPage={setOffset} />
      {lifting ? (
        <LiftDialog
          subject={lifting}
          onClose={() => setLifting(null)}
          onLifted={() => {
            setLifting(null);
            void load();
          }}
        />
      ) : null}
    </section>
  );
}

/** Both sections; "Events" of a suspension filters the audit log to its subject. */
export function AdminModeration() {
  const [form, setForm] = useState<EventForm>(emptyEventForm);
  const showEvents = (s: Suspension) => {
    const { id } = describeSubject(s.subject);
    const user = s.subject.startsWith('user:');
    setForm({ ...emptyEventForm, user_id: user ? id : '', address: user ? '' : id });
    requestAnimationFrame(() => document.getElementById('events-title')?.scrollIntoView?.({ behavior: 'smooth' }));
  };
  return (
    <>
      <Suspensions onShowEvents={showEvents} />
      <ModerationEvents form={form} onForm={setForm} />
    </>
  );
}
