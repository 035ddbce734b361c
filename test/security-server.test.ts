/**
 * Issue 4, server side: connection limits (total and per address), slots given back, one long-poll
 * at a time, bounded history and buffers, dead connections reaped by the heartbeat on every
 * transport, and polls and sends checked against the identity that owns the connection.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { PushClient } from '../src/node';
import type { TransportName } from '../src';
import net from 'node:net';
import { rawExchange } from './helpers/net';
import { connect, lpGet, post, sleep, sseClient, startServer, until, wsClient, type AnyClient, type TestServer } from './helpers/server-clients';

const servers: TestServer<any>[] = [];
const clients: { stop(): unknown }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start<U = unknown>(options: Parameters<typeof startServer<U>>[0] = {}): Promise<TestServer<U>> {
  const s = await startServer<U>({ onError: () => {}, ...options });
  servers.push(s);
  return s;
}

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

/** Tries to open a connection over `kind`; resolves with the HTTP status, the reason and `Retry-After`. */
async function attempt(kind: TransportName, url: string, headers: Record<string, string> = {}) {
  if (kind === 'websocket') {
    try {
      const w = await wsClient(url, {}, headers);
      clients.push({ stop: () => w.close() });
      await w.inbox.waitFor((f) => f.length > 0, 5000, 'hello');
      return { status: 101, reason: '', retryAfter: null as string | null };
    } catch (err) {
      const e = err as { status?: number; body?: string; message: string };
      return { status: e.status ?? 0, reason: e.body ?? e.message, retryAfter: /Retry-After: (\d+)/i.exec(e.message)?.[1] ?? null };
    }
  }
  const ac = new AbortController();
  const t = kind === 'eventsource' ? 't=sse' : 't=lp';
  const res = await fetch(url + (url.includes('?') ? '&' : '?') + t, { headers, signal: ac.signal });
  if (res.status !== 200) {
    const reason = await res.text();
    return { status: res.status, reason, retryAfter: res.headers.get('retry-after') };
  }
  if (kind === 'eventsource') clients.push({ stop: () => ac.abort() });
  else await res.text();
  return { status: 200, reason: '', retryAfter: null as string | null };
}

/** The status line and headers of a refused upgrade, read off the raw socket. */
function rawUpgrade(port: number, extra = ''): Promise<string> {
  return rawExchange(
    port,
    'GET /push HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      extra +
      '\r\n',
  );
}

