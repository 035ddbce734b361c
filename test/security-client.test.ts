/**
 * Issue 4, client side: whatever a server (or something in its place) sends, the client reports it
 * through `client.lifecycle` 'error' with a code, does not crash, and delivers the next good event.
 * Each case runs against a small scripted server on 127.0.0.1 (test/helpers/fake-push.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PushError, PushErrorCode, TransportName } from '../src';
import { PushClient } from '../src/node';
import { encodeEvent } from '../src/protocol';
import { event, fakePush, hello, type Chunk, type FakeScript } from './helpers/fake-push';
import { cleanups, until } from './helpers/net';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const BAD_UTF8 = Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x0a]); // "data: " + invalid bytes + "\n"

/** A scripted server whose every transport sends the hello, then `chunks`, then a good event. */
function sameOnAll(chunks: Chunk[]): FakeScript {
  const after = event('ok', { n: 1 }, 'e:1');
  return {
    sse: (n) => ({ chunks: n === 0 ? [hello(), ...chunks, after] : [hello('c' + n), after] }),
    lp: (n) => (n === 0 ? { chunks: [hello(), ...chunks, after] } : null),
    ws: (n) => (n === 0 ? [hello(), ...chunks, after] : [hello('c' + n), after]),
  };
}

async function setup(script: FakeScript, transports: TransportName[], options: ConstructorParameters<typeof PushClient>[1] = {}) {
  const f = await fakePush(script);
  cleanup.add(() => f.close());
  const c = new PushClient(f.url, { transports, rememberTransport: 0, connectTimeout: 3000, reconnect: { minDelay: 20, maxDelay: 100 }, ...options });
  cleanup.add(() => c.close());
  const errors: PushError[] = [];
  const dropped: PushError[] = [];
  const got: { event: string; data: unknown; transport: string }[] = [];
  c.lifecycle.on('error', (e) => errors.push(e));
  c.lifecycle.on('reconnecting', (r) => r.error && dropped.push(r.error));
  c.onAny((e, data, meta) => got.push({ event: e, data, transport: meta.transport }));
  return { f, c, errors, dropped, got, codes: () => errors.map((e) => e.code) };
}

const oks = (got: { event: string }[]) => got.filter((g) => g.event === 'ok');

describe.each<TransportName>(['websocket', 'eventsource', 'longpoll'])(
  'over %s, a malformed frame is reported and the next good event still arrives',
  (transport) => {
    const cases: [string, Chunk[], PushErrorCode][] = [
      ['an event without a name (broken envelope)', ['data: \ndata: {"x":1}\n\n'], 'BAD_FRAME'],
      ['an unknown control message', [encodeEvent('$surprise', '{}')], 'BAD_FRAME'],
      ['a control message whose JSON is broken', [encodeEvent('$ack', '{"r":')], 'BAD_FRAME'],
    ];
    it.each(cases)('%s', async (_name, chunks, code) => {
      const t = await setup(sameOnAll(chunks), [transport]);
      await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
      expect(t.codes()).toContain(code);
      expect(t.errors.every((e) => e.name === 'PushError' && e.message.length > 0)).toBe(true);
      expect(t.c.status.state).toBe('open');
      expect(t.dropped).toEqual([]); // reported, and the connection went on
    });

    it('a line of megabytes over maxMessageSize', async () => {
      const huge = 'data: big\ndata: ' + 'x'.repeat(3 << 20) + '\n\n';
      const t = await setup(sameOnAll([huge]), [transport], { maxMessageSize: 64 * 1024 });
      await until(() => oks(t.got).length >= 1, 15_000, 'the good event');
      expect(t.codes()).toContain('TOO_LARGE');
      expect(t.got.map((g) => g.event)).not.toContain('big');
      expect(t.c.status.state).toBe('open');
      expect(t.dropped).toEqual([]);
    });

    it('many short data lines that add up to more than maxMessageSize', async () => {
      const many = 'data: big\n' + 'data: yyyyyyyy\n'.repeat(20_000) + '\n';
      const t = await setup(sameOnAll([many]), [transport], { maxMessageSize: 64 * 1024 });
      await until(() => oks(t.got).length >= 1, 15_000, 'the good event');
      expect(t.codes()).toContain('TOO_LARGE');
      expect(t.got.map((g) => g.event)).not.toContain('big');
    });

    it('invalid UTF-8 bytes', async () => {
      const t = await setup(sameOnAll([Buffer.concat([Buffer.from('data: bad\n'), BAD_UTF8, Buffer.from('\n')])]), [transport]);
      await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
      if (transport === 'websocket') {
        // A text frame that is not UTF-8 fails the WebSocket connection (RFC 6455 §8.1, in every
        // runtime); the client reconnects, and the event comes on the next connection.
        expect(t.dropped.map((e) => e.code)).toEqual(['TRANSPORT_FAILED']);
      } else {
        // Over HTTP the bytes are replaced by U+FFFD, as EventSource does, and reported.
        expect(t.codes()).toContain('BAD_FRAME');
        expect(t.errors.find((e) => e.code === 'BAD_FRAME')!.message).toMatch(/UTF-8/);
        expect(t.got.find((g) => g.event === 'bad')!.data).toMatch(/\uFFFD/);
        expect(t.dropped).toEqual([]);
      }
      expect(t.c.status.state).toBe('open');
    });
  },
);

