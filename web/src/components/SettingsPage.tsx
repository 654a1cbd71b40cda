// Settings: appearance, API keys, usage, archived chats, the account (sign out).
import { useEffect } from 'preact/hooks';
import { signOut, currentMe, isLocal } from '../state/session';
import { setTheme, theme, type ThemeChoice } from '../state/theme';
import { ApiKeys } from './ApiKeys';
import { ArchivedList } from './ArchivedList';
import { OwnUsage } from './OwnUsage';
import { TopBarStart } from './TopBarStart';

const themes: { value: ThemeChoice; label: string }[] = [
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
  { value: 'system', label: 'System' },
];

export function SettingsPage() {
  useEffect(() => {
    document.title = 'Settings · Parley';
  }, []);
  const me = currentMe.value;
  return (
    <div class="page">
      <header class="topbar">
        <TopBarStart />
        <h1 class="page-title">Settings</h1>
      </header>
      <div class="page-body">
        <section class="card" aria-labelledby="account-title">
          <h2 id="account-title">Account</h2>
          <div class="account-row">
            <div>
              <div>{me?.user.display_name || me?.user.email}</div>
              <div class="muted small">
                {me?.user.email} · {me?.user.role}
                {isLocal.value ? ' · local mode (no sign-in on this server)' : ''}
              </div>
            </div>
            {isLocal.value ? null : (
              <button type="button" class="btn-secondary" onClick={() => void signOut()}>
                Sign out
              </button>
            )}
          </div>
        </section>
        <section class="card" aria-labelledby="theme-title">
          <h2 id="theme-title">Appearance</h2>
          <div class="segmented" role="radiogroup" aria-labelledby="theme-title">
            {themes.map((t) => (
              <label key={t.value} class={theme.value === t.value ? 'on' : ''}>
                <input type="radio" name="theme" value={t.value} checked={theme.value === t.value} onChange={() => setTheme(t.value)} />
                {t.label}
              </label>
            ))}
          </div>
        </section>
        <ApiKeys />
        <OwnUsage />
        <ArchivedList />
      </div>
    </div>
  );
}
