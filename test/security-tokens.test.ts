/**
 * Issue 4: tokens never appear in errors. A client carries a token in `query` and another in
 * `headers`; we provoke every error we can think of, on every transport, against real and scripted
 * servers on 127.0.0.1, and look for either token in every message and cause the client produced.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { PushError, TransportName } from '../src';
import { PushClient } from '../src/node';
import { encodeEvent } from '../src/protocol';
import { event, fakePush, hello, type FakeScript } from './helpers/fake-push';
import { listen, shut, sleep, until } from './helpers/net';
import { startServer } from './helpers/server-clients';

const TQ = 'tq_5ecret_Q7x';
const TH = 'th_5ecret_H9y';
const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

/** Everything the client produced: errors reported, carried by status, rejected by send(), thrown. */
const seen: unknown[] = [];
const closers: (() => unknown)[] = [];

afterAll(async () => {
  for (const f of closers.reverse()) await f();
});

function texts(e: unknown, depth = 0): string[] {
  if (e === null || e === undefined || depth > 8) return [];
  if (typeof e !== 'object') return [String(e)];
  const err = e as { message?: unknown; stack?: unknown; cause?: unknown; errors?: unknown[]; reason?: unknown };
  const out = [String(err.message ?? ''), String(err.stack ?? ''), String(e)];
  try {
    out.push(JSON.stringify(e));
  } catch {
    /* circular */
  }
  out.push(...texts(err.cause, depth + 1));
  for (const x of err.errors ?? []) out.push(...texts(x, depth + 1));
  return out;
}

function client(url: ConstructorParameters<typeof PushClient>[0], opts: ConstructorParameters<typeof PushClient>[1] = {}) {
  const c = new PushClient(url, {
    query: { token: TQ },
    headers: async () => ({ authorization: 'Bearer ' + TH }),
    rememberTransport: 0,
    connectTimeout: 400,
    reconnect: { minDelay: 10, maxDelay: 40, maxRetries: 2 },
    ...opts,
  });
  closers.push(() => c.close());
  c.lifecycle.on('error', (e) => seen.push(e));
  c.lifecycle.on('reconnecting', (r) => seen.push(r.error));
  c.lifecycle.on('close', (r) => seen.push(r.error));
  c.subscribe((s) => seen.push(s.error));
  return c;
}

const send = (c: PushClient, name: string, data?: unknown) => c.send(name, data).catch((e) => void seen.push(e));
const settled = (c: PushClient, ms = 8000) => until(() => c.status.state === 'closed', ms, 'closed');

async function httpServer(handler: http.RequestListener, upgrade?: (req: IncomingMessage, socket: net.Socket) => void) {
  const server = http.createServer(handler);
  if (upgrade) server.on('upgrade', (req, socket) => upgrade(req, socket as net.Socket));
  const port = await listen(server);
  closers.push(() => shut(server));
  return `http://127.0.0.1:${port}/push`;
}

