import { describe, expect, it } from 'vitest';
import {
  ACK,
  BATCH,
  HEARTBEAT,
  HELLO,
  JOIN,
  LEAVE,
  PushError,
  decodeFrame,
  encodeBatch,
  encodeBatchLine,
  encodeClientMessage,
  encodeEvent,
  isBatch,
  isChannelName,
  isEventName,
  isHello,
  parseClientMessages,
  unbatch,
  type SseEvent,
} from '../src/protocol';

describe('control event names', () => {
  it("are the wire protocol's: a server of another version must read them", () => {
    expect([HELLO, HEARTBEAT, ACK, BATCH, JOIN, LEAVE]).toEqual(['$hello', '$hb', '$ack', '$batch', '$join', '$leave']);
  });
});

describe('event and channel names', () => {
  it('takes 1 to 200 characters without tab, CR or LF; an event name may not start with $', () => {
    for (const check of [isEventName, isChannelName]) {
      expect(check('a')).toBe(true);
      expect(check('x'.repeat(200))).toBe(true);
      expect(check('x'.repeat(201))).toBe(false);
      expect(check('')).toBe(false);
      for (const bad of ['a\tb', 'a\rb', 'a\nb']) expect(check(bad)).toBe(false);
      expect(check(1)).toBe(false);
      expect(check(undefined)).toBe(false);
    }
    expect(isEventName('$hello')).toBe(false);
    expect(isEventName('a$')).toBe(true);
    expect(isChannelName('$room')).toBe(true);
  });
});

