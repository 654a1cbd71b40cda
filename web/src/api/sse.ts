// A Server-Sent Events reader over fetch's body (EventSource cannot POST). It follows the
// HTML standard's parsing rules: lines end in CRLF, LF or CR (also split across chunks), lines
// starting with ':' are comments, `data` lines of one event are joined with '\n', one space
// after the colon is dropped, an event is dispatched at a blank line and only if it has data.

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  private buffer = '';
  private sawCr = false;
  private data: string[] = [];
  private eventType = '';
  private lastId: string | null = null;
  private started = false;

  constructor(private readonly emit: (event: SseEvent) => void) {}

  /** Feeds decoded text; any split point works (mid-line, between CR and LF). */
  push(text: string): void {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */) {
        if (this.sawCr && i === start && this.buffer === '') {
          // The LF of a CRLF whose CR ended the previous line.
          this.sawCr = false;
          start = i + 1;
          continue;
        }
        this.line(this.buffer + text.slice(start, i));
        this.buffer = '';
        this.sawCr = false;
        start = i + 1;
      } else if (c === 13 /* \r */) {
        this.line(this.buffer + text.slice(start, i));
        this.buffer = '';
        this.sawCr = true;
        start = i + 1;
      } else if (this.sawCr) {
        this.sawCr = false;
      }
    }
    this.buffer += text.slice(start);
  }

  /** The stream ended: an event without its blank line is dropped, as the standard says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.eventType = '';
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return; // comment (keep-alive)
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break; // `retry` and unknown fields mean nothing to a fetch reader
    }
  }

  private dispatch(): void {
    if (this.data.length === 0) {
      this.eventType = '';
      return;
    }
    const event: SseEvent = { event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId };
    this.data = [];
    this.eventType = '';
    this.emit(event);
  }
}

/** Reads a response body to its end, calling onEvent for each event. */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void): Promise<void> {
  const parser = new SseParser(onEvent);
  const decoder = new TextDecoder('utf-8');
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
