import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, listen, shut, sleep, until } from './helpers/net';
import { opened, startPush, take } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

async function setup(options: Parameters<typeof startPush>[0] = {}) {
  const s = await startPush(options);
  cleanup.add(() => s.stop());
  return s;
}

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

describe.each(ALL)('over %s', (transport) => {
  it('delivers named events with decoded data, ids and meta, in order', async () => {
    const s = await setup();
    const c = s.client<{ price: { px: number }; news: string }>({ transports: [transport] });
    expect(await opened(c)).toMatchObject({ state: 'open', transport });
    const got = take(c, 4);
    const ids = [
      await s.push.publish('price', { px: 1 }),
      await s.push.publish('news', 'hello'),
      await s.push.publish('message', [1, 'two']),
      await s.push.publish('news', 'line\nbreak'),
    ];
    const events = await got;
    expect(events.map((e) => [e.event, e.data, e.id, e.transport])).toEqual([
      ['price', { px: 1 }, ids[0], transport],
      ['news', 'hello', ids[1], transport],
      ['message', [1, 'two'], ids[2], transport],
      ['news', 'line\nbreak', ids[3], transport],
    ]);
    expect(c.lastEventId).toBe(ids[3]);
  });

  it('sends to the server, in order, with the connection it came from', async () => {
    const s = await setup();
    const got: [string, unknown, string][] = [];
    s.push.onMessage((event, data, conn) => got.push([event, data, conn.transport]));
    const c = s.client({ transports: [transport] });
    const sends = [c.send('chat', { n: 1 }), c.send('chat', { n: 2 }), c.send('typing', true)]; // queued before open
    await Promise.all(sends);
    await c.send('chat', { n: 3 });
    await until(() => got.length === 4, 5000, 'sends');
    expect(got).toEqual([
      ['chat', { n: 1 }, transport],
      ['chat', { n: 2 }, transport],
      ['typing', true, transport],
      ['chat', { n: 3 }, transport],
    ]);
  });

  it('reconnects after the server drops the connection and resumes without loss or duplicates', async () => {
    const s = await setup();
    const c = s.client({ transports: [transport], reconnect: { minDelay: 20, maxDelay: 100 } });
    await opened(c);
    const got = take(c, 20);
    for (let i = 0; i < 10; i++) await s.push.publish('n', i);
    await until(() => c.lastEventId !== undefined);
    for (const conn of [...s.push.connections]) conn.close();
    for (let i = 10; i < 20; i++) await s.push.publish('n', i);
    expect((await got).map((e) => e.data)).toEqual([...Array(20).keys()]);
  });

  it('close() leaves no timers or sockets behind', async () => {
    const s = await setup();
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const c = new PushClient(s.url, { transports: [transport] });
    await opened(c);
    await s.push.publish('x', 1);
    c.close();
    await until(() => s.push.connections.length === 0, 3000, 'server to see the close');
    await until(
      () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= before,
      3000,
      'resources released: ' + process.getActiveResourcesInfo().join(','),
    );
    expect(c.status.state).toBe('closed');
  });
});