describe('encodeEvent', () => {
  it('writes the id, then the name (and channel) as the first data line, then the payload', () => {
    expect(encodeEvent('chat', '{"a":1}')).toBe('data: chat\ndata: {"a":1}\n\n');
    expect(encodeEvent('chat', 'x', 'e:1', 'room')).toBe('id: e:1\ndata: chat\troom\ndata: x\n\n');
    expect(encodeEvent('chat', 'x', '')).toBe('id: \ndata: chat\ndata: x\n\n');
  });
  it('writes each line of the payload as a data line, whatever its line ends', () => {
    expect(encodeEvent('e', 'a\nb\r\nc\rd')).toBe('data: e\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(encodeEvent('e', 'a\rb')).toBe('data: e\ndata: a\ndata: b\n\n');
  });
});

describe('encodeBatchLine and encodeBatch', () => {
  it('writes an event as id, name, channel and payload between tabs, empty for none', () => {
    expect(encodeBatchLine('chat', '{"a":1}', 'e:1', 'room')).toBe('e:1\tchat\troom\t{"a":1}');
    expect(encodeBatchLine('chat', 'x')).toBe('\tchat\t\tx');
  });
  it('gives no line for a payload of several lines or an id with a tab', () => {
    expect(encodeBatchLine('e', 'a\nb')).toBeUndefined();
    expect(encodeBatchLine('e', 'a\rb')).toBeUndefined();
    expect(encodeBatchLine('e', 'x', 'a\tb')).toBeUndefined();
  });
  it("takes the batch's id from its last event that has one", () => {
    const lines = [encodeBatchLine('a', '1', 'e:1')!, encodeBatchLine('b', '2', 'e:2')!, encodeBatchLine('c', '3')!];
    expect(encodeBatch(lines)).toBe('id: e:2\ndata: $batch\ndata: e:1\ta\t\t1\ndata: e:2\tb\t\t2\ndata: \tc\t\t3\n\n');
    expect(encodeBatch([encodeBatchLine('c', '3')!])).toBe('data: $batch\ndata: \tc\t\t3\n\n');
  });
});

describe('isHello and isBatch', () => {
  const event = (data: string): SseEvent => ({ event: 'message', data });
  it('tell a hello and a batch by their first data line', () => {
    expect(isHello(event('$hello\n{}'))).toBe(true);
    expect(isHello(event('$hello'))).toBe(false);
    expect(isHello(event('$hellox\n{}'))).toBe(false);
    expect(isBatch(event('$batch\n\ta\t\t1'))).toBe(true);
    expect(isBatch(event('$batchx\n'))).toBe(false);
    expect(isBatch(event('x\n$batch\n'))).toBe(false);
  });
});

describe('unbatch', () => {
  const unbatched = (data: string, max = Infinity) => {
    const events: SseEvent[] = [];
    const dropped = unbatch({ event: 'message', data }, max, (e) => events.push(e));
    return { events, dropped };
  };

  it('gives each line as the event its own block would have been, with its own id', () => {
    expect(unbatched('$batch\ne:1\tchat\troom\t{"a":1}\n\tping\t\t\ne:3\tx\t\ta\tb').events).toEqual([
      { event: 'message', data: 'chat\troom\n{"a":1}', head: 'chat\troom', body: '{"a":1}', id: 'e:1' },
      { event: 'message', data: 'ping\n', head: 'ping', body: '' },
      { event: 'message', data: 'x\na\tb', head: 'x', body: 'a\tb', id: 'e:3' },
    ]);
  });

  it("reads the lines from a parsed event's body when it has one", () => {
    const events: SseEvent[] = [];
    unbatch({ event: 'message', data: 'ignored', head: '$batch', body: 'e:1\ta\t\t1' }, Infinity, (e) => events.push(e));
    expect(events.map((e) => [e.id, e.head, e.body])).toEqual([['e:1', 'a', '1']]);
  });

  it('passes a line that is not an event on without a name, for decodeFrame to reject', () => {
    const { events } = unbatched('$batch\nno tabs\ne:1\t\t\tx\ne:1\t\troom\tx\ne:1\ta\tb\ne:2\ta\n');
    expect(events.map((e) => e.head)).toEqual(['', '', '', '', '', '']);
    expect(events.map((e) => e.body)).toEqual(['no tabs', 'e:1\t\t\tx', 'e:1\t\troom\tx', 'e:1\ta\tb', 'e:2\ta', '']);
    expect(events.every((e) => e.id === undefined)).toBe(true);
    for (const e of events) expect(() => decodeFrame(e)).toThrow(PushError);
    // Three fields, last in the batch: no tab after it to be taken for the channel's end.
    expect(unbatched('$batch\ne:1\ta\tb').events).toEqual([{ event: 'message', data: '\ne:1\ta\tb', head: '', body: 'e:1\ta\tb' }]);
  });

  it('drops the lines longer than max, and counts them', () => {
    const { events, dropped } = unbatched('$batch\n\ta\t\t123\n\ta\t\t1234', 7);
    expect(events.map((e) => e.body)).toEqual(['123']);
    expect(dropped).toBe(1);
    // Each line's own length, wherever it is in the batch.
    expect(unbatched('$batch\n\ta\t\t1\n\ta\t\t2\n\ta\t\t3', 5)).toMatchObject({ events: { length: 3 }, dropped: 0 });
  });
});

describe('decodeFrame', () => {
  it('reads the name, channel and payload of a block, and keeps its id', () => {
    expect(decodeFrame({ event: 'message', data: 'chat\troom\n{"a":1}\nmore', id: '5' })).toEqual({
      event: 'chat',
      channel: 'room',
      data: '{"a":1}\nmore',
      id: '5',
    });
    expect(decodeFrame({ event: 'message', data: 'chat' })).toEqual({ event: 'chat', data: '' });
    expect(decodeFrame({ event: 'message', data: 'chat\t\nx' })).toEqual({ event: 'chat', channel: '', data: 'x' });
  });
  it('reads head and body when the parser split them', () => {
    expect(decodeFrame({ event: 'message', data: 'unused', head: 'a\tb', body: 'x\ny' })).toEqual({ event: 'a', channel: 'b', data: 'x\ny' });
  });
  it('rejects an event without a name with BAD_FRAME', () => {
    for (const data of ['', '\nx', '\troom\nx'])
      expect(() => decodeFrame({ event: 'message', data })).toThrow(expect.objectContaining({ code: 'BAD_FRAME', message: 'event without a name' }));
  });
});

describe('parseClientMessages', () => {
  it('takes control messages and safe-integer request numbers', () => {
    const messages = [
      { e: '$join', d: 'a', r: 1 },
      { e: '$leave', d: 'a', r: Number.MAX_SAFE_INTEGER },
      { e: 'chat', d: [1] },
    ];
    expect(parseClientMessages(encodeClientMessage(messages))).toEqual(messages);
  });
  it('names what is wrong', () => {
    const reason = (text: string) => {
      try {
        parseClientMessages(text);
      } catch (e) {
        expect(e).toMatchObject({ code: 'BAD_FRAME' });
        return (e as Error).message;
      }
    };
    expect(reason('{')).toBe('body is not JSON');
    expect(() => parseClientMessages('{')).toThrow(expect.objectContaining({ cause: expect.any(SyntaxError) }));
    expect(reason('[null]')).toBe('message is not an object');
    expect(reason('["x"]')).toBe('message is not an object');
    expect(reason('{"e":"$hello"}')).toBe('bad event name');
    expect(reason('{"e":"a","r":"1"}')).toBe('bad request number');
    expect(reason('{"e":"a","r":9007199254740992}')).toBe('bad request number');
  });
});
