/**
 * The Node client (src/node.ts, what the `node` export condition gives) against the real push
 * server, in a runtime without a global `WebSocket` or `EventSource` (Node 20 has neither; newer
 * Node versions have them, so the test hides them): WebSocket goes through the `ws` package and SSE
 * through the fetch-based reader. Events arrive, sends and rooms work, and a server-side cut is
 * resumed without loss, over each transport. (The built package is checked in
 * test/e2e/cdn-package.spec.ts, after the build.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPushServer, type PushServer } from '../src/server';
import { PushClient } from '../src/node';
import type { TransportName } from '../src';

const TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
const saved = { WebSocket: globalThis.WebSocket, EventSource: (globalThis as { EventSource?: unknown }).EventSource };

let server: http.Server;
let push: PushServer;
let url: string;
let upgrades = 0;
const clients: PushClient<any>[] = [];

beforeAll(async () => {
  // What Node 20 looks like, whatever Node runs the test.
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  delete (globalThis as { EventSource?: unknown }).EventSource;
  server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', () => upgrades++);
  push = createPushServer({
    server,
    path: '/push',
    // A closed long-poll client just stops polling; forget it quickly.
    pollTimeout: 2000,
    sessionTimeout: 2000,
    onJoin: (_conn, ch) => ch !== 'room:secret' || Promise.reject(new Error('invite only')),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await push.close();
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  if (saved.WebSocket) globalThis.WebSocket = saved.WebSocket;
  if (saved.EventSource) (globalThis as { EventSource?: unknown }).EventSource = saved.EventSource;
});

function client<E extends Record<string, any> = Record<string, any>>(transport: TransportName, options = {}) {
  const c = new PushClient<E>(url, { transports: [transport], rememberTransport: 0, reconnect: { minDelay: 50, maxDelay: 200 }, ...options });
  clients.push(c);
  return c;
}

const opened = (c: PushClient<any>) =>
  new Promise<void>((resolve, reject) => {
    if (c.status.state === 'open') return resolve();
    const timer = setTimeout(() => reject(new Error(`not open after 15 s: ${c.status.state} ${c.status.error?.message ?? ''}`)), 15_000);
    c.lifecycle.on('open', () => {
      clearTimeout(timer);
      resolve();
    });
  });

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ours = (transport: TransportName) => push.connections.filter((c) => c.transport === transport);

it('runs where there is no global WebSocket or EventSource (as in Node 20)', () => {
  expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('undefined');
  expect(typeof (globalThis as { EventSource?: unknown }).EventSource).toBe('undefined');
});

describe.each(TRANSPORTS)('over %s', (transport) => {
  it('receives events, typed and in order, with meta', { timeout: 40_000 }, async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const upgradesBefore = upgrades;
    const c = client<{ price: { symbol: string; px: number }; news: string }>(transport);
    const got: unknown[] = [];
    c.on('price', (d, m) => got.push(['price', d, m.transport, m.id]));
    c.on('news', (d, m) => got.push(['news', d, m.transport, m.id]));
    await opened(c);
    expect(c.status).toMatchObject({ state: 'open', transport });

    const ids = [
      await push.publish('price', { symbol: 'ACME', px: 1.5 }),
      await push.publish('news', 'héllo\nworld'),
      await push.publish('price', { symbol: 'INIT', px: 2 }),
    ];
    await until(() => got.length === 3, 'three events');
    expect(got).toEqual([
      ['price', { symbol: 'ACME', px: 1.5 }, transport, ids[0]],
      ['news', 'héllo\nworld', transport, ids[1]],
      ['price', { symbol: 'INIT', px: 2 }, transport, ids[2]],
    ]);
    expect(c.lastEventId).toBe(ids[2]);

    // Which mechanism carried it: `ws` makes an upgrade request; SSE and long-poll go through fetch.
    const httpCalls = fetchSpy.mock.calls.map(([u]) => new URL(String(u)).searchParams.get('t'));
    if (transport === 'websocket') {
      expect(upgrades - upgradesBefore).toBe(1);
      expect(httpCalls).toEqual([]);
    } else {
      expect(upgrades - upgradesBefore).toBe(0);
      expect(httpCalls[0]).toBe(transport === 'eventsource' ? 'sse' : 'lp');
      if (transport === 'eventsource') {
        // One streaming request, read by the fetch-based SSE reader.
        expect(httpCalls.filter((t) => t === 'sse')).toHaveLength(1);
        const init = fetchSpy.mock.calls[0][1] as RequestInit;
        expect(new Headers(init.headers).get('accept')).toBe('text/event-stream');
      }
    }
  });

  it('sends to the server and joins a room: a room publish reaches it, another room does not, a refused join is typed', { timeout: 40_000 }, async () => {
    const got: [string, unknown, string][] = [];
    const off = push.onMessage((event, data, conn) => got.push([event, data, conn.transport]));
    const c = client(transport);
    const events: [string, unknown, string | undefined][] = [];
    c.onAny((event, data, meta) => events.push([event, data, meta.channel]));
    await opened(c);

    await c.send('chat', { text: 'from node' });
    await until(() => got.length === 1, 'the send');
    expect(got).toEqual([['chat', { text: 'from node' }, transport]]);

    await c.join('room:a');
    await expect(c.join('room:secret')).rejects.toMatchObject({ code: 'JOIN_REFUSED', message: expect.stringContaining('invite only') });
    expect(c.channels).toEqual(['room:a']);
    await push.publish('chat', 'to b', { channel: 'room:b' });
    await push.publish('chat', 'to a', { channel: 'room:a' });
    await push.publish('chat', 'to all');
    await until(() => events.length === 2, 'two events');
    expect(events).toEqual([
      ['chat', 'to a', 'room:a'],
      ['chat', 'to all', undefined],
    ]);
    expect(c.status.state).toBe('open');
    off();
  });

  it('after the server cuts the connection, reconnects and resumes with nothing lost or repeated', { timeout: 40_000 }, async () => {
    const c = client(transport);
    const seen: number[] = [];
    c.on('n', (n: number) => seen.push(n));
    await opened(c);
    for (let n = 0; n < 5; n++) await push.publish('n', n);
    await until(() => seen.length === 5, 'the first five');
    const before = ours(transport).map((x) => x.id);

    const reconnecting = new Promise((r) => c.lifecycle.on('reconnecting', r));
    const gaps: unknown[] = [];
    c.lifecycle.on('gap', (g) => gaps.push(g));
    for (const conn of push.connections) conn.close();
    // Published while the client is away: replayed from history on resume.
    for (let n = 5; n < 10; n++) await push.publish('n', n);
    await reconnecting;
    await until(() => c.status.state === 'open', 'open again');
    for (let n = 10; n < 15; n++) await push.publish('n', n);
    await until(() => seen.length >= 15, 'all fifteen');
    await new Promise((r) => setTimeout(r, 100)); // a duplicate would show by now
    expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(gaps).toEqual([]);
    expect(ours(transport).some((x) => !before.includes(x.id))).toBe(true);
  });
});

it('an injected WebSocket implementation wins over `ws`', { timeout: 40_000 }, async () => {
  const { default: WS } = await import('ws');
  let made = 0;
  class Counting extends WS {
    constructor(...args: ConstructorParameters<typeof WS>) {
      super(...args);
      made++;
    }
  }
  const c = client('websocket', { WebSocket: Counting as unknown as typeof WebSocket });
  await opened(c);
  expect(made).toBe(1);
});
