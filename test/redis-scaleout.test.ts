/**
 * Scale-out on Redis: two push server processes (one in this process, one in a child process) on
 * one Redis stream, Node PushClients on every transport, and a TCP proxy in front that moves a
 * client from one process to the other in the middle of a stream.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { PushClient } from '../src/node';
import type { TransportName } from '../src';
import { forkRedisPush, startProxy, startRedisPush, useRedis, type RedisPushOptions } from './helpers/redis';
import { connect, type AnyClient } from './helpers/server-clients';
import { sleep, until } from './helpers/net';

const TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

const redis = useRedis({ beforeAll, beforeEach, afterAll });
let n = 0;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

const opts = (o: Partial<RedisPushOptions> = {}): RedisPushOptions => ({
  url: redis.url,
  stream: `s${process.pid}-${++n}`,
  ...o,
});

async function local(o: RedisPushOptions) {
  const p = await startRedisPush(o);
  cleanups.push(() => p.stop());
  return p;
}

async function child(o: RedisPushOptions) {
  const p = await forkRedisPush(o);
  cleanups.push(() => p.stop());
  return p;
}

async function proxy(target: number) {
  const p = await startProxy(target);
  cleanups.push(() => p.close());
  return p;
}

type Got = { event: string; data: any; id?: string; channel?: string };

function client(port: number, transport: TransportName, extra: ConstructorParameters<typeof PushClient>[1] = {}) {
  const c = new PushClient(`http://127.0.0.1:${port}/push`, {
    transports: [transport],
    reconnect: { minDelay: 10, maxDelay: 100, jitter: 0 },
    connectTimeout: 3000,
    ...extra,
  });
  cleanups.push(() => c.close());
  const got: Got[] = [];
  const gaps: unknown[] = [];
  const opens: { resumed: boolean }[] = [];
  c.onAny((event, data, meta) => got.push({ event, data, id: meta.id, ...(meta.channel ? { channel: meta.channel } : {}) }));
  c.lifecycle.on('gap', (g) => gaps.push(g));
  c.lifecycle.on('open', (o) => opens.push(o));
  return { c, got, gaps, opens };
}

const opened = (c: PushClient) => until(() => c.status.state === 'open', 10_000, 'open');
/**
 * Publishes a later event (with `publish`) and waits for `c` to get it: a repeat or a late event of
 * the stream before it would have come first.
 */
async function marker(c: PushClient, publish: () => Promise<unknown>) {
  const marked = new Promise((resolve) => c.on('end', resolve));
  await publish();
  await marked;
}

