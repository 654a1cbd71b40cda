// Client-side routes over the History API: /, /c/{id}, /settings, /admin, /share/{token}, /login.
import { computed, signal } from '@preact/signals';

export type Route =
  | { name: 'chat'; id: string | null }
  | { name: 'settings' }
  | { name: 'admin' }
  | { name: 'share'; token: string }
  | { name: 'login' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(safeDecode);
  if (parts[0] === 'c' && parts[1]) return { name: 'chat', id: parts[1] };
  if (parts[0] === 'share' && parts[1]) return { name: 'share', token: parts[1] };
  if (parts[0] === 'settings') return { name: 'settings' };
  if (parts[0] === 'admin') return { name: 'admin' };
  if (parts[0] === 'login') return { name: 'login' };
  return { name: 'chat', id: null };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const chatPath = (id: string | null) => (id ? `/c/${encodeURIComponent(id)}` : '/');

export const pathname = signal(typeof location === 'undefined' ? '/' : location.pathname);
export const route = computed(() => parseRoute(pathname.value));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  pathname.value = location.pathname;
}

export function startRouter(): void {
  window.addEventListener('popstate', () => {
    pathname.value = location.pathname;
  });
}

/** onClick for <a href> links inside the app: client-side unless a modifier asks for a tab. */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest('a');
  const href = a?.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  e.preventDefault();
  navigate(href);
}
