// Sign in, or create an account when the server allows sign-up (the first account is admin).
import { useState } from 'preact/hooks';
import type { AuthOptions } from '../api/types';
import { ApiError } from '../api/http';
import { describeError } from '../lib/errors';
import { signIn, signUp } from '../state/session';

export function SignInPage({ options }: { options: AuthOptions }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<'in' | 'up' | null>(null);
  const [error, setError] = useState<{ text: string; field: 'email' | 'password' | null } | null>(null);

  const submit = async (mode: 'in' | 'up') => {
    if (!email.trim() || !password) {
      setError({ text: 'Enter your e-mail address and a password.', field: email.trim() ? 'password' : 'email' });
      return;
    }
    setBusy(mode);
    setError(null);
    try {
      if (mode === 'in') await signIn(email.trim(), password);
      else await signUp(email.trim(), password);
    } catch (err) {
      let text = describeError(err).message;
      let field: 'email' | 'password' | null = null;
      if (err instanceof ApiError) {
        if (err.code === 'invalid_credentials') text = 'Wrong e-mail address or password.';
        if (err.status === 409) text = 'An account with this e-mail address already exists: sign in instead.';
        if (err.code === 'signup_disabled') text = 'This server does not allow creating accounts; ask its administrator.';
        if (err.param === 'password' || err.code === 'weak_password') field = 'password';
        if (err.param === 'email') field = 'email';
      }
      setError({ text, field });
    } finally {
      setBusy(null);
    }
  };

  return (
    <main class="auth-page">
      <form
        class="auth-card"
        onSubmit={(e) => {
          e.preventDefault();
          void submit('in');
        }}
        noValidate
      >
        <div class="auth-brand">
          <span class="brand-mark large" aria-hidden="true" />
          <h1>Parley</h1>
        </div>
        <p class="muted center">{options.signup ? 'Sign in, or create an account.' : 'Sign in to continue.'}</p>
        <label class="field">
          <span>Email</span>
          <input
            type="email"
            autoComplete="username"
            value={email}
            aria-invalid={error?.field === 'email'}
            onInput={(e) => setEmail(e.currentTarget.value)}
            required
            autoFocus
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            aria-invalid={error?.field === 'password'}
            aria-describedby={error ? 'auth-error' : undefined}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error ? (
          <p id="auth-error" class="error-text" role="alert">
            {error.text}
          </p>
        ) : null}
        <button type="submit" class="btn-primary wide" disabled={busy !== null}>
          {busy === 'in' ? 'Signing in…' : 'Sign in'}
        </button>
        {options.signup ? (
          <>
            <div class="divider">
              <span>or</span>
            </div>
            <button type="button" class="btn-secondary wide" disabled={busy !== null} onClick={() => void submit('up')}>
              {busy === 'up' ? 'Creating account…' : 'Create account'}
            </button>
            <p class="hint center">A password of 8 characters or more that is not easy to guess: a few unrelated words work well.</p>
          </>
        ) : null}
      </form>
    </main>
  );
}
