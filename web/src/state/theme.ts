// Light, dark or the system's choice; persisted, applied as <html data-theme>.
import { signal } from '@preact/signals';

export type ThemeChoice = 'light' | 'dark' | 'system';
const KEY = 'parley.theme';

function stored(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export const theme = signal<ThemeChoice>(typeof localStorage === 'undefined' ? 'system' : stored());

function systemDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

export function resolvedTheme(choice: ThemeChoice = theme.value): 'light' | 'dark' {
  return choice === 'system' ? (systemDark() ? 'dark' : 'light') : choice;
}

function apply(): void {
  document.documentElement.dataset.theme = resolvedTheme();
}

export function setTheme(choice: ThemeChoice): void {
  theme.value = choice;
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* private mode: the choice lasts for this page */
  }
  apply();
}

export function startTheme(): void {
  apply();
  if (typeof matchMedia === 'function') {
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      if (theme.value === 'system') apply();
    });
  }
  window.addEventListener('storage', (e) => {
    if (e.key === KEY) {
      theme.value = stored();
      apply();
    }
  });
}