describe('fallback', () => {
  it('falls back to SSE at once when the WebSocket upgrade is refused (403 from a proxy)', async () => {
    const s = await setup();
    s.gate.ws = false;
    const t0 = Date.now();
    const c = s.client({ connectTimeout: 5000 });
    expect(await opened(c)).toMatchObject({ transport: 'eventsource' });
    expect(Date.now() - t0).toBeLessThan(2000); // not after connectTimeout or a backoff
  });

  it('falls back when the server does not serve WebSocket at all', async () => {
    const s = await setup({ transports: ['eventsource', 'longpoll'] });
    const c = s.client();
    expect(await opened(c)).toMatchObject({ transport: 'eventsource' });
  });

  it('falls back to long-poll when SSE opens but never delivers (buffering proxy), after connectTimeout', async () => {
    // SSE answers 200 and holds the body: the hello never arrives.
    const s = await setup();
    s.gate.ws = false;
    const hold = http.createServer((req, res) => {
      const t = new URL(req.url!, 'http://x').searchParams.get('t');
      if (t === 'sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        return;
      }
      s.server.emit('request', req, res);
    });
    hold.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    const port = await listen(hold);
    cleanup.add(() => shut(hold));
    const t0 = Date.now();
    const c = new PushClient(`http://127.0.0.1:${port}/push`, { connectTimeout: 300 });
    cleanup.add(() => c.close());
    expect(await opened(c)).toMatchObject({ transport: 'longpoll' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3000);
    const got = take(c, 1);
    await s.push.publish('x', 'via long-poll');
    expect((await got)[0]).toMatchObject({ data: 'via long-poll', transport: 'longpoll' });
  });

  it('resumes by last-event-id across a forced change of transport, each id once', async () => {
    const s = await setup();
    const c = s.client({ reconnect: { minDelay: 20, maxDelay: 50 }, upgradeInterval: 0 });
    expect(await opened(c)).toMatchObject({ transport: 'websocket' });
    const got = take(c, 30);
    for (let i = 0; i < 10; i++) await s.push.publish('n', i);
    await until(() => c.lastEventId !== undefined);
    // WebSocket goes away for good: the client must move to SSE and resume exactly.
    s.gate.ws = false;
    for (const conn of [...s.push.connections]) conn.close();
    for (let i = 10; i < 20; i++) await s.push.publish('n', i);
    await until(() => c.status.transport === 'eventsource', 5000, 'SSE');
    // Then SSE is blocked too: on to long-poll.
    s.gate.sse = false;
    for (const conn of [...s.push.connections]) conn.close();
    for (let i = 20; i < 30; i++) await s.push.publish('n', i);
    const events = await got;
    expect(events.map((e) => e.data)).toEqual([...Array(30).keys()]);
    expect(new Set(events.map((e) => e.id)).size).toBe(30);
    expect(events.at(-1)!.transport).toBe('longpoll');
  });

  it('an id from an earlier server process is reported as a gap, not silently skipped', async () => {
    const s1 = await setup();
    const id = await s1.push.publish('x', 1);
    const s2 = await setup();
    const c = s2.client({ lastEventId: id, autoConnect: false });
    const gaps: unknown[] = [];
    c.lifecycle.on('gap', (g) => gaps.push(g));
    c.connect();
    await opened(c);
    expect(gaps).toEqual([{ lastEventId: id }]);
  });
});

describe('backoff', () => {
  it('does not hammer a server that accepts and closes at once', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: hi\n\n');
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    const c = new PushClient({ eventsource: `http://127.0.0.1:${port}/` }, { reconnect: { minDelay: 50, maxDelay: 400, jitter: 0 } });
    cleanup.add(() => c.close());
    await sleep(1000); // the behaviour under test: attempts counted over a second of backoff
    // 0, 50, 100, 200, 400, 400 ... → about 6 attempts in a second, never hundreds.
    expect(hits).toBeGreaterThanOrEqual(4);
    expect(hits).toBeLessThanOrEqual(8);
  });

  it('stops for good on 401 and says so', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(401).end('no');
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    const c = new PushClient({ longpoll: `http://127.0.0.1:${port}/` }, { reconnect: { minDelay: 10 } });
    cleanup.add(() => c.close());
    await until(() => c.status.state === 'closed', 3000, 'closed');
    await sleep(100); // an observation window: nothing is to happen here, and no event marks a thing not done (a retry; minDelay is 10 ms)
    expect(hits).toBe(1);
    expect(c.status.error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
  });
});

describe('long-poll session end', () => {
  it('DELETE ?cid= ends a long-poll session at once; an unknown cid gets 404', async () => {
    const s = await setup();
    const first = await fetch(`${s.url}?t=lp`);
    const hello = await first.text();
    const cid = JSON.parse(
      hello
        .split('\n')
        .find((l) => l.startsWith('data: {'))!
        .slice(6),
    ).cid;
    expect(s.push.connections.map((c) => c.id)).toEqual([cid]);
    const del = await fetch(`${s.url}?cid=${cid}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(s.push.connections).toHaveLength(0);
    expect((await fetch(`${s.url}?cid=${cid}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${s.url}?t=lp&cid=${cid}&ack=1`)).status).toBe(404);
  });

  it('a held poll that the client aborts ends the session', async () => {
    // Raw HTTP, not a PushClient: the client's close() also sends DELETE ?cid=, which ends the
    // session by itself. Here the only thing that can end it is the aborted poll: both timeouts are
    // far longer than the test.
    const s = await setup({ pollTimeout: 60_000, sessionTimeout: 60_000 });
    const created = await fetch(`${s.url}?t=lp`);
    const cid = JSON.parse(
      (await created.text())
        .split('\n')
        .find((l) => l.startsWith('data: {'))!
        .slice(6),
    ).cid;
    // Request listeners run in order: when this one sees the poll, the push server holds it already.
    const held = new Promise<http.ServerResponse>((resolve) => s.server.on('request', (req, res) => req.url!.includes(`cid=${cid}`) && resolve(res)));
    const poll = http.get(`${s.url}?t=lp&cid=${cid}&ack=1`, { agent: false });
    poll.on('error', () => {}); // the abort below
    const res = await held;
    expect(s.push.connections.map((c) => c.id)).toEqual([cid]);
    // The push server's own 'close' listener on the held poll was added first, so it has run when this one does.
    const pollClosed = new Promise((resolve) => res.once('close', resolve));
    poll.destroy();
    await pollClosed;
    expect(s.push.connections).toHaveLength(0);
    expect((await fetch(`${s.url}?t=lp&cid=${cid}&ack=1`)).status).toBe(404);
  });
});
