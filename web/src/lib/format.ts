// Numbers, money and times as the UI shows them.
const nf = new Intl.NumberFormat();

export function formatInt(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : nf.format(n);
}

/** cost_micros are millionths of the price table's currency; small amounts keep precision. */
export function formatCost(micros: number | null | undefined): string {
  if (micros === null || micros === undefined) return '—';
  const v = micros / 1e6;
  if (v === 0) return '0';
  if (v < 0.01) return v.toPrecision(2);
  return v.toFixed(v < 100 ? 4 : 2).replace(/0+$/, '').replace(/\.$/, '');
}

export function formatDate(unix: number | null | undefined): string {
  if (!unix) return '—';
  return new Date(unix * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
