// Toasts (with their actions) and the screen reader announcements of replies.
import { announcement } from '../state/reply';
import { dismissToast, toasts } from '../state/toasts';

export function Toasts() {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.value.map((t) => (
        <div key={t.id} class={`toast${t.kind === 'error' ? ' toast-error' : ''}`}>
          <span>{t.text}</span>
          {t.action ? (
            <button
              type="button"
              class="toast-action"
              onClick={() => {
                t.action!.run();
                dismissToast(t.id);
              }}
            >
              {t.action.label}
            </button>
          ) : null}
        </div>
      ))}
    </div>
  );
}

/** A polite live region: "Generating a reply…", then the reply once it is complete. */
export function Announcer() {
  return (
    <div class="visually-hidden" aria-live="polite" aria-atomic="true">
      {announcement.value}
    </div>
  );
}
