// The signed-in user's usage: totals, by model, and by day and model (group_by=day).
import { useEffect, useState } from 'preact/hooks';
import { ownUsage } from '../api/account';
import type { UsageAnswer } from '../api/types';
import { describeError } from '../lib/errors';
import { formatCost, formatInt } from '../lib/format';
import { PeriodPicker, UsageTable, periodRange, type Period } from './UsageTable';

export function OwnUsage() {
  const [period, setPeriod] = useState<Period>('month');
  const [data, setData] = useState<UsageAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setError(null);
    ownUsage({ ...periodRange(period), group_by: 'day' })
      .then(setData)
      .catch((err) => setError(describeError(err).message));
  }, [period]);

  return (
    <section class="card" aria-labelledby="usage-title">
      <div class="card-head">
        <h2 id="usage-title">Usage</h2>
        <PeriodPicker value={period} onChange={setPeriod} />
      </div>
      {error ? <p class="error-text">{error}</p> : null}
      {data ? (
        <>
          <dl class="stats">
            <div>
              <dt>Requests</dt>
              <dd>{formatInt(data.totals.requests)}</dd>
            </div>
            <div>
              <dt>Tokens</dt>
              <dd>{formatInt(data.totals.total_tokens)}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd>{formatCost(data.totals.cost_micros)}</dd>
            </div>
          </dl>
          <h3 class="section-title">By model</h3>
          <UsageTable rows={data.by_model} first={[{ title: 'Model', cell: (r) => r.model }]} caption="Usage by model" />
          <h3 class="section-title">By day</h3>
          {data.by_day ? (
            <UsageTable
              rows={[...data.by_day].reverse()}
              first={[
                { title: 'Day (UTC)', cell: (r) => r.day },
                { title: 'Model', cell: (r) => r.model },
              ]}
              caption="Usage by day and model"
            />
          ) : (
            <p class="muted">This server does not report usage by day yet.</p>
          )}
        </>
      ) : !error ? (
        <p class="muted">Loading…</p>
      ) : null}
    </section>
  );
}
