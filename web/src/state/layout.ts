// The sidebar: open or collapsed on a wide screen (remembered), a drawer on a phone-width one.
import { signal } from '@preact/signals';

const KEY = 'parley.sidebar';
const phoneQuery = '(max-width: 767px)';

function matches(q: string): boolean {
  return typeof matchMedia === 'function' && matchMedia(q).matches;
}

function storedOpen(): boolean {
  try {
    return localStorage.getItem(KEY) !== 'closed';
  } catch {
    return true;
  }
}

export const isPhone = signal(matches(phoneQuery));
/** Wide screens: the sidebar is shown. Phones: the drawer is open. */
export const sidebarOpen = signal(isPhone.value ? false : storedOpen());

export function setSidebar(open: boolean): void {
  sidebarOpen.value = open;
  if (!isPhone.value) {
    try {
      localStorage.setItem(KEY, open ? 'open' : 'closed');
    } catch {
      /* not remembered */
    }
  }
}

/** After navigating on a phone the drawer gets out of the way. */
export function closeDrawerOnPhone(): void {
  if (isPhone.value) sidebarOpen.value = false;
}

export function startLayout(): void {
  if (typeof matchMedia !== 'function') return;
  matchMedia(phoneQuery).addEventListener('change', (e) => {
    isPhone.value = e.matches;
    sidebarOpen.value = e.matches ? false : storedOpen();
  });
}
