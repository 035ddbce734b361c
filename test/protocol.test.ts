import { describe, expect, it } from 'vitest';
import { PushError, SseParser, decodeFrame, encodeEvent, parseClientMessages, type SseEvent } from '../src/protocol';

function parse(chunks: string[], maxLine?: number) {
  const out: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser(
    (e) => out.push(e),
    (c) => comments.push(c),
    maxLine,
  );
  for (const c of chunks) p.push(c);
  return { out, comments };
}

describe('SseParser', () => {
  it('follows the SSE grammar: fields, comments, CRLF and CR, default event name', () => {
    const { out, comments } = parse(['event: a\r\ndata: 1\r\n\r\n: hi\n\nid: 7\rdata:x\rdata:  y\r\r', 'retry: 300\n\n']);
    expect(out).toEqual([
      { event: 'a', data: '1' },
      { event: 'message', data: 'x\n y', id: '7' },
      { event: 'message', data: '', retry: 300 },
    ]);
    expect(comments).toEqual(['hi']);
  });

  it('gives the same events however the stream is split', () => {
    const text = 'id: 1\ndata: héllo\n\nevent: b\ndata: {"x":1}\n\n';
    const whole = parse([text]).out;
    for (let i = 1; i < text.length; i++) expect(parse([text.slice(0, i), text.slice(i)]).out).toEqual(whole);
    expect(parse([...text]).out).toEqual(whole);
  });

  it('skips one U+FEFF at the very start of the stream, in whichever chunk it comes, and no other', () => {
    const data = (chunks: string[]) => parse(chunks).out.map((e) => e.data);
    expect(data(['\uFEFFdata: one\n\n\uFEFFdata: two\n\ndata: three\n\n'])).toEqual(['one', 'three']);
    expect(data(['', '\uFEFF', 'data: one\n\n'])).toEqual(['one']);
    // Only the first: a second U+FEFF starts a field named `\uFEFFdata`, which is ignored.
    expect(data(['\uFEFF\uFEFFdata: one\n\ndata: two\n\n'])).toEqual(['two']);
    // Not at the start of a later chunk, even one that starts a line.
    expect(data(['data: one\n\n', '\uFEFFdata: two\n\n', 'data: three\n\n'])).toEqual(['one', 'three']);
    expect(data([' \uFEFFdata: one\n\n'])).toEqual([]);
  });

  it('ignores unknown fields, bad retry values and ids with NUL', () => {
    expect(parse(['foo: bar\nretry: 1x\nid: a\0b\ndata: d\n\n']).out).toEqual([{ event: 'message', data: 'd' }]);
  });

  it('throws TOO_LARGE on a line longer than maxLine, whether or not it is complete', () => {
    expect(() => parse(['data: ' + 'x'.repeat(100) + '\n\n'], 50)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => parse(['data: ' + 'x'.repeat(100)], 50)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
});

describe('frames', () => {
  it('round-trips event, channel, id and data, multi-line data included', () => {
    for (const [event, data, id, channel] of [
      ['price', '{"px":1}', '1', undefined],
      ['chat', 'a\nb\r\nc', undefined, 'room:1'],
      ['x', '', 'e:9', undefined],
    ] as const) {
      const out: SseEvent[] = [];
      new SseParser((e) => out.push(e)).push(encodeEvent(event, data, id, channel));
      const f = decodeFrame(out[0]);
      expect(f).toEqual({ event, data: data.replace(/\r\n/g, '\n'), ...(id ? { id } : {}), ...(channel ? { channel } : {}) });
    }
  });

  it('rejects client messages that are not well formed with BAD_FRAME', () => {
    expect(parseClientMessages('{"e":"chat","d":1}')).toEqual([{ e: 'chat', d: 1 }]);
    expect(parseClientMessages('[{"e":"$join","d":"a","r":1}]')).toHaveLength(1);
    for (const bad of ['', '{', 'null', '[1]', '{"e":""}', '{"e":"$evil"}', '{"e":"a\\nb"}', '{"e":"a","r":1.5}']) {
      try {
        parseClientMessages(bad);
        throw new Error('accepted ' + bad);
      } catch (e) {
        expect(e).toBeInstanceOf(PushError);
        expect((e as PushError).code).toBe('BAD_FRAME');
      }
    }
  });
});