describe('tokens in query and headers never appear in an error', () => {
  it('nothing listening, on every transport, until maxRetries', async () => {
    const free = net.createServer();
    const port = await new Promise<number>((r) => free.listen(0, '127.0.0.1', () => r((free.address() as net.AddressInfo).port)));
    await new Promise((r) => free.close(r));
    const c = client(`http://127.0.0.1:${port}/push`);
    await send(c, 'queued', 1);
    await settled(c);
  });

  it.each([401, 403, 429, 500, 503])('every request answered %i (with Retry-After and a body that quotes the request)', async (status) => {
    const url = await httpServer(
      (req, res) => res.writeHead(status, { 'Retry-After': '0' }).end('refused ' + req.url),
      (_req, socket) => socket.end(`HTTP/1.1 ${status} No\r\nContent-Length: 0\r\n\r\n`),
    );
    for (const t of ALL) await settled(client(url, { transports: [t] }));
  });

  it('garbage: HTML with 200, the wrong type, silence, a server that closes at once', async () => {
    const url = await httpServer(
      (req, res) => {
        const t = new URL(req.url!, 'http://x').searchParams.get('t');
        if (t === 'sse') res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>' + req.url);
        else if (t === 'lp') res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end('<html>');
        else res.destroy();
      },
      (_req, socket) => socket.destroy(),
    );
    await settled(client(url));
    const silent = await httpServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/event-stream' }).write(': hi\n\n'));
    await settled(client(silent, { transports: ['eventsource'] }));
    const lpText = await httpServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('not a hello'));
    await settled(client(lpText, { transports: ['longpoll'] }));
  });

  it.each(ALL)('malformed, oversized and undecodable frames, failed sends and drops over %s', async (transport) => {
    const bad = [
      'data: \ndata: x\n\n',
      encodeEvent('$what', '{}'),
      encodeEvent('$ack', '{'),
      'data: big\ndata: ' + 'x'.repeat(200_000) + '\n\n',
      Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a, 0x0a]),
      event('ok', 1, 'e:1'),
    ];
    const script: FakeScript = {
      sse: (n) => ({ chunks: n === 0 ? [hello(), ...bad] : [hello('c' + n)] }),
      lp: (n) => (n === 0 ? { chunks: [hello(), ...bad] } : n < 3 ? { chunks: [] } : null),
      ws: (n) => (n === 0 ? [hello(), ...bad] : [hello('c' + n)]),
      post: (n) => ({ status: [500, 401, 413, 0][n % 4], chunks: ['no ' + TQ] }),
    };
    const f = await fakePush(script);
    closers.push(() => f.close());
    const c = client(f.url, {
      transports: [transport],
      maxMessageSize: 50_000,
      decode: (s) => JSON.parse(s),
      reconnect: { minDelay: 10, maxDelay: 40, maxRetries: 50 },
    });
    c.on('ok', () => {
      throw new Error('handler bug');
    });
    await until(() => c.status.state === 'open', 5000, 'open');
    for (let i = 0; i < 4; i++) await send(c, 'chat', { i });
    await send(c, '$evil');
    await sleep(300); // the behaviour under test: the bad frames and failed sends play out
    await f.close(); // the server goes away: reconnect attempts fail
    await sleep(300); // the behaviour under test: reconnect attempts fail for a while
    c.close();
    await send(c, 'after-close');
  });

  it('a real server: authorize refusals, refused joins, a send too large, queue full, server shutdown', async () => {
    const s = await startServer({
      maxBodySize: 100,
      pollTimeout: 200,
      onError: () => {},
      authorize: (req) => {
        const q = new URL(req.url!, 'http://x').searchParams.get('token');
        if (q !== TQ) throw Object.assign(new Error('bad token ' + q), { status: 401 });
        return { id: 1 };
      },
      onJoin: (_c, ch) => (ch === 'secret' ? Promise.reject(new Error('no')) : ch !== 'nope'),
    });
    closers.push(() => s.close());
    for (const t of ALL) {
      const c = client(s.url, { transports: [t], channels: ['nope'], maxQueued: 1, reconnect: { minDelay: 10, maxDelay: 40, maxRetries: 3 } });
      const first = send(c, 'a');
      await send(c, 'b'); // queue full
      await first;
      await until(() => c.status.state === 'open', 5000, 'open');
      await c.join('secret').catch((e) => seen.push(e));
      await send(c, 'big', 'x'.repeat(500));
      c.close();
    }
    // Refused by authorize on every transport (another token), then the server closes under a client.
    await settled(client(s.url, { query: { token: 'other-' + TQ.slice(0, 3) } }));
    const last = client(s.url, { transports: ['longpoll'] });
    await until(() => last.status.state === 'open', 5000, 'open');
    await s.close();
    await settled(last);
  });

  it('invalid options: messages name the option, never its value', async () => {
    const bad: [ConstructorParameters<typeof PushClient>[0], object][] = [
      [`nope://x/push?token=${TQ}`, {}],
      [`http://user:${TQ}@127.0.0.1/push`, {}],
      [{ websocket: `http://127.0.0.1/push?token=${TQ}` }, {}],
      ['http://127.0.0.1/push', { query: TQ }],
      ['http://127.0.0.1/push', { headers: TH }],
      ['http://127.0.0.1/push', { lastEventId: { TQ } }],
      ['http://127.0.0.1/push', { channels: TQ }],
    ];
    for (const [url, o] of bad) {
      try {
        new PushClient(url, o as never);
        throw new Error('accepted');
      } catch (e) {
        expect((e as PushError).code).toBe('BAD_OPTION');
        seen.push(e);
      }
    }
  });

  it('found nothing', () => {
    const errors = seen.filter((e) => e !== undefined);
    // Enough different errors were provoked for the check to mean something.
    const codes = new Set(errors.map((e) => (e as PushError).code));
    for (const code of [
      'TRANSPORT_FAILED',
      'UNAUTHORIZED',
      'MAX_RETRIES',
      'BAD_FRAME',
      'TOO_LARGE',
      'SEND_FAILED',
      'QUEUE_FULL',
      'CLOSED',
      'HANDLER_ERROR',
      'JOIN_REFUSED',
      'BAD_OPTION',
    ]) {
      expect(codes, `no ${code} was provoked`).toContain(code);
    }
    const leaks = errors.flatMap((e) =>
      texts(e)
        .filter((t) => t.includes(TQ) || t.includes(TH))
        .map((t) => `${(e as PushError).code}: ${t.slice(0, 300)}`),
    );
    expect(leaks).toEqual([]);
    expect(errors.length).toBeGreaterThan(50);
  });
});
