// The admin page's moderation sections against a scripted API: a suspension is lifted only after
// the confirmation, and the audit log is asked with the filters as typed.
import { render } from 'preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModerationEvent, Suspension } from '../api/types';
import { AdminModeration } from './AdminModeration';

const suspension: Suspension = {
  id: 'sus_1',
  subject: 'user:usr_1',
  reason: 'blocked',
  score: 10,
  created_at: 1_700_000_000,
  until: 1_700_003_600,
  created_by: '',
  lifted_at: null,
  lifted_by: '',
  active: true,
};

const event: ModerationEvent = {
  id: 'mev_1',
  at: 1_700_000_000,
  user_id: 'usr_1',
  address: '10.0.0.7',
  request_id: 'req_1',
  rule: 'nightingale',
  action: 'block',
  stage: 'input',
  excerpt: '',
};

let root: HTMLElement;
afterEach(() => {
  render(null, root);
  root.remove();
  vi.unstubAllGlobals();
});

// A fetch that answers the moderation API from `state` and records every call.
function scriptedApi() {
  const state = { lifted: false };
  const calls: { url: string; method: string; body?: string }[] = [];
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      calls.push({ url, method: init.method ?? 'GET', body: init.body as string | undefined });
      if (url.startsWith('/api/admin/moderation/suspensions/lift')) {
        state.lifted = true;
        return json({ subject: 'user:usr_1', lifted: true });
      }
      if (url.startsWith('/api/admin/moderation/suspensions')) {
        return json({ object: 'list', data: state.lifted ? [] : [suspension], has_more: false });
      }
      return json({ object: 'list', data: [event], has_more: false });
    }),
  );
  return calls;
}

async function until(check: () => boolean) {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

const byLabel = (label: string) => root.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]`);
const byText = (text: string) => [...root.querySelectorAll('button')].find((b) => b.textContent?.trim() === text);

describe('AdminModeration', () => {
  it('lifts a suspension only after the confirmation', async () => {
    const calls = scriptedApi();
    root = document.createElement('div');
    document.body.appendChild(root);
    render(<AdminModeration />, root);
    await until(() => byLabel('Lift suspension of usr_1') !== null);

    byLabel('Lift suspension of usr_1')!.click();
    await until(() => byText('Cancel') !== undefined);
    byText('Cancel')!.click();
    await until(() => byText('Cancel') === undefined);
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    byLabel('Lift suspension of usr_1')!.click();
    await until(() => byText('Lift suspension') !== undefined);
    byText('Lift suspension')!.click();
    await until(() => root.textContent!.includes('Nobody is suspended.'));
    const lift = calls.filter((c) => c.method === 'POST');
    expect(lift).toHaveLength(1);
    expect(lift[0]!.url).toBe('/api/admin/moderation/suspensions/lift');
    expect(JSON.parse(lift[0]!.body!)).toEqual({ subject: 'user:usr_1' });
  });

  it('asks for the events of a suspended subject with "Events"', async () => {
    const calls = scriptedApi();
    root = document.createElement('div');
    document.body.appendChild(root);
    render(<AdminModeration />, root);
    await until(() => root.textContent!.includes('nightingale'));
    expect(calls.some((c) => c.url.startsWith('/api/admin/moderation/suspensions?active=true'))).toBe(true);
    byText('Events')!.click();
    await until(() => calls.some((c) => c.url.includes('/events?user_id=usr_1')));
  });
});
