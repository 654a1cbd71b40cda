// A streamed reply of the conversation API: POST, then SSE events until `done` or `error`.
import { ApiError, send } from './http';
import { readSse } from './sse';
import type { ReplyEvent } from './types';

/** Parses one SSE event of a reply; unknown event names are skipped (null). */
export function toReplyEvent(name: string, data: string): ReplyEvent | null {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return null;
  }
  switch (name) {
    case 'message':
    case 'delta':
    case 'done':
    case 'error':
      return { type: name, ...payload } as ReplyEvent;
    default:
      return null;
  }
}

/**
 * Sends `body` to `path` and calls onEvent for each reply event. Resolves when the stream ends
 * with `done` or `error`; a stream cut before either rejects with a network ApiError (the server
 * went away), and errors before the stream (4xx/5xx JSON answers) reject with their ApiError.
 */
export async function streamReply(
  path: string,
  body: unknown,
  onEvent: (event: ReplyEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const res = await send(path, {
    method: 'POST',
    body,
    signal,
    headers: { Accept: 'text/event-stream' },
  });
  if (!res.body) throw new ApiError(0, 'the server sent no stream', { code: 'network_error' });
  let ended = false;
  try {
    await readSse(res.body, (ev) => {
      const event = toReplyEvent(ev.event, ev.data);
      if (!event) return;
      if (event.type === 'done' || event.type === 'error') ended = true;
      onEvent(event);
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    if (!ended) throw new ApiError(0, 'the connection was lost', { code: 'network_error' });
  }
  if (!ended) throw new ApiError(0, 'the reply stream ended early', { code: 'stream_ended' });
}
