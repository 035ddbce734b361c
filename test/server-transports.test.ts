import { describe, expect, it } from 'vitest';
import type { Connection } from '../src/server';
import { connect, eventsBeforeMarker, KINDS, lpGet, sseClient, until, useServers, wsClient, type AnyClient } from './helpers/server-clients';

const { clients, start, open } = useServers();

describe.each(KINDS)('%s', (kind) => {
  it('sends the hello first, with cid, epoch, replay and heartbeat', async () => {
    const s = await start();
    const c = await open(kind, s);
    const f = c.inbox.frames[0];
    expect(f.event).toBe('$hello');
    expect(f.id).toBeUndefined();
    const hello = c.inbox.hello!;
    expect(hello).toMatchObject({ replay: true, retry: 500 });
    expect(hello.cid).toMatch(/^[\w-]{22}$/);
    expect(hello.epoch).toMatch(/^[0-9a-z]+$/);
    expect(hello.hb).toBe(kind === 'longpoll' ? 500 : 15000);
    await until(() => s.push.connection(hello.cid));
    expect(s.push.connection(hello.cid)!.transport).toBe(kind);
  });

  it('delivers publishes in order with ids, and conn.send to that connection only', async () => {
    const s = await start();
    const a = await open(kind, s);
    const b = await open(kind, s);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await s.push.publish('n', { i }));
    await s.push.connection(a.cid)!.send('only', 'for a');
    await a.inbox.waitEvents(6);
    await b.inbox.waitEvents(5);
    expect(a.inbox.named('n').map((f) => [f.id, JSON.parse(f.data).i])).toEqual(ids.map((id, i) => [id, i]));
    expect(a.inbox.named('only')).toEqual([{ event: 'only', data: '"for a"' }]);
    expect((await eventsBeforeMarker(s.push, b)).map((f) => f.event)).toEqual(['n', 'n', 'n', 'n', 'n']);
  });

  it('filters by channel and skips the excepted connection', async () => {
    const s = await start();
    const a = await open(kind, s, { ch: ['A'] });
    const b = await open(kind, s, { ch: ['B'] });
    const ab = await open(kind, s, { ch: ['A', 'B'] });
    await s.push.publish('x', 'to A', { channel: 'A' });
    await s.push.publish('x', 'to B', { channel: 'B' });
    await s.push.publish('x', 'to all but ab', { except: s.push.connection(ab.cid)! });
    await s.push.publish('x', 'to A but a', { channel: 'A', except: a.cid });
    await s.push.publish('end', null);
    for (const c of [a, b, ab]) await c.inbox.waitFor((f) => f.some((x) => x.event === 'end'));
    const seen = (c: AnyClient) => c.inbox.named('x').map((f) => [JSON.parse(f.data), f.channel]);
    expect(seen(a)).toEqual([
      ['to A', 'A'],
      ['to all but ab', undefined],
    ]);
    expect(seen(b)).toEqual([
      ['to B', 'B'],
      ['to all but ab', undefined],
    ]);
    expect(seen(ab)).toEqual([
      ['to A', 'A'],
      ['to B', 'B'],
      ['to A but a', 'A'],
    ]);
    expect([...s.push.connection(ab.cid)!.channels].sort()).toEqual(['A', 'B']);
  });

  it('joins and leaves by message, answering with $ack; onJoin refusals reach the client', async () => {
    const joins: string[] = [];
    const s = await start({
      onJoin: async (conn: Connection, ch: string) => {
        joins.push(`${conn.transport}:${ch}`);
        if (ch === 'secret') return false;
        if (ch === 'boom') throw new Error('no boom for you');
        return true;
      },
    });
    const c = await open(kind, s, { ch: ['open', 'secret'] });
    expect(c.inbox.hello!.refused).toEqual({ secret: 'refused' });
    const conn = s.push.connection(c.cid)!;
    expect([...conn.channels]).toEqual(['open']);

    const messages = [
      { e: '$join', d: 'room', r: 1 },
      { e: '$join', d: 'secret', r: 2 },
      { e: '$join', d: 'boom', r: 3 },
      { e: '$join', d: 'bad\nname', r: 4 },
      { e: '$leave', d: 'open', r: 5 },
    ];
    expect(await c.send(messages)).toBe(kind === 'websocket' ? 0 : 204);
    await c.inbox.waitFor((f) => f.filter((x) => x.event === '$ack').length === 5);
    const acks = c.inbox.named('$ack').map((f) => JSON.parse(f.data));
    expect(acks).toEqual([
      { r: 1, ok: true },
      { r: 2, ok: false, error: 'refused' },
      { r: 3, ok: false, error: 'no boom for you' },
      { r: 4, ok: false, error: 'invalid channel name' },
      { r: 5, ok: true },
    ]);
    expect([...conn.channels]).toEqual(['room']);
    await s.push.publish('x', 1, { channel: 'open' });
    await s.push.publish('x', 2, { channel: 'room' });
    expect((await eventsBeforeMarker(s.push, c)).map((f) => f.data)).toEqual(['2']);
    expect(joins).toContain(`${kind}:room`);
  });

  it('refuses with 401 when authorize returns false, and with the thrown status', async () => {
    const s = await start({
      authorize: (req) => {
        const token = new URL(req.url!, 'http://x').searchParams.get('token');
        if (token === 'teapot') throw Object.assign(new Error('short and stout'), { status: 418 });
        return token === 'good' ? { name: 'ann' } : false;
      },
    });
    const attempt = async (token: string): Promise<number> => {
      try {
        const c = await connect(kind, s.url, { token });
        clients.push(c);
        return 200;
      } catch (err) {
        return Number(/(\d{3})/.exec(String((err as Error).message))?.[1]);
      }
    };
    expect(await attempt('bad')).toBe(401);
    expect(await attempt('teapot')).toBe(418);
    expect(await attempt('good')).toBe(200);
    const conn = [...s.push.connections][0];
    expect(conn.user).toEqual({ name: 'ann' });
  });

  it('hands client messages to onMessage listeners, parsed, with the connection', async () => {
    const s = await start();
    const got: unknown[] = [];
    const off = s.push.onMessage((e, d, conn) => got.push([e, d, conn.transport]));
    const c = await open(kind, s);
    const msgs = [
      { e: 'chat', d: { text: 'hi' } },
      { e: 'chat', d: [1, 2] },
    ];
    await c.send(msgs[0]);
    await c.send([msgs[1]]);
    await until(() => got.length === 2);
    expect(got).toEqual([
      ['chat', { text: 'hi' }, kind],
      ['chat', [1, 2], kind],
    ]);
    off();
    // A connection's messages reach the listeners in order: once a later one has arrived, the one
    // sent after off() would have too.
    const marked = new Promise<void>((resolve) => s.push.onMessage((e) => e === 'marker' && resolve()));
    await c.send(msgs[0]);
    await c.send({ e: 'marker', d: null });
    await marked;
    expect(got).toHaveLength(2);
  });

  it('lists the connection until it ends, then forgets it', async () => {
    const s = await start({ sessionTimeout: 200 });
    const c = await open(kind, s);
    await until(() => s.push.connections.length === 1);
    await c.stop();
    clients.splice(clients.indexOf(c), 1);
    await until(() => s.push.connections.length === 0, 3000, 'connection gone');
    expect(s.push.connection(c.cid)).toBeUndefined();
  });
});