describe('connection limits', () => {
  it('refuses one connection over maxConnections with 503 and Retry-After on every transport, and takes new ones once a slot is free', async () => {
    const s = await start({ maxConnections: 2, pollTimeout: 200 });
    const a = await connect('eventsource', s.url);
    const b = await connect('websocket', s.url);
    clients.push(a, b);
    for (const kind of ALL) {
      const r = await attempt(kind, s.url);
      expect(r, kind).toMatchObject({ status: 503, reason: 'too many connections' });
    }
    const raw = await rawUpgrade(+new URL(s.origin).port);
    expect(raw).toMatch(/^HTTP\/1.1 503 /);
    expect(raw).toMatch(/Retry-After: 5\r\n/);
    expect((await attempt('longpoll', s.url)).retryAfter).toBe('5');

    await b.stop();
    await until(() => s.push.connections.length === 1, 5000, 'the WebSocket to go');
    const c = await connect('longpoll', s.url);
    clients.push(c);
    expect((await attempt('websocket', s.url)).status).toBe(503);
  });

  it('refuses one connection over maxConnectionsPerIp with 429 per client address (clientIp), others still get in', async () => {
    const s = await start({
      maxConnectionsPerIp: 2,
      clientIp: (req: IncomingMessage) => String(req.headers['x-test-ip']),
    });
    const A = { 'x-test-ip': '203.0.113.1' };
    const B = { 'x-test-ip': '203.0.113.2' };
    expect((await attempt('websocket', s.url, A)).status).toBe(101);
    expect((await attempt('eventsource', s.url, A)).status).toBe(200);
    for (const kind of ALL) {
      expect(await attempt(kind, s.url, A), kind).toMatchObject({ status: 429, reason: 'too many connections from this address' });
    }
    expect((await attempt('eventsource', s.url, B)).status).toBe(200);
    expect((await attempt('websocket', s.url, B)).status).toBe(101);
    expect((await attempt('websocket', s.url, B)).status).toBe(429);
  });

  it('gives the slot back when authorize refuses, when the WebSocket handshake is bad, when the client goes, and on reap', async () => {
    const s = await start({
      maxConnections: 1,
      sessionTimeout: 100,
      pollTimeout: 50,
      authorize: (req: IncomingMessage) => (new URL(req.url!, 'http://x').searchParams.get('token') === 'ok' ? { id: 1 } : false),
    });
    const port = +new URL(s.origin).port;
    for (let i = 0; i < 5; i++) {
      expect((await fetch(s.url + '?t=sse')).status).toBe(401);
      expect(await rawUpgrade(port)).toMatch(/^HTTP\/1.1 401 /);
    }
    // A handshake `ws` refuses itself (wrong version) after authorize passed.
    const bad = await rawExchange(
      port,
      'GET /push?token=ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n',
    );
    expect(bad).toMatch(/^HTTP\/1.1 400 /);
    // Each transport in turn: the one slot is free again each time its client went.
    for (const kind of ALL) {
      const c = await connect(kind, s.url, { token: 'ok' });
      expect((await attempt('eventsource', s.url + '?token=ok')).status, kind).toBe(503);
      await c.stop();
      await until(() => s.push.connections.length === 0, 5000, `${kind} to go`);
    }
    // A long-poll session that is never polled again is reaped, and its slot with it.
    const lp = await lpGet(s.url, { token: 'ok' });
    expect(lp.status).toBe(200);
    await until(() => s.push.connections.length === 0, 5000, 'reap');
    const last = await connect('websocket', s.url, { token: 'ok' });
    clients.push(last);
  });

  it('rejects invalid limits at construction, and takes Infinity as no limit', async () => {
    for (const bad of [0, -1, 1.5, NaN, '10']) {
      await expect(start({ maxChannels: bad as number })).rejects.toMatchObject({ code: 'BAD_OPTION' });
      await expect(start({ maxConnections: bad as number })).rejects.toMatchObject({ code: 'BAD_OPTION' });
      await expect(start({ maxConnectionsPerIp: bad as number })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    }
    await expect(start({ clientIp: 'x' as never })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(start({ identify: 1 as never })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    const s = await start({ maxConnections: Infinity, maxConnectionsPerIp: Infinity });
    const cs = await Promise.all(Array.from({ length: 20 }, () => connect('websocket', s.url)));
    clients.push(...cs);
    expect(s.push.connections.length).toBe(20);
  });
});

describe('bounded state', () => {
  it('holds one long-poll per connection: every earlier poll is answered empty at once', async () => {
    const s = await start({ pollTimeout: 10_000 });
    const { cid } = JSON.parse((await lpGet(s.url, {})).frames[0].data);
    const t0 = Date.now();
    const polls = Array.from({ length: 5 }, () => lpGet(s.url, { cid, ack: '1' }));
    const early = await Promise.all(polls.slice(0, 4));
    expect(early.map((r) => [r.status, r.text])).toEqual(Array(4).fill([200, '']));
    expect(Date.now() - t0).toBeLessThan(5000);
    await s.push.publish('n', 1);
    expect((await polls[4]).frames.map((f) => f.event)).toEqual(['n']);
  });

  it('keeps at most `history` entries: resuming from before them is a gap, from within replays only what is kept', async () => {
    const s = await start({ history: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await s.push.publish('n', i));
    const old = await lpGet(s.url, { lastEventId: ids[5] });
    expect(JSON.parse(old.frames[0].data).replay).toBe(false);
    // Nothing replayed: only the hello, and for long-poll a `$hb` with the id its cursor starts at.
    expect(old.frames.filter((f) => f.event !== '$hb')).toHaveLength(1);
    const recent = await lpGet(s.url, { lastEventId: ids[24] });
    expect(JSON.parse(recent.frames[0].data).replay).toBe(true);
    expect(recent.frames.slice(1).map((f) => +f.data)).toEqual([25, 26, 27, 28, 29]);
  });

  it('keeps nothing for a long-poll session whose client stopped polling: its next poll reads the bounded history', async () => {
    const s = await start({ maxBufferedBytes: 10_000, history: 10, pollTimeout: 60_000, sessionTimeout: 60_000 });
    const first = await lpGet(s.url, {});
    const { cid } = JSON.parse(first.frames[0].data);
    const cursor = first.frames.at(-1)!.id!;
    for (let i = 0; i < 20; i++) await s.push.publish('n', 'x'.repeat(1000));
    expect(s.push.connection(cid)).toBeDefined();
    // 20 KB were published, twice maxBufferedBytes: the history kept the last 10, the session nothing.
    expect((await lpGet(s.url, { cid, cursor })).status).toBe(404); // its cursor fell out of the history
    const again = await lpGet(s.url, {});
    const next = lpGet(s.url, { cid: JSON.parse(again.frames[0].data).cid, cursor: again.frames.at(-1)!.id! });
    for (let i = 0; i < 3; i++) await s.push.publish('n', i);
    expect((await next).status).toBe(200);
  });

  it('drops a connection whose handshake hangs (onJoin never answers) once what it holds passes maxBufferedBytes', async () => {
    let joining!: () => void;
    const inOnJoin = new Promise<void>((r) => (joining = r));
    const onJoin = (_c: unknown, ch: string) => (ch === 'slow' ? (joining(), new Promise<boolean>(() => {})) : true);
    const s = await start({ maxConnections: 1, maxBufferedBytes: 10_000, onJoin });
    const ac = new AbortController();
    const pending = fetch(s.url + '?t=lp&ch=slow', { signal: ac.signal })
      .then((r) => r.text())
      .catch(() => '');
    await inOnJoin; // the handshake holds its slot now
    expect((await attempt('longpoll', s.url)).status).toBe(503);
    for (let i = 0; i < 20; i++) await s.push.publish('n', 'x'.repeat(1000));
    await pending;
    expect((await attempt('longpoll', s.url)).status).toBe(200);
  });
});

describe('channels per connection', () => {
  it('refuses joins past maxChannels, at connect and later, and takes one again after a leave', async () => {
    const s = await start({ maxChannels: 3 });
    const w = await wsClient(s.url, { ch: ['a', 'b', 'c', 'd', 'e'] });
    clients.push({ stop: () => w.close() });
    await w.inbox.waitFor((f) => f.length > 0, 5000, 'hello');
    expect(w.inbox.hello!.refused).toEqual({ d: 'too many channels', e: 'too many channels' });
    w.send({ e: '$join', d: 'f', r: 1 });
    w.send({ e: '$leave', d: 'a', r: 2 });
    w.send({ e: '$join', d: 'g', r: 3 });
    w.send({ e: '$join', d: 'h', r: 4 });
    await w.inbox.waitFor((f) => f.filter((x) => x.event === '$ack').length === 4, 5000, 'acks');
    expect(w.inbox.named('$ack').map((f) => JSON.parse(f.data))).toEqual([
      { r: 1, ok: false, error: 'too many channels' },
      { r: 2, ok: true },
      { r: 3, ok: true },
      { r: 4, ok: false, error: 'too many channels' },
    ]);
    expect([...s.push.connections[0].channels].sort()).toEqual(['b', 'c', 'g']);
  });
});

describe('dead connections are reaped by the heartbeat', () => {
  it('WebSocket: a peer that answers no ping is dropped after two heartbeats', async () => {
    const s = await start({ heartbeatMs: 100 });
    const ws = new WebSocket(s.url.replace('http', 'ws'), { autoPong: false });
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    await until(() => s.push.connections.length === 1, 5000, 'connected');
    const t0 = Date.now();
    await closed;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(s.push.connections.length).toBe(0);
  });

  it('WebSocket: a peer that answers pings stays', async () => {
    const s = await start({ heartbeatMs: 50 });
    const w = await wsClient(s.url);
    clients.push({ stop: async () => w.close() });
    // The server drops a peer after two heartbeats without a pong: six pings answered is three times that.
    await new Promise<void>((resolve) => {
      let pings = 0;
      w.ws.on('ping', () => ++pings === 6 && resolve());
    });
    expect(s.push.connections.length).toBe(1);
  });

  it('long-poll: a session with no poll for sessionTimeout is dropped', async () => {
    const s = await start({ sessionTimeout: 150, pollTimeout: 50 });
    const { cid } = JSON.parse((await lpGet(s.url, {})).frames[0].data);
    expect(s.push.connection(cid)).toBeDefined();
    await until(() => s.push.connection(cid) === undefined, 5000, 'reap');
    expect((await lpGet(s.url, { cid, ack: '1' })).status).toBe(404);
  });

  it('long-poll: each held poll is answered empty after pollTimeout, and a session that keeps polling outlives sessionTimeout', async () => {
    // The session's two timers are made once and re-armed (refresh): neither may fire early on a
    // poll it was not armed for, nor reap a session whose poll is held.
    const s = await start({ sessionTimeout: 150, pollTimeout: 60 });
    const { cid } = JSON.parse((await lpGet(s.url, {})).frames[0].data);
    const started = Date.now();
    let polls = 0;
    while (Date.now() - started < 600) {
      const t0 = Date.now();
      const r = await lpGet(s.url, { cid, ack: '1' });
      expect(r.status).toBe(200);
      expect(r.text).toBe('');
      // Held for pollTimeout (timers may fire a little early on a loaded machine; never at once).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      polls++;
    }
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(s.push.connection(cid)).toBeDefined();
    // An event while a poll is held is answered at once, and the next poll is held again.
    const holding = s.handled(`cid=${cid}`);
    const held = lpGet(s.url, { cid, ack: '1' });
    await holding;
    await s.push.publish('n', 1);
    const r = await held;
    expect(r.frames.map((f) => f.event)).toEqual(['n']);
    const t0 = Date.now();
    expect((await lpGet(s.url, { cid, ack: '2' })).text).toBe('');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    // Then no poll: reaped.
    await until(() => s.push.connection(cid) === undefined, 5000, 'reap');
  });

  it('SSE: a peer that reads nothing while bytes wait for it is dropped at the next heartbeats', async () => {
    const s = await start({ heartbeatMs: 200, maxBufferedBytes: 1 << 30 });
    const port = +new URL(s.origin).port;
    // A raw HTTP client that reads the head, then stops reading (a frozen process, a dead network).
    const stalled = net.connect(port, '127.0.0.1');
    const gone = new Promise<void>((r) => stalled.on('close', () => r()));
    stalled.on('error', () => {});
    stalled.write('GET /push?t=sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await new Promise((r) => stalled.once('data', r));
    stalled.pause();
    await until(() => s.push.connections.length === 1, 5000, 'connected');
    // More than the socket buffers of loopback hold, so that bytes wait in the process.
    const big = 'x'.repeat(1 << 20);
    for (let i = 0; i < 12; i++) await s.push.publish('big', big);
    await until(() => s.push.connections.length === 0, 10_000, 'the stalled peer to be reaped');
    stalled.resume(); // reads what was buffered, then the end the server gave it
    await gone;
  });

  it('SSE: a peer that reads stays, heartbeat after heartbeat', async () => {
    const s = await start({ heartbeatMs: 50 });
    const reader = await sseClient(s.url, { t: 'sse' });
    clients.push({ stop: () => reader.close() });
    await until(() => s.push.connections.length === 1, 5000, 'connected');
    for (let i = 0; i < 40; i++) {
      await s.push.publish('n', 'y'.repeat(10_000));
      await sleep(10); // the behaviour under test: writes spread over several heartbeat periods
    }
    await reader.inbox.waitFor((f) => f.filter((x) => x.event === 'n').length === 40, 10_000, 'every event');
    expect(s.push.connections.length).toBe(1);
  });
});

describe('polls and sends are checked against the connection they name', () => {
  type User = { id: string; at?: number };
  const TOKENS: Record<string, string> = { 'tok-alice': 'alice', 'tok-bob': 'bob' };
  const auth = (req: IncomingMessage): User | false => {
    const id = TOKENS[new URL(req.url!, 'http://x').searchParams.get('token') ?? ''];
    return id ? { id } : false;
  };

  it('refuses a send to a connection id the server never issued with 404', async () => {
    const s = await start();
    const r = await post(s.url, 'forged-' + 'A'.repeat(22), { e: 'x' });
    expect(r.status).toBe(404);
    expect(await r.text()).toMatch(/unknown/);
    expect((await lpGet(s.url, { cid: 'forged', ack: '0' })).status).toBe(404);
  });

  it('answers a refused send without reading its body, and closes the connection', async () => {
    const s = await start<User>({ authorize: auth });
    const { cid } = JSON.parse((await lpGet(s.url, { token: 'tok-alice' })).frames[0].data);
    const port = +new URL(s.origin).port;
    for (const [target, status] of [
      ['/push?cid=unknown', 404],
      [`/push?cid=${cid}&token=tok-bob`, 403],
      [`/push?cid=${cid}`, 401],
    ] as const) {
      // Declares 100 MB and sends only the start of it: the answer must not wait for the rest.
      const head = `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`;
      const answer = await rawExchange(port, head + '[{"e":"x"}', { ms: 5000 });
      expect(answer, target).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(answer, target).toMatch(/\r\nConnection: close\r\n/i);
    }
  });

  it.each(['eventsource', 'longpoll'] as const)('over %s: another identity gets 403, no credentials 401, the owner 204', async (kind) => {
    const got: [string, string][] = [];
    const s = await start<User>({ authorize: auth, pollTimeout: 100 });
    s.push.onMessage((e, _d, conn) => got.push([e, conn.user.id]));
    const alice = await connect(kind, s.url, { token: 'tok-alice' });
    clients.push(alice);
    const send = (token: string | null, e: string) =>
      fetch(`${s.url}?cid=${alice.cid}${token ? '&token=' + token : ''}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ e }),
      });
    const asBob = await send('tok-bob', 'from-bob');
    expect(asBob.status).toBe(403);
    expect(await asBob.text()).toBe('connection belongs to another identity');
    expect((await send(null, 'anonymous')).status).toBe(401);
    expect((await send('tok-alice', 'from-alice')).status).toBe(204);
    expect(got).toEqual([['from-alice', 'alice']]);
    if (kind === 'longpoll') {
      // The first answer was two blocks (the hello, and the id the cursor starts at), which the
      // client polling beside us has acknowledged: an ack of 1 would be out of range.
      expect((await lpGet(s.url, { cid: alice.cid, ack: '2', token: 'tok-bob' })).status).toBe(403);
      expect((await lpGet(s.url, { cid: alice.cid, ack: '2' })).status).toBe(401);
      expect((await lpGet(s.url, { cid: alice.cid, ack: '2', token: 'tok-alice' })).status).toBe(200);
    }
  });

  it('passes the connection to authorize on polls and sends, and compares identify(user), not the whole user', async () => {
    const seen: (string | undefined)[] = [];
    const s = await start<User>({
      pollTimeout: 50,
      authorize: (req, conn) => {
        seen.push(conn?.id);
        const u = auth(req);
        return u && { ...u, at: Math.random() }; // differs on every request
      },
      identify: (u) => u.id,
    });
    const { cid } = JSON.parse((await lpGet(s.url, { token: 'tok-alice' })).frames[0].data);
    expect((await lpGet(s.url, { cid, ack: '1', token: 'tok-alice' })).status).toBe(200);
    expect(
      (await fetch(`${s.url}?cid=${cid}&token=tok-alice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"e":"x"}' })).status,
    ).toBe(204);
    expect((await lpGet(s.url, { cid, ack: '1', token: 'tok-bob' })).status).toBe(403);
    expect(seen).toEqual([undefined, cid, cid, cid]);

    // Without identify the default compares JSON: a user that differs on every request never matches.
    const strict = await start<User>({ pollTimeout: 50, authorize: (_req) => ({ id: 'x', at: Math.random() }) });
    const h = JSON.parse((await lpGet(strict.url, {})).frames[0].data);
    expect((await lpGet(strict.url, { cid: h.cid, ack: '1' })).status).toBe(403);
  });

  it.each(ALL)('a real client with a token in its query opens, receives and sends over %s', async (transport) => {
    const got: [string, string][] = [];
    // Each long-poll poll is authorized again: `polled` resolves after three more checks of an existing connection.
    let checked = 0;
    let polled!: () => void;
    const threeMorePolls = () => {
      const target = checked + 3;
      return new Promise<void>((resolve) => (polled = () => checked >= target && resolve()));
    };
    const s = await start<User>({
      authorize: (req, conn) => {
        if (conn) {
          checked++;
          polled?.();
        }
        return auth(req);
      },
      pollTimeout: 100,
    });
    s.push.onMessage((e, _d, conn) => got.push([e, conn.user.id]));
    const c = new PushClient(s.url, { transports: [transport], query: { token: 'tok-bob' } });
    clients.push({ stop: () => c.close() });
    const first = new Promise((r) => c.once('hi', r));
    await until(() => c.status.state === 'open', 10_000, 'open');
    await s.push.publish('hi', 1);
    await first;
    await c.send('chat', 1);
    await c.send('chat', 2);
    await until(() => got.length === 2, 5000, 'sends');
    expect(got).toEqual([
      ['chat', 'bob'],
      ['chat', 'bob'],
    ]);
    if (transport === 'longpoll') {
      await threeMorePolls();
      expect(c.status.state).toBe('open');
    }
  });
});

// Keeps the type import used when the file is read on its own.
export type { AnyClient };
