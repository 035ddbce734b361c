/**
 * FetchEventSource, the opt-in EventSource read with fetch (the default for SSE in Node), against a
 * real HTTP server on 127.0.0.1: what it sends, what it dispatches, the errors it carries, and that
 * close() ends the request. Also the option rule that keeps it out of the core: `headers` with SSE
 * need an EventSource that can send them.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchEventSource, PushClient, PushError } from '../src';
import { wholeCharacters } from '../src/transports/fetch-event-source';
import { cleanups, listen, shut, until } from './helpers/net';

const cleanup = cleanups();
afterEach(() => cleanup.run());

async function serve(handler: http.RequestListener): Promise<{ url: string; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  const port = await listen(server);
  cleanup.add(() => shut(server));
  return { url: `http://127.0.0.1:${port}/sse`, requests };
}

function open(url: string, init?: ConstructorParameters<typeof FetchEventSource>[1]) {
  const es = new FetchEventSource(url, init);
  cleanup.add(() => es.close());
  const got: { type: string; data: string; lastEventId: string }[] = [];
  const errors: (PushError | undefined)[] = [];
  const take = (m: MessageEvent) => got.push({ type: m.type, data: m.data, lastEventId: m.lastEventId });
  es.onmessage = take;
  es.addEventListener('news', take);
  es.onerror = (e) => errors.push(e.error);
  return { es, got, errors };
}

describe('FetchEventSource', () => {
  it('sends the headers, dispatches unnamed events to onmessage and named ones to their listeners, and keeps lastEventId as EventSource does', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.write('retry: 100\n\n: comment\n\nid: 1\ndata: one\n\nevent: news\ndata: two\ndata: lines\n\nevent: other\ndata: unheard\n\n');
      res.write('data: no id\n\nid\ndata: id reset\n\n');
    });
    const { got, errors } = open(s.url, { headers: { authorization: 'Bearer t' } });
    await until(() => got.length === 4, 5000, 'four events');
    expect(s.requests[0].headers.authorization).toBe('Bearer t');
    expect(s.requests[0].headers.accept).toBe('text/event-stream');
    expect(got).toEqual([
      { type: 'message', data: 'one', lastEventId: '1' },
      { type: 'news', data: 'two\nlines', lastEventId: '1' },
      { type: 'message', data: 'no id', lastEventId: '1' },
      { type: 'message', data: 'id reset', lastEventId: '' },
    ]);
    expect(errors).toEqual([]);
  });

  it('closes on a 401 with UNAUTHORIZED, and keeps Retry-After of a 503', async () => {
    const s = await serve((_req, res) => {
      if (s.requests.length === 1) res.writeHead(401).end();
      else res.writeHead(503, { 'retry-after': '7' }).end('busy');
    });
    const a = open(s.url);
    await until(() => a.errors.length === 1, 5000, 'the 401');
    expect(a.errors[0]).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(a.es.readyState).toBe(2);
    const b = open(s.url);
    await until(() => b.errors.length === 1, 5000, 'the 503');
    expect(b.errors[0]).toMatchObject({ code: 'TRANSPORT_FAILED', status: 503, retryAfter: 7000 });
  });

  it('refuses a response that is not text/event-stream with BAD_FRAME, and reports an over-long event without closing', async () => {
    const html = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    const a = open(html.url);
    await until(() => a.errors.length === 1, 5000, 'the error');
    expect(a.errors[0]).toMatchObject({ code: 'BAD_FRAME' });

    const big = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${'x'.repeat(500)}\n\ndata: after\n\n`);
    });
    const reports: PushError[] = [];
    const b = open(big.url, { maxMessageSize: 100, report: (e) => reports.push(e) });
    await until(() => b.got.length === 1, 5000, 'the event after');
    expect(b.got[0].data).toBe('after');
    expect(reports.map((e) => e.code)).toEqual(['TOO_LARGE']);
    expect(b.errors).toEqual([]);
  });

  it('keeps a character cut between two chunks whole, in every UTF-8 length, and still reports invalid bytes', async () => {
    const text = 'a é € 😀 z';
    const bytes = Buffer.from(`data: ${text}\n\n`);
    // Cut inside each multi-byte character: the chunks arrive apart (a write, a pause, a write).
    const cuts = [...bytes.keys()].filter((i) => i > 0 && (bytes[i] & 0xc0) === 0x80);
    const s = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let from = 0;
      for (const c of cuts) {
        res.write(bytes.subarray(from, c));
        from = c;
        await new Promise((r) => setTimeout(r, 15));
      }
      res.write(bytes.subarray(from));
      res.write(Buffer.concat([Buffer.from('data: bad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n\n')]));
    });
    const reports: PushError[] = [];
    const { got } = open(s.url, { report: (e) => reports.push(e) });
    await until(() => got.length === 2, 5000, 'both events');
    expect(got[0].data).toBe(text);
    expect(got[1].data).toBe('bad \uFFFD(');
    expect(reports.map((e) => e.code)).toEqual(['BAD_FRAME']);
  });

  it('wholeCharacters finds where the last whole character ends', () => {
    const at = (...b: number[]) => wholeCharacters(Uint8Array.from(b));
    expect(at()).toBe(0);
    expect(at(0x61)).toBe(1);
    expect(at(0x61, 0xc3)).toBe(1); // é cut after its lead byte
    expect(at(0x61, 0xc3, 0xa9)).toBe(3);
    expect(at(0xe2, 0x82)).toBe(0); // € cut after two of three bytes
    expect(at(0xe2, 0x82, 0xac)).toBe(3);
    expect(at(0x61, 0xf0, 0x9f, 0x98)).toBe(1); // 😀 cut after three of four bytes
    expect(at(0xf0, 0x9f, 0x98, 0x80)).toBe(4);
    expect(at(0x61, 0x80)).toBe(2); // a stray continuation byte is left for the decoder to refuse
  });

  it('close() ends the request, and nothing is dispatched after it', async () => {
    let closed = false;
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      req.socket.on('close', () => (closed = true));
      const t = setInterval(() => res.write('data: more\n\n'), 20);
      res.on('close', () => clearInterval(t));
    });
    const { es, got, errors } = open(s.url);
    await until(() => got.length >= 1, 5000, 'the first event');
    es.close();
    const n = got.length;
    await until(() => closed, 5000, 'the server to see the request end');
    expect(got.length).toBe(n);
    expect(errors).toEqual([]);
  });
});

describe('headers and SSE', () => {
  it('headers with SSE and no EventSource option is a BAD_OPTION at construction (a native EventSource cannot send them)', () => {
    const make = (o: object) => () => new PushClient('http://127.0.0.1:9/', { autoConnect: false, headers: { a: 'b' }, ...o });
    expect(make({})).toThrow(PushError);
    expect(make({})).toThrow(/"headers".*FetchEventSource/);
    expect(make({ EventSource: FetchEventSource })).not.toThrow();
    expect(make({ transports: ['websocket', 'longpoll'] })).not.toThrow();
  });
});
