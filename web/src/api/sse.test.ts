import { describe, expect, it } from 'vitest';
import { SseParser, readSse, type SseEvent } from './sse';

function parseAll(chunks: string[]): SseEvent[] {
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

const wire =
  'event: message\ndata: {"a":1}\n\n' +
  ': keep-alive comment\n\n' +
  'event: delta\ndata: {"content":"Hel"}\n\n' +
  'event: delta\ndata: line one\ndata: line two\n\n' +
  'data:no space\n\n' +
  'event: done\r\ndata: {"x":"y"}\r\n\r\n' +
  'id: 7\rdata: cr only\r\r';

const expected: SseEvent[] = [
  { event: 'message', data: '{"a":1}', id: null },
  { event: 'delta', data: '{"content":"Hel"}', id: null },
  { event: 'delta', data: 'line one\nline two', id: null },
  { event: 'message', data: 'no space', id: null },
  { event: 'done', data: '{"x":"y"}', id: null },
  { event: 'message', data: 'cr only', id: '7' },
];

describe('SseParser', () => {
  it('parses events, multi-line data, comments, CRLF and CR line ends', () => {
    expect(parseAll([wire])).toEqual(expected);
  });

  it('gives the same events wherever the text is split in two', () => {
    for (let i = 0; i <= wire.length; i++) {
      expect(parseAll([wire.slice(0, i), wire.slice(i)]), `split at ${i}`).toEqual(expected);
    }
  });

  it('gives the same events when fed one character at a time', () => {
    expect(parseAll([...wire])).toEqual(expected);
  });

  it('treats a CR at the end of a chunk and the LF starting the next as one line end', () => {
    const out = parseAll(['data: a\r', '\ndata: b\r\n', '\r', '\n']);
    expect(out).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
  });

  it('drops an event that has no blank line before the stream ends', () => {
    expect(parseAll(['data: complete\n\ndata: cut off'])).toEqual([{ event: 'message', data: 'complete', id: null }]);
  });

  it('ignores events without data, unknown fields and a leading BOM', () => {
    expect(parseAll(['\uFEFFevent: ping\n\nretry: 10\nfoo: bar\ndata: x\n\n'])).toEqual([{ event: 'message', data: 'x', id: null }]);
  });

  it('keeps a colon inside the value and an empty data line', () => {
    expect(parseAll(['data: a: b\ndata\ndata: c\n\n'])).toEqual([{ event: 'message', data: 'a: b\n\nc', id: null }]);
  });
});

describe('readSse', () => {
  function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
  }

  it('decodes UTF-8 split across byte chunks', async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"content":"héllo → 世界 🙂"}\n\n');
    for (const cut of [1, 20, 27, 28, 29, 35, 40, bytes.length - 1]) {
      const out: SseEvent[] = [];
      await readSse(streamOf([bytes.slice(0, cut), bytes.slice(cut)]), (e) => out.push(e));
      expect(out.map((e) => JSON.parse(e.data).content)).toEqual(['héllo → 世界 🙂']);
    }
  });

  it('reads every byte boundary of a multi-event stream', async () => {
    const bytes = new TextEncoder().encode(wire);
    const out: SseEvent[] = [];
    await readSse(streamOf([...bytes].map((b) => new Uint8Array([b]))), (e) => out.push(e));
    expect(out).toEqual(expected);
  });
});