const seq = (got: Got[], event = 'n') => got.filter((g) => g.event === event).map((g) => g.data.i);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe.each(TRANSPORTS)('Redis scale-out over %s', (transport) => {
  it('a publish on any process reaches the clients of every process; channels and targeted sends too', async () => {
    const o = opts();
    const a = await local(o);
    const b = await child(o);
    const ca = client(a.port, transport, { channels: ['room'] });
    const cb = client(b.port, transport);
    await opened(ca.c);
    await opened(cb.c);
    await a.publish('n', 0, 5);
    await b.publish('n', 5, 5);
    await b.publish('r', 0, 2, { channel: 'room' });
    await until(() => seq(ca.got).length === 10 && seq(ca.got, 'r').length === 2, 5000, 'a client on A');
    await until(() => seq(cb.got).length === 10, 5000, 'a client on B');
    expect(seq(ca.got)).toEqual(range(0, 10));
    expect(seq(cb.got)).toEqual(range(0, 10));
    expect(ca.got.filter((g) => g.event === 'r')).toEqual([
      expect.objectContaining({ channel: 'room', data: { i: 0 } }),
      expect.objectContaining({ channel: 'room', data: { i: 1 } }),
    ]);
    // The same ids on every process: they are the stream's.
    expect(ca.got.filter((g) => g.event === 'n').map((g) => g.id)).toEqual(cb.got.filter((g) => g.event === 'n').map((g) => g.id));
    // A targeted send from B reaches the connection on A, and only it.
    const [cid] = await a.connectionIds();
    await b.sendTo(cid, 'dm', { text: 'from B' });
    await b.publish('n', 10, 1);
    await until(() => seq(cb.got).length === 11 && seq(ca.got).length === 11, 5000, 'the marker event');
    expect(ca.got.filter((g) => g.event === 'dm')).toEqual([{ event: 'dm', data: { text: 'from B' } }]);
    expect(cb.got.filter((g) => g.event === 'dm' || g.event === 'r')).toEqual([]);
    // `except` names a connection on another process: it alone is skipped.
    await b.publish('n', 11, 1, { except: cid });
    await b.publish('n', 12, 1);
    await until(() => seq(cb.got).length === 13 && seq(ca.got).at(-1) === 12, 5000, 'the events after except');
    expect(seq(ca.got).slice(-2)).toEqual([10, 12]);
    expect(seq(cb.got).slice(-3)).toEqual([10, 11, 12]);
  });

  it('a client moved between processes mid-stream gets every event once, in order', async () => {
    const o = opts({ maxLen: 100_000 });
    const a = await local(o);
    const b = await child(o);
    const px = await proxy(a.port);
    const { c, got, gaps } = client(px.port, transport);
    await opened(c);
    // A first event gives the client its resume point: a client that has none yet cannot resume.
    await b.publish('start', 0, 1);
    await until(() => got.length === 1, 5000, 'the first event');
    const total = 2000;
    // B publishes in small bursts while the proxy moves the client back and forth.
    const run = b.publish('n', 0, total, { batch: 10, gapMs: 2 });
    let moves = 0;
    let done = false;
    void run.then(() => (done = true));
    while (!done || moves < 6) {
      await sleep(120); // the behaviour under test: the client is moved every 120 ms while events flow
      px.moveTo(px.target === a.port ? b.port : a.port);
      moves++;
      if (moves > 60) break;
    }
    await run;
    await until(() => seq(got).length >= total, 20_000, 'all events').catch(async (err) => {
      const have = new Set(seq(got));
      const missing: string[] = [];
      for (let i = 0; i < total; i++) {
        if (have.has(i)) continue;
        let j = i;
        while (j + 1 < total && !have.has(j + 1)) j++;
        missing.push(i === j ? `${i}` : `${i}-${j}`);
        i = j;
      }
      const conns = [await a.connectionIds(), await b.connectionIds()];
      throw new Error(
        `${err.message}: got ${have.size}, missing ${missing.slice(0, 20)}, status ${JSON.stringify(c.status)}, ` +
          `lastEventId ${c.lastEventId}, channels ${c.channels.join(',')}, ` +
          `${moves} moves, target ${px.target === a.port ? 'A' : 'B'}, connections A ${conns[0]} B ${conns[1]}`,
      );
    });
    await marker(c, () => b.publish('end', 0, 1));
    expect(moves).toBeGreaterThanOrEqual(6);
    expect(seq(got)).toEqual(range(0, total));
    expect(gaps).toEqual([]);
    // It really was served by both processes.
    expect(px.connections).toBeGreaterThan(moves / 2);
  }, 60_000);

  it('a restart of every process loses nothing Redis kept', async () => {
    const o = opts();
    const a = await local(o);
    const b = await child(o);
    const px = await proxy(a.port);
    const { c, got, gaps, opens } = client(px.port, transport);
    await opened(c);
    await b.publish('n', 0, 20);
    await until(() => seq(got).length === 20, 5000, 'the first 20');
    c.close();
    await b.publish('n', 20, 30); // missed by the client
    await a.stop();
    await b.stop();
    const a2 = await local(o);
    const b2 = await child(o);
    px.moveTo(b2.port);
    c.connect();
    await until(() => seq(got).length === 50, 10_000, 'the replay');
    await a2.publish('n', 50, 10);
    await until(() => seq(got).length === 60, 10_000, 'live events after the restart');
    await marker(c, () => a2.publish('end', 0, 1));
    expect(seq(got)).toEqual(range(0, 60));
    expect(gaps).toEqual([]);
    expect(opens.at(-1)).toMatchObject({ resumed: true });
  }, 30_000);

  it('history is bounded by maxLen, and a client older than it is told of the gap', async () => {
    const o = opts({ maxLen: 50, approximate: false });
    const a = await local(o);
    const b = await child(o);
    const old = client(a.port, transport);
    await opened(old.c);
    await a.publish('n', 0, 10);
    await until(() => seq(old.got).length === 10, 5000, 'the first 10');
    old.c.close();
    const ids = await b.publish('n', 10, 190);
    expect(await redis.command('XLEN', o.stream)).toBe(50);
    // Within the history: resumes exactly, on the other process.
    const recent = client(b.port, transport, { lastEventId: ids[150 - 10] });
    await until(() => seq(recent.got).length === 49, 5000, 'the replay of 151..199');
    expect(seq(recent.got)).toEqual(range(151, 200));
    expect(recent.gaps).toEqual([]);
    // Older than the history: a gap, then live events.
    old.c.connect();
    await until(() => old.gaps.length === 1, 5000, 'the gap');
    await a.publish('n', 200, 1);
    await until(() => seq(old.got).length === 11, 5000, 'a live event after the gap');
    expect(seq(old.got)).toEqual([...range(0, 10), 200]);
  }, 30_000);
});

