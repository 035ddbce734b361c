import { describe, expect, it } from 'vitest';
import { SseParser, parseEvents, type SseEvent } from '../src/protocol';

/** Everything an SseParser reports for `chunks`, in order, and what each push threw. */
function read(chunks: string[], maxLine?: number) {
  const seen: unknown[] = [];
  const thrown: string[] = [];
  const parser = new SseParser(
    (e, hasData) => seen.push(hasData ? e : { ...e, noData: true }),
    (text) => seen.push({ comment: text }),
    maxLine,
    (ms) => seen.push({ retryNow: ms }),
  );
  for (const chunk of chunks) {
    try {
      parser.push(chunk);
    } catch (e) {
      thrown.push((e as { code: string }).code);
    }
  }
  return { seen, thrown, dropped: parser.dropped };
}

describe('SseParser', () => {
  it('reads a field with no colon as the field with an empty value, and strips one space only', () => {
    expect(read(['data\n\n', 'data:  two\nevent\n\n']).seen).toEqual([
      { event: 'message', data: '' },
      { event: 'message', data: ' two' },
    ]);
  });

  it('keeps the event name, id and retry of its own block only', () => {
    expect(read(['event: a\nid: 1\nretry: 5\ndata: x\n\ndata: y\n\n']).seen).toEqual([
      { retryNow: 5 },
      { event: 'a', data: 'x', id: '1', retry: 5 },
      { event: 'message', data: 'y' },
    ]);
  });

  it('dispatches a block with an id or a retry but no data as an event without data; one with neither not at all', () => {
    expect(read(['id: 9\n\nid:\n\nevent: only\n\n\n']).seen).toEqual([
      { event: 'message', data: '', id: '9', noData: true },
      { event: 'message', data: '', id: '', noData: true },
    ]);
  });

  it('reads a retry: when its line ends, only when it is all digits', () => {
    const { seen } = read(['retry: 1', '00\n', 'retry: -1\nretry: 2.5\nretry:\nretry: 7 \n']);
    expect(seen).toEqual([{ retryNow: 100 }]);
  });

  it('passes a comment on without its colon and leading spaces; without a comment callback it is dropped', () => {
    expect(read([':  beat \n:\n\n']).seen).toEqual([{ comment: 'beat ' }, { comment: '' }]);
    const events: SseEvent[] = [];
    new SseParser((e) => events.push(e)).push(': x\ndata: 1\n\n');
    expect(events).toEqual([{ event: 'message', data: '1' }]);
  });

  it('ends a line at a CR that ends a chunk, and takes an LF starting the next as the rest of that CRLF', () => {
    expect(read(['data: a\r\r']).seen).toEqual([{ event: 'message', data: 'a' }]);
    expect(read(['data: a\r', '\ndata: b\r', '\n\r', '\n']).seen).toEqual([{ event: 'message', data: 'a\nb' }]);
    // An empty chunk in between does not use up the pending LF.
    expect(read(['data: a\r', '', '\n', '\n']).seen).toEqual([{ event: 'message', data: 'a' }]);
    // Only an LF right after the CR is skipped: not one after a chunk in between, nor after a CR inside a chunk.
    expect(read(['data: a\r', 'data: b\n\n']).seen).toEqual([{ event: 'message', data: 'a\nb' }]);
    expect(read(['data: a\r', 'data: b', '\n\n']).seen).toEqual([{ event: 'message', data: 'a\nb' }]);
    expect(read(['data: a\rdata: b\n', '\ndata: c\n\n']).seen).toEqual([
      { event: 'message', data: 'a\nb' },
      { event: 'message', data: 'c' },
    ]);
  });

  it('ends lines at a CR or an LF that starts a chunk', () => {
    expect(read(['data: a\n', '\rdata: b\n\n']).seen).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
    expect(read(['data: a\n', '\ndata: b\r\r']).seen).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
  });

  it('ignores digits in a field that is not retry', () => {
    expect(read(['foo: 12\ndata: x\n\n']).seen).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('holds a line split across chunks until it ends', () => {
    expect(read(['da', 'ta: x', 'y\n', '\n']).seen).toEqual([{ event: 'message', data: 'xy' }]);
  });

  it('drops an event whose lines add up to more than maxLine, throws TOO_LARGE once for it, and reads the next one', () => {
    const { seen, thrown, dropped } = read(['data: 12345\ndata: 67890\n\ndata: ok\n\n'], 12);
    expect(seen).toEqual([{ event: 'message', data: 'ok' }]);
    expect(thrown).toEqual(['TOO_LARGE']);
    expect(dropped).toBe(1);
    // Up to maxLine is kept, whether the line ends in its chunk or in the next.
    expect(read(['data: 1234567890\n\n'], 16).seen).toEqual([{ event: 'message', data: '1234567890' }]);
    expect(read(['data: 1234567890', '\n\n'], 16)).toEqual({ seen: [{ event: 'message', data: '1234567890' }], thrown: [], dropped: 0 });
  });

  it('drops an over-long line that has not ended yet, then skips its rest in the next chunks', () => {
    const { seen, thrown, dropped } = read(['data: ' + 'x'.repeat(20), 'x'.repeat(20), 'xx\n\ndata: next\n\n'], 10);
    expect(thrown).toEqual(['TOO_LARGE']);
    expect(seen).toEqual([{ event: 'message', data: 'next' }]);
    expect(dropped).toBe(1);
  });

  it('drops the whole event of an over-long line, the lines after it included, however the chunks fall', () => {
    // The line ends right at the start of the next chunk: that LF ends the skipped line, it is no blank line.
    const split = read(['data: ' + 'x'.repeat(20), '\n', 'data: y\nretry: 5\n\ndata: next\n\n'], 10);
    expect(split.seen).toEqual([{ event: 'message', data: 'next' }]);
    expect(split.dropped).toBe(1);
    // Nor is a retry in it read: nothing of a dropped event is kept or acted on.
    expect(read(['data: ' + 'x'.repeat(20) + '\nretry: 5\ndata: y\n\n'], 10).seen).toEqual([]);
  });

  it('throws once per dropped event, after reading the whole chunk', () => {
    const { seen, thrown, dropped } = read(['data: ' + 'x'.repeat(20) + '\n\ndata: a\n\ndata: ' + 'y'.repeat(20) + '\n\n'], 10);
    expect(seen).toEqual([{ event: 'message', data: 'a' }]);
    expect(thrown).toEqual(['TOO_LARGE']);
    expect(dropped).toBe(2);
  });
});

describe('parseEvents', () => {
  const parse = (text: string, max = Infinity) => {
    const events: SseEvent[] = [];
    const dropped = parseEvents(text, max, (e) => events.push(e));
    return { events, dropped };
  };

  it('reads whole events, the last one ended by the end of the text', () => {
    expect(parse('event: a\nid: 1\nretry: 20\ndata: x\n\ndata: y').events).toEqual([
      { event: 'a', data: 'x', id: '1', retry: 20 },
      { event: 'message', data: 'y' },
    ]);
  });

  it('gives several data lines as head and body besides the joined data', () => {
    expect(parse('data: h\ndata: b1\ndata:b2\n\n').events).toEqual([{ event: 'message', data: 'h\nb1\nb2', head: 'h', body: 'b1\nb2' }]);
  });

  it('reads CR and CRLF as line ends', () => {
    expect(parse('data: a\r\ndata: b\r\rdata: c\r\n').events).toEqual([
      { event: 'message', data: 'a\nb', head: 'a', body: 'b' },
      { event: 'message', data: 'c' },
    ]);
  });

  it('skips comments and unknown fields; takes a field without a colon as empty; ignores bad retries and ids with NUL', () => {
    expect(parse(':c\nfoo: 1\ndata\n\nid: a\0\nretry: 1s\ndata: x\n\nevent: e\n\nid\n\nretry: 3\n\n').events).toEqual([
      { event: 'message', data: '' },
      { event: 'message', data: 'x' },
      { event: 'message', data: '', id: '' },
      { event: 'message', data: '', retry: 3 },
    ]);
  });

  it('ignores digits in a field that is not retry, and a retry that is not all digits', () => {
    expect(parse('foo: 12\nretry: -1\nretry: x1\ndata: x').events).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('strips one space after the colon, not two', () => {
    expect(parse('data:  x').events).toEqual([{ event: 'message', data: ' x' }]);
  });

  it('drops the events whose lines add up to more than max, and counts them', () => {
    const { events, dropped } = parse('data: 1234\ndata: 5678\n\ndata: ok\n\ndata: 123456789012\n\n', 12);
    expect(events).toEqual([{ event: 'message', data: 'ok' }]);
    expect(dropped).toBe(2);
    expect(parse('data: 123456', 12).events).toHaveLength(1);
  });
});