describe('heartbeat', () => {
  it('sends $hb on idle WebSocket and SSE connections', async () => {
    const s = await start({ heartbeatMs: 100 });
    const w = await open('websocket', s);
    const e = await open('eventsource', s);
    await w.inbox.waitFor((f) => f.some((x) => x.event === '$hb'), 5000, 'ws heartbeat');
    await e.inbox.waitFor((f) => f.some((x) => x.event === '$hb'), 5000, 'sse heartbeat');
    const hb = e.inbox.named('$hb')[0];
    expect(hb).toEqual({ event: '$hb', data: '' });
  });

  it('terminates a WebSocket that stops answering pings', async () => {
    const s = await start({ heartbeatMs: 30 });
    const w = await wsClient(s.url);
    await w.inbox.waitFor((f) => f.length > 0);
    // Stop the client from answering pings: pause the socket so nothing is read.
    (w.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    await until(() => s.push.connections.length === 0, 3000, 'dead socket dropped');
    w.close();
  });
});

describe('WebSocket bad input', () => {
  it('closes with 1007 on a frame that is not JSON, 1008 on a bad message, 1003 on binary', async () => {
    const s = await start();
    const cases: [unknown, number][] = [
      ['{not json', 1007],
      [{ e: '$nope' }, 1008],
      [{ e: 'ok', r: 1.5 }, 1008],
      [Buffer.from([1, 2, 3]), 1003],
    ];
    for (const [frame, code] of cases) {
      const w = await wsClient(s.url);
      await w.inbox.waitFor((f) => f.length > 0);
      if (Buffer.isBuffer(frame)) w.ws.send(frame);
      else w.send(frame);
      const closed = await w.closed;
      expect(closed.code).toBe(code);
      expect(closed.reason.length).toBeGreaterThan(0);
    }
    // The server is still fine.
    const ok = await open('websocket', s);
    expect(ok.inbox.hello).toBeDefined();
  });

  it('closes with 1009 on a message over maxMessageSize', async () => {
    const s = await start({ maxMessageSize: 1000 });
    const w = await wsClient(s.url);
    await w.inbox.waitFor((f) => f.length > 0);
    w.send({ e: 'big', d: 'x'.repeat(2000) });
    expect((await w.closed).code).toBe(1009);
    await until(() => s.push.connections.length === 0);
  });

  it('refuses the upgrade with 400 when WebSocket is not enabled, and 404s other disabled transports', async () => {
    const s = await start({ transports: ['longpoll'] });
    await expect(wsClient(s.url)).rejects.toMatchObject({ status: 400 });
    const e = await sseClient(s.url, { t: 'sse' });
    expect(e.res.status).toBe(404);
    expect(await e.res.text()).toMatch(/eventsource/);
    expect((await lpGet(s.url, {})).status).toBe(200);
  });
});

describe('request routing', () => {
  it('answers other methods and unknown transports with a reason', async () => {
    const s = await start();
    const put = await fetch(s.url, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(await put.text()).toBe('method not allowed');
    const plain = await fetch(s.url);
    expect(plain.status).toBe(400);
    expect(await plain.text()).toMatch(/transport/);
    const ws = await fetch(s.url + '?t=ws');
    expect(ws.status).toBe(426);
  });

  it('serves SSE with the right headers and the retry field first', async () => {
    const s = await start({ retryMs: 1234 });
    const e = await sseClient(s.url);
    clients.push({ inbox: e.inbox, cid: '', send: async () => 0, stop: async () => e.close() });
    expect(e.res.status).toBe(200);
    expect(e.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(e.res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(e.res.headers.get('x-accel-buffering')).toBe('no');
    await e.inbox.waitFor((f) => f.length > 0);
    expect(e.inbox.retry).toBe(1234);
    expect(e.inbox.hello!.retry).toBe(1234);
  });

  it('rejects bad publishes without touching connections', async () => {
    const s = await start();
    await expect(s.push.publish('$hello', 1)).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(s.push.publish('a\nb', 1)).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(s.push.publish('ok', 1, { channel: '' })).rejects.toMatchObject({ code: 'BAD_OPTION' });
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    await expect(s.push.publish('ok', cyclic)).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(s.push.publish('ok', undefined)).resolves.toMatch(/:1$/);
  });
});
