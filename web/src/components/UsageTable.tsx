// Usage tables: by model, by day and model, by user. Shared by the settings and admin pages.
import type { ComponentChildren } from 'preact';
import { formatCost, formatInt } from '../lib/format';

export interface UsageLike {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  cost_micros: number;
}

export function UsageTable<T extends UsageLike>({
  rows,
  first,
  caption,
  empty = 'No usage in this period.',
}: {
  rows: T[];
  first: { title: string; cell: (row: T) => ComponentChildren }[];
  caption?: string;
  empty?: string;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table class="table numbers">
        {caption ? <caption class="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {first.map((f) => (
              <th key={f.title} scope="col" class="text">
                {f.title}
              </th>
            ))}
            <th scope="col">Requests</th>
            <th scope="col">Prompt tokens</th>
            <th scope="col">Completion tokens</th>
            <th scope="col">Total tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {first.map((f) => (
                <td key={f.title} class="text">
                  {f.cell(r)}
                </td>
              ))}
              <td>{formatInt(r.requests)}</td>
              <td>{formatInt(r.prompt_tokens)}</td>
              <td>{formatInt(r.completion_tokens)}</td>
              <td>{formatInt(r.total_tokens ?? r.prompt_tokens + r.completion_tokens)}</td>
              <td>{formatCost(r.cost_micros)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Periods offered above usage tables: this month, the last 7 and 30 days. */
export type Period = 'month' | '7d' | '30d';

export function periodRange(p: Period, now: Date = new Date()): { from: number; to: number } {
  const to = Math.floor(now.getTime() / 1000);
  if (p === 'month') return { from: Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000), to };
  return { from: to - (p === '7d' ? 7 : 30) * 86400, to };
}

export function PeriodPicker({ value, onChange }: { value: Period; onChange: (p: Period) => void }) {
  return (
    <label class="period">
      <span>Period</span>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value as Period)}>
        <option value="month">This month (UTC)</option>
        <option value="7d">Last 7 days</option>
        <option value="30d">Last 30 days</option>
      </select>
    </label>
  );
}
