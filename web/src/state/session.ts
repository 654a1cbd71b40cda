// Who is signed in: auth options, /api/auth/me, the CSRF token; sign in, sign up, sign out.
import { computed, signal } from '@preact/signals';
import * as account from '../api/account';
import { ApiError, setCsrfToken, setUnauthorizedHandler } from '../api/http';
import type { AuthOptions, Me } from '../api/types';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; options: AuthOptions }
  | { status: 'ready'; options: AuthOptions; me: Me }
  | { status: 'unreachable'; message: string };

export const session = signal<SessionState>({ status: 'loading' });

export const currentMe = computed(() => (session.value.status === 'ready' ? session.value.me : null));
export const isAdmin = computed(() => currentMe.value?.user.role === 'admin');
export const isLocal = computed(() => currentMe.value?.via === 'local');

let options: AuthOptions = { auth_mode: 'required', signup: false };

/** Reads the options and the current user; a 401 means signed out. */
export async function bootstrap(): Promise<void> {
  setUnauthorizedHandler(() => {
    if (session.value.status === 'ready') session.value = { status: 'signed-out', options };
  });
  try {
    options = await account.authOptions();
  } catch (err) {
    if (err instanceof ApiError && err.isNetwork) {
      session.value = { status: 'unreachable', message: 'Cannot reach the Parley server.' };
      return;
    }
    // An old server without /api/auth/options: assume accounts, no sign-up.
  }
  await refreshMe();
}

export async function refreshMe(): Promise<void> {
  try {
    const me = await account.me();
    setCsrfToken(me.csrf_token);
    session.value = { status: 'ready', options, me };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setCsrfToken(null);
      session.value = { status: 'signed-out', options };
    } else {
      const message = err instanceof ApiError && err.isNetwork ? 'Cannot reach the Parley server.' : String((err as Error).message ?? err);
      session.value = { status: 'unreachable', message };
    }
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  const answer = await account.login(email, password);
  setCsrfToken(answer.csrf_token);
  await refreshMe();
}

export async function signUp(email: string, password: string): Promise<void> {
  const answer = await account.signup(email, password);
  setCsrfToken(answer.csrf_token);
  await refreshMe();
}

export async function signOut(): Promise<void> {
  try {
    await account.logout();
  } finally {
    setCsrfToken(null);
    session.value = { status: 'signed-out', options };
  }
}
