/**
 * FetchEventSource held to the WHATWG EventSource rules (HTML §9.2), as the spec's own tests and the
 * `eventsource` package's tests check them, against a real HTTP server on 127.0.0.1: one test per
 * way in which issue 14 found it differed (each fails on the reader as it was before that issue).
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { EventSource as EventSource5 } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchEventSource, PushError } from '../src';
import type { FetchEventSourceError } from '../src/transports/fetch-event-source';
import { cleanups, listen, shut, sleep, until } from './helpers/net';

const cleanup = cleanups();
afterEach(() => cleanup.run());

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** A server whose every request is answered by `handler` (`n` counts from 1); it records the requests and when they came. */
async function serve(handler: Handler) {
  const requests: { headers: http.IncomingHttpHeaders; at: number }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ headers: req.headers, at: performance.now() });
    handler(req, res, requests.length);
  });
  const port = await listen(server);
  cleanup.add(() => shut(server));
  return { url: `http://127.0.0.1:${port}/sse`, origin: `http://127.0.0.1:${port}`, requests };
}

const stream = (res: http.ServerResponse, status = 200) => res.writeHead(status, { 'content-type': 'text/event-stream' });

function open(url: string) {
  const source = new FetchEventSource(url);
  cleanup.add(() => source.close());
  const data: string[] = [];
  source.onmessage = (m: MessageEvent) => data.push(m.data);
  return { source, data };
}

