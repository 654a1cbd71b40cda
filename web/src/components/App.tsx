// The top of the UI: the share view needs no account; everything else waits for the session.
import { route } from '../state/router';
import { bootstrap, session } from '../state/session';
import { Shell } from './Shell';
import { ShareView } from './ShareView';
import { SignInPage } from './SignInPage';
import { Announcer, Toasts } from './Toasts';

function Unreachable({ message }: { message: string }) {
  return (
    <main class="auth-page">
      <div class="auth-card">
        <h1>Parley</h1>
        <p class="error-text" role="alert">
          {message}
        </p>
        <button type="button" class="btn-primary wide" onClick={() => void bootstrap()}>
          Try again
        </button>
      </div>
    </main>
  );
}

function Body() {
  const r = route.value;
  if (r.name === 'share') return <ShareView token={r.token} />;
  const s = session.value;
  switch (s.status) {
    case 'loading':
      return <div class="splash" aria-busy="true" />;
    case 'unreachable':
      return <Unreachable message={s.message} />;
    case 'signed-out':
      return <SignInPage options={s.options} />;
    case 'ready':
      return <Shell />;
  }
}

export function App() {
  return (
    <>
      <Body />
      <Toasts />
      <Announcer />
    </>
  );
}
