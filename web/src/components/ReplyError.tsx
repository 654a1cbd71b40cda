// An error under the conversation (rate limit, quota, queue full, server or network gone),
// with a retry when a saved user message is waiting for its answer.
import type { UserError } from '../lib/errors';
import { regenerate } from '../state/reply';
import { replyError } from '../state/thread';
import { Icon } from './Icons';

export function ReplyError({ error, retryOn, busy }: { error: UserError; retryOn: string | null; busy: boolean }) {
  const canRetry = retryOn !== null && error.kind !== 'quota' && error.kind !== 'auth' && error.kind !== 'suspended';
  return (
    <div class={`reply-error kind-${error.kind}`} role="alert">
      <Icon name="alert" size={18} />
      <p>{error.message}</p>
      <div class="reply-error-actions">
        {canRetry ? (
          <button type="button" class="btn-secondary small" disabled={busy} onClick={() => void regenerate(retryOn)}>
            Retry
          </button>
        ) : null}
        <button type="button" class="icon-btn small" aria-label="Dismiss error" onClick={() => (replyError.value = null)}>
          <Icon name="close" size={14} />
        </button>
      </div>
    </div>
  );
}