describe('FetchEventSource follows the EventSource standard', () => {
  it('dispatches an event whose data is empty (`data` and `data:` lines), with data ""', async () => {
    const s = await serve((_req, res) => stream(res).end('data\n\ndata:\n\ndata: last\n\n'));
    const { data } = open(s.url);
    await until(() => data.includes('last'), 5000, 'the last event');
    expect(data).toEqual(['', '', 'last']);
  });

  it.each([204, 205, 210, 299])('fails the connection on a %i, even with text/event-stream: no open, CLOSED, no reconnect', async (status) => {
    const s = await serve((_req, res) => {
      stream(res, status);
      res.end(status === 204 || status === 205 ? undefined : 'retry: 10\ndata: not for you\n\n');
    });
    const { source, data } = open(s.url);
    const events: string[] = [];
    source.addEventListener('open', () => events.push('open'));
    source.addEventListener('error', () => events.push(`error ${source.readyState}`));
    await until(() => events.length > 0, 5000, 'an event');
    await sleep(200); // an observation window: nothing is to happen here, and no event marks a thing not done (a reconnection)
    expect(events).toEqual(['error 2']);
    expect(source.readyState).toBe(FetchEventSource.CLOSED);
    expect(data).toEqual([]);
    expect(s.requests).toHaveLength(1);
  });

  it('opens on a 200 of type text/event-stream with parameters, and not on text/event-streams', async () => {
    const s = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': n === 1 ? 'Text/Event-Stream; charset=utf-8' : 'text/event-streams' }).end('data: x\n\n');
    });
    const good = open(s.url);
    await until(() => good.data.length === 1, 5000, 'the event');
    const bad = open(s.url);
    await until(() => bad.source.readyState === FetchEventSource.CLOSED, 5000, 'the failure');
    expect(bad.data).toEqual([]);
  });

  it('runs addEventListener listeners and on… handlers with the EventSource as `this`', async () => {
    const s = await serve((_req, res) => stream(res).write('event: news\ndata: a\n\ndata: b\n\n'));
    const source = new FetchEventSource(s.url);
    cleanup.add(() => source.close());
    const seen: unknown[] = [];
    source.addEventListener('news', function (this: unknown) {
      seen.push(this);
    });
    source.addEventListener('open', function (this: unknown) {
      seen.push(this);
    });
    source.onmessage = function (this: unknown) {
      seen.push(this);
    };
    await until(() => seen.length === 3, 5000, 'three calls');
    expect(seen.every((self) => self === source)).toBe(true);
  });

  it('dispatches an event that ends in \\r\\r at a chunk boundary at once, and when the stream ends there', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const s = await serve(async (_req, res, n) => {
      stream(res);
      if (n === 1) {
        res.write('data: held\r\r'); // nothing follows until the test has seen it
        await held;
        res.end();
      } else res.end('retry: 5000\n\ndata: ended\r\r');
    });
    const a = open(s.url);
    await until(() => a.data.length === 1, 5000, 'the event before the next chunk');
    expect(a.data).toEqual(['held']);
    release();
    a.source.close();
    const b = open(s.url);
    await until(() => b.data.length === 1, 5000, 'the event the stream ended on');
    expect(b.data).toEqual(['ended']);
  });

  it('skips one BOM at the very start of the stream only: a later line starting with U+FEFF is another field', async () => {
    const s = await serve(async (_req, res) => {
      stream(res);
      res.write('\uFEFFdata: one\n\n');
      await sleep(30); // the behaviour under test: each line in a chunk of its own
      res.write('\uFEFFdata: two\n\n');
      await sleep(30); // the behaviour under test: each line in a chunk of its own
      res.write('data: three\n\n');
    });
    const { data } = open(s.url);
    await until(() => data.includes('three'), 5000, 'the third event');
    expect(data).toEqual(['one', 'three']);
  });

  /**
   * A `fetch` (the one given in the init object) that answers from the real server, but hands over
   * the `number`th response's body as `body` makes it: none at all, or a Node stream (what node-fetch
   * 2 gives), which has no `getReader`.
   */
  function withoutWebStream(number: number, body: 'none' | 'a Node stream') {
    let calls = 0;
    return async (url: string | URL | Request, init?: RequestInit) => {
      const real = await fetch(url, init);
      if (++calls !== number) return real;
      const text = await real.text();
      const bare = new Response(null, { status: real.status, headers: real.headers });
      if (body === 'a Node stream') Object.defineProperty(bare, 'body', { value: Readable.from([text]) });
      return bare;
    };
  }

  /** Collects the unhandled rejections while the test runs: there must be none. */
  function unhandledRejections() {
    const reasons: unknown[] = [];
    const collect = (reason: unknown) => reasons.push(reason);
    process.on('unhandledRejection', collect);
    cleanup.add(() => process.off('unhandledRejection', collect));
    return reasons;
  }

  it.each(['none', 'a Node stream'] as const)(
    'takes a 200 text/event-stream whose body is %s as a network error: open, error as CONNECTING, and it reconnects after retry:',
    async (body) => {
      const rejections = unhandledRejections();
      const s = await serve((_req, res, n) => {
        stream(res);
        if (n === 1) res.end('retry: 20\ndata: one\n\n');
        else if (n === 2) res.end('data: two\n\n');
        else res.write('data: three\n\n');
      });
      const source = new FetchEventSource(s.url, { fetch: withoutWebStream(2, body) });
      cleanup.add(() => source.close());
      const events: string[] = [];
      const errors: unknown[] = [];
      source.addEventListener('open', () => events.push(`open ${source.readyState}`));
      source.addEventListener('message', (m) => events.push(`message ${m.data}`));
      source.addEventListener('error', (e) => (events.push(`error ${source.readyState}`), errors.push((e as unknown as FetchEventSourceError).error)));
      await until(() => events.includes('message three'), 5000, 'the event after the reconnect');
      // The first stream ends (error, reconnect); the second has no body to read (error, reconnect); the third is read.
      expect(events).toEqual(['open 1', 'message one', 'error 0', 'open 1', 'error 0', 'open 1', 'message three']);
      expect(errors[1]).toBeInstanceOf(PushError);
      expect(errors[1]).toMatchObject({ code: 'TRANSPORT_FAILED', retryAfter: 20 });
      expect(s.requests).toHaveLength(3);
      expect(rejections).toEqual([]);
    },
  );

  it('dispatches the error of a failed response whose body is not a web stream, with no unhandled rejection', async () => {
    const rejections = unhandledRejections();
    const s = await serve((_req, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'));
    const source = new FetchEventSource(s.url, { fetch: withoutWebStream(1, 'a Node stream') });
    cleanup.add(() => source.close());
    const errors: unknown[] = [];
    source.onerror = (e: FetchEventSourceError) => errors.push(e.error);
    await until(() => errors.length === 1, 5000, 'the error event');
    expect(errors[0]).toMatchObject({ code: 'TRANSPORT_FAILED', status: 503, retryAfter: 7000 });
    expect(source.readyState).toBe(FetchEventSource.CLOSED);
    expect(rejections).toEqual([]);
  });

  it('throws SyntaxError from the constructor on an invalid URL', () => {
    const make = () => new FetchEventSource('http://[not a host');
    expect(make).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(make).toThrow(DOMException);
  });

  it.each<[string, unknown]>([
    ['a number', 123],
    ['a host that is no host', 'http://[not a host'],
    ['a relative URL with no document to resolve it against', '/sse'],
  ])('throws, for %s, what the eventsource package throws: a DOMException SyntaxError with the same message', (_what, url) => {
    const thrown = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return error as DOMException;
      }
      throw new Error(`no error thrown for ${String(url)}`);
    };
    const ours = thrown(() => new FetchEventSource(url as string));
    const reference = thrown(() => new EventSource5(url as string));
    expect(ours).toBeInstanceOf(DOMException);
    expect(reference).toBeInstanceOf(DOMException);
    expect({ name: ours.name, message: ours.message }).toEqual({ name: reference.name, message: reference.message });
  });

  it('resolves a relative URL, or a number, against the document’s base URL in a page, as EventSource does', async () => {
    const paths: string[] = [];
    const s = await serve((req, res) => (paths.push(req.url!), stream(res).write('data: here\n\n')));
    // What a page has and Node lacks: a document whose base URL (a <base> element's, say) is not the page's own.
    (globalThis as { document?: unknown }).document = { baseURI: `${s.origin}/app/page.html` };
    cleanup.add(() => delete (globalThis as { document?: unknown }).document);
    const reference = new EventSource5('sse?x=1');
    reference.close();
    const numbered = new FetchEventSource(123 as unknown as string);
    numbered.close();
    expect(numbered.url).toBe(`${s.origin}/app/123`);
    const relative = open('sse?x=1');
    expect(relative.source.url).toBe(`${s.origin}/app/sse?x=1`);
    expect(relative.source.url).toBe(reference.url);
    await until(() => relative.data.length === 1, 5000, 'the event');
    expect(paths).toContain('/app/sse?x=1');
  });

  it('has the constants, sends open and error to addEventListener, and dispatches MessageEvents with type, origin, lastEventId and target', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) stream(res).end('id: 7\nevent: news\ndata: a\n\n');
      else res.writeHead(500).end();
    });
    expect([FetchEventSource.CONNECTING, FetchEventSource.OPEN, FetchEventSource.CLOSED]).toEqual([0, 1, 2]);
    const source = new FetchEventSource(s.url);
    cleanup.add(() => source.close());
    expect([source.CONNECTING, source.OPEN, source.CLOSED, source.readyState]).toEqual([0, 1, 2, 0]);
    const events: Event[] = [];
    const states: number[] = [];
    for (const type of ['open', 'news', 'error']) source.addEventListener(type, (e) => (events.push(e as Event), states.push(source.readyState)));
    await until(() => events.length === 4, 10_000, 'open, news, error, error');
    expect(events.map((e) => e.type)).toEqual(['open', 'news', 'error', 'error']);
    // Open, a message, the stream ends (reconnecting), the reconnect gets a 500 (closed for good).
    expect(states).toEqual([1, 1, 0, 2]);
    const message = events[1] as MessageEvent;
    expect(message).toBeInstanceOf(MessageEvent);
    expect(message).toMatchObject({ type: 'news', data: 'a', lastEventId: '7', origin: s.origin });
    expect(message.target).toBe(source);
  });

  it('on its own, reconnects after the server’s retry: with Last-Event-ID, as CONNECTING, and opens again', async () => {
    let ended = 0;
    const s = await serve((_req, res, n) => {
      stream(res);
      if (n === 1) res.end('retry: 400\nid: 41\ndata: one\n\n', () => (ended = performance.now()));
      else res.write('data: two\n\n');
    });
    const { source, data } = open(s.url);
    const states: number[] = [];
    source.onerror = () => states.push(source.readyState);
    await until(() => data.length === 2, 5000, 'the event after the reconnect');
    expect(data).toEqual(['one', 'two']);
    expect(states).toEqual([FetchEventSource.CONNECTING]);
    expect(s.requests[1].headers['last-event-id']).toBe('41');
    expect(s.requests[1].at - ended).toBeGreaterThanOrEqual(400 - 5); // a timer may fire up to a ms early by the clock
    expect(source.readyState).toBe(FetchEventSource.OPEN);
  });

  it('sends an id in other scripts as its UTF-8 bytes in Last-Event-ID', async () => {
    const s = await serve((_req, res, n) => {
      stream(res);
      if (n === 1) res.end('retry: 10\nid: é€😀\ndata: one\n\n');
      else res.write('data: two\n\n');
    });
    const { data } = open(s.url);
    await until(() => data.length === 2, 5000, 'the event after the reconnect');
    expect(Buffer.from(s.requests[1].headers['last-event-id'] as string, 'latin1').toString('utf8')).toBe('é€😀');
  });

  it('close() while it waits to reconnect cancels the reconnect', async () => {
    const s = await serve((_req, res) => stream(res).end('retry: 100\ndata: one\n\n'));
    const { source, data } = open(s.url);
    source.onerror = () => source.close();
    await until(() => data.length === 1 && source.readyState === FetchEventSource.CLOSED, 5000, 'the close');
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (a reconnection)
    expect(s.requests).toHaveLength(1);
  });
});