describe('Redis scale-out, server side', () => {
  it('a wiped Redis is a new epoch: a client with an old id gets the gap', async () => {
    const o = opts();
    const a = await local(o);
    const { c, got, gaps } = client(a.port, 'websocket');
    await opened(c);
    await a.publish('n', 0, 3);
    await until(() => seq(got).length === 3, 5000, 'events');
    const oldId = got[2].id!;
    c.close();
    await redis.command('DEL', o.stream);
    const [fresh] = await a.publish('n', 3, 1);
    expect(fresh.split('-')[0]).not.toBe(oldId.split('-')[0]);
    c.connect();
    await until(() => gaps.length === 1, 5000, 'the gap');
    await a.publish('n', 4, 1);
    await until(() => seq(got).includes(4), 5000, 'a live event');
  });

  it('never repeats an event when the new process reads the stream later than the old one did', async () => {
    // B's stream reader reaches Redis through a proxy that adds latency; its other commands do not.
    const o = opts();
    const a = await local(o);
    const slow = await startProxy(redis.port, { latencyMs: 150 });
    cleanups.push(() => slow.close());
    const main = createClient({ url: redis.url });
    main.on('error', () => {});
    main.duplicate = (() => createClient({ url: `redis://127.0.0.1:${slow.port}` })) as never;
    cleanups.push(() => main.close().catch(() => {}));
    const b = await startRedisPush(o, {}, { client: main, url: undefined });
    cleanups.push(() => b.stop());
    for (const kind of ['websocket', 'eventsource', 'longpoll'] as const) {
      const ids = await a.publish('n', 0, 100, { batch: 20 });
      // Right away, with B's reader still ~150 ms behind: once after a replay, once with nothing to replay.
      const mid = await connect(kind, `http://127.0.0.1:${b.port}/push`, { lastEventId: ids[49] });
      const end = await connect(kind, `http://127.0.0.1:${b.port}/push`, { lastEventId: ids[99] });
      cleanups.push(
        () => mid.stop(),
        () => end.stop(),
      );
      expect(mid.inbox.hello!.replay).toBe(true);
      expect(end.inbox.hello!.replay).toBe(true);
      // B's reader reads the stream in order: the late live copies of 0..99 come through it before
      // these, and then a marker after them, so once a client has the marker, a repeat would have come.
      await a.publish('n', 100, 5);
      await a.publish('end', 0, 1);
      const marked = (x: AnyClient) => x.inbox.waitFor((f) => f.some((e) => e.event === 'end'), 10_000, 'the marker');
      await Promise.all([marked(mid), marked(end)]);
      const nums = (x: AnyClient) => x.inbox.named('n').map((f) => JSON.parse(f.data).i);
      expect(nums(mid), kind).toEqual(range(50, 105));
      expect(nums(end), kind).toEqual(range(100, 105));
      await mid.stop();
      await end.stop();
    }
  }, 30_000);
});