describe('a server that answers garbage', () => {
  const HTML = '<!doctype html><html><body><h1>Welcome to the hotel Wi-Fi</h1></body></html>';
  const goodLp: FakeScript['lp'] = (n) => (n === 0 ? { chunks: [hello(), event('ok', 1, 'e:1')] } : null);

  it('SSE answered with HTML and 200: reported as BAD_FRAME, and the client falls back to a working transport', async () => {
    const t = await setup({ sse: () => ({ headers: { 'Content-Type': 'text/html' }, chunks: [HTML] }), lp: goodLp }, ['eventsource', 'longpoll']);
    await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
    expect(t.codes()).toContain('BAD_FRAME');
    expect(t.errors.find((e) => e.code === 'BAD_FRAME')!.message).toMatch(/text\/event-stream/);
    expect(t.got[0].transport).toBe('longpoll');
  });

  it('long-poll answered with HTML and 200 mid-session: reported, then back to a good session', async () => {
    const t = await setup(
      {
        lp: (n) =>
          n === 0
            ? { chunks: [hello()] }
            : n === 1
              ? { headers: { 'Content-Type': 'text/html' }, chunks: [HTML] }
              : n === 2
                ? { chunks: [hello('c2'), event('ok', 1, 'e:1')] }
                : null,
      },
      ['longpoll'],
    );
    await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
    expect(t.codes()).toEqual(['BAD_FRAME']);
    expect(t.c.status.state).toBe('open');
  });

  it('long-poll answered with the right type but no hello: reported as BAD_FRAME, and retried with a backoff', async () => {
    const t = await setup({ lp: (n) => (n < 2 ? { chunks: [HTML] } : n === 2 ? { chunks: [hello(), event('ok', 1, 'e:1')] } : null) }, ['longpoll']);
    await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
    expect(t.codes()).toEqual(['BAD_FRAME', 'BAD_FRAME']);
    expect(t.dropped.length).toBeGreaterThanOrEqual(1);
  });

  it('WebSocket that sends HTML in a text frame: taken as a plain server, delivered as a message, nothing crashes', async () => {
    const t = await setup({ ws: () => [HTML, 'plain text'] }, ['websocket']);
    await until(() => t.got.length >= 2, 10_000, 'two messages');
    expect(t.got.map((g) => g.data)).toEqual([HTML, 'plain text']);
    expect(t.errors).toEqual([]);
  });

  it('a Retry-After too long for a timer does not turn into a hot loop', async () => {
    for (const retryAfter of ['99999999', 'Fri, 31 Dec 9999 23:59:59 GMT']) {
      const f = await fakePush({
        sse: () => ({ status: 503, headers: { 'Retry-After': retryAfter }, chunks: ['busy'] }),
        lp: () => ({ status: 503, headers: { 'Retry-After': retryAfter }, chunks: ['busy'] }),
      });
      cleanup.add(() => f.close());
      const c = new PushClient(f.url, { transports: ['eventsource', 'longpoll'], rememberTransport: 0, reconnect: { minDelay: 1, maxDelay: 10 } });
      cleanup.add(() => c.close());
      await until(() => c.status.state === 'reconnecting', 5000, 'reconnecting');
      await new Promise((r) => setTimeout(r, 500));
      expect(f.counts.sse + f.counts.lp, retryAfter).toBe(2); // one try each, then a (very) long wait
      c.close();
    }
  });

  it('a handler that throws is reported and does not stop the next event', async () => {
    const t = await setup(sameOnAll([event('boom', 1, 'e:0')]), ['eventsource']);
    t.c.on('boom', () => {
      throw new Error('handler bug');
    });
    await until(() => oks(t.got).length >= 1, 10_000, 'the good event');
    expect(t.codes()).toContain('HANDLER_ERROR');
  });
});

describe('maxMessageSize holds each event, not a WebSocket frame that batches several', () => {
  it('a frame of ten events, larger than maxMessageSize, each under it: all ten arrive, nothing is reported', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => event('e', { i, pad: 'x'.repeat(300) }, 'e:' + (i + 1))).join('');
    expect(ten.length).toBeGreaterThan(3000);
    const t = await setup({ ws: () => [hello(), ten] }, ['websocket'], { maxMessageSize: 1000 });
    await until(() => t.got.length === 10, 3000, 'ten events');
    expect(t.got.map((g) => (g.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(t.codes()).toEqual([]);
  });
});
