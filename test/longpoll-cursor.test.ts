/**
 * Long-poll as a cursor: each poll names the id of the last event it got and is answered from the
 * history after it, or held for what comes next. Nothing is queued per client between polls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PushClient } from '../src/node';
import type { Frame } from '../src/protocol';
import { lpGet, post, sleep, startServer, until, type TestServer } from './helpers/server-clients';
import { ANSWER_CHARS } from '../src/server/cursor';

const servers: TestServer<any>[] = [];
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer<any>> {
  const s = await startServer({ pollTimeout: 300, ...options });
  servers.push(s);
  return s;
}

/** The id on the last frame that carries one: the cursor a client keeps. */
const lastId = (frames: Frame[], from?: string): string | undefined => frames.reduce<string | undefined>((at, f) => f.id ?? at, from);

/** Creates a session; returns its cid and the cursor its first answer leaves it at. */
async function create(s: TestServer<any>, query = {}) {
  const r = await lpGet(s.url, query);
  expect(r.status).toBe(200);
  expect(r.frames[0].event).toBe('$hello');
  const cursor = lastId(r.frames);
  expect(cursor).toBeDefined(); // the first answer always tells the client where it is
  return { cid: JSON.parse(r.frames[0].data).cid as string, cursor: cursor!, first: r };
}

describe('long-poll cursor', () => {
  it('answers a poll from the history after its cursor, again and again for the same cursor', async () => {
    const s = await start();
    const { cid, cursor } = await create(s);
    await s.push.publish('n', 1);
    await s.push.publish('n', 2);
    const a = await lpGet(s.url, { cid, cursor });
    expect(a.frames.map((f) => f.data)).toEqual(['1', '2']);
    // The answer is "lost": the same cursor gets the same events.
    const again = await lpGet(s.url, { cid, cursor });
    expect(again.text).toBe(a.text);
    const b = await lpGet(s.url, { cid, cursor: a.frames[0].id! }); // only the first one arrived
    expect(b.frames.map((f) => f.data)).toEqual(['2']);
  });

  it('steps over a targeted event with a trailing id, so the next poll does not get it again', async () => {
    const s = await start();
    const { cid, cursor } = await create(s);
    await s.push.publish('n', 1);
    await s.push.connection(cid)!.send('t', 'to you');
    const a = await lpGet(s.url, { cid, cursor });
    expect(a.frames.map((f) => [f.event, f.data])).toEqual([
      ['n', '1'],
      ['t', '"to you"'],
      ['$hb', ''],
    ]);
    expect(a.frames[1].id).toBeUndefined(); // targeted events carry no id
    const at = lastId(a.frames)!;
    expect(at).not.toBe(a.frames[0].id);
    await s.push.publish('n', 2);
    const b = await lpGet(s.url, { cid, cursor: at });
    expect(b.frames.map((f) => f.data)).toEqual(['2']);
  });

  it('sends only the id of an event published except this connection, nothing of other channels; the cursor passes them', async () => {
    const s = await start();
    const { cid, cursor } = await create(s, { ch: 'mine' });
    await s.push.publish('n', 1, { channel: 'other' });
    await s.push.publish('n', 2, { except: cid });
    await s.push.publish('n', 3, { channel: 'mine' });
    await s.push.publish('n', 4, { channel: 'other' });
    const a = await lpGet(s.url, { cid, cursor });
    expect(a.frames.map((f) => [f.event, f.data, f.id])).toEqual([
      ['$hb', '', expect.any(String)], // in place of 2
      ['n', '3', expect.any(String)],
      ['$hb', '', expect.any(String)], // past 4
    ]);
    // Nothing it may see after its cursor: held, then answered empty with no id to move to.
    const b = await lpGet(s.url, { cid, cursor: lastId(a.frames)! });
    expect(b.status).toBe(200);
    expect(b.text).toBe('');
  });

  it('holds a poll that is up to date and answers it with what is published next', async () => {
    const s = await start({ pollTimeout: 5000 });
    const { cid, cursor } = await create(s);
    const t0 = Date.now();
    const pending = lpGet(s.url, { cid, cursor });
    await sleep(50);
    for (let i = 0; i < 100; i++) void s.push.publish('n', i);
    const r = await pending;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(r.frames.map((f) => +f.data)).toEqual([...Array(100).keys()]);
  });

  it('answers a burst in answers of bounded size, whole, to a client that polls after it', async () => {
    const s = await start();
    const { cid, cursor } = await create(s);
    const big = 'x'.repeat(4096);
    // Four answers' worth of events at least.
    const count = Math.ceil((4 * ANSWER_CHARS) / 4096);
    for (let i = 0; i < count; i++) void s.push.publish('n', { i, big });
    let at = cursor;
    const got: number[] = [];
    let answers = 0;
    while (got.length < count) {
      const r = await lpGet(s.url, { cid, cursor: at });
      expect(r.status).toBe(200);
      expect(r.text.length).toBeLessThan(1.1 * ANSWER_CHARS);
      answers++;
      for (const f of r.frames) if (f.event === 'n') got.push(JSON.parse(f.data).i);
      at = lastId(r.frames, at)!;
    }
    expect(got).toEqual([...Array(count).keys()]);
    expect(answers).toBeGreaterThan(3);
  });

  it('answers 404 to a cursor that is not in the history, and 400 to a bad one', async () => {
    const s = await start({ history: 10 });
    const { cid, cursor } = await create(s);
    for (let i = 0; i < 20; i++) await s.push.publish('n', i);
    const gone = await lpGet(s.url, { cid, cursor });
    expect(gone.status).toBe(404);
    expect(gone.text).toMatch(/history/);
    const again = await create(s);
    expect((await lpGet(s.url, { cid: again.cid, cursor: 'x'.repeat(300) })).status).toBe(400);
    expect((await lpGet(s.url, { cid: again.cid, cursor: 'foreign:1' })).status).toBe(404);
  });

  it('puts a join answer in the history, so a client that is not polling gets it with its next poll', async () => {
    const s = await start();
    const { cid, cursor } = await create(s);
    expect((await post(s.url, cid, [{ e: '$join', d: 'room', r: 1 }])).status).toBe(204);
    await until(() => s.push.connection(cid)?.channels.has('room'), 2000, 'joined');
    await s.push.publish('n', 'in room', { channel: 'room' });
    // The answer ends at the join's answer: the next poll reads on with the channels it changed
    // (another process may hold the poll, with the channels it read before the join).
    const a = await lpGet(s.url, { cid, cursor });
    expect(a.frames.map((f) => [f.event, f.data])).toEqual([
      ['$ack', '{"r":1,"ok":true}'],
      ['$hb', ''],
    ]);
    const b = await lpGet(s.url, { cid, cursor: lastId(a.frames)! });
    expect(b.frames.map((f) => [f.event, f.data])).toEqual([['n', '"in room"']]);
  });

  it('releases its timers when the server closes, with a cursor poll held and a session between polls', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const s = await startServer({ pollTimeout: 60_000, sessionTimeout: 60_000 });
    const a = await create(s);
    const b = await create(s);
    await s.push.publish('n', 1);
    // b's poll is answered from the history at once: its session waits for the next one (reaper armed).
    expect((await lpGet(s.url, { cid: b.cid, cursor: b.cursor })).frames.map((f) => f.data)).toEqual(['1']);
    const held = lpGet(s.url, { cid: a.cid, cursor: lastId([{ event: 'n', data: '1', id: (await s.push.publish('n', 2)) as string }])! });
    await sleep(50);
    expect(timers()).toBeGreaterThan(before);
    await s.close();
    expect((await held).status).toBe(200);
    expect(s.push.connections.length).toBe(0);
    await sleep(20);
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('long-poll burst, Node client, default options', () => {
  it('delivers 5,000 events of 4 KiB published at once, whole and in order', async () => {
    const s = await startServer(); // every option at its default
    servers.push(s);
    const c = new PushClient<{ n: { i: number; big: string } }>(s.url, { transports: ['longpoll'] });
    cleanups.push(() => c.close());
    const got: number[] = [];
    const gaps: unknown[] = [];
    const opens: unknown[] = [];
    c.on('n', (d) => got.push(d.i));
    c.lifecycle.on('gap', (g) => gaps.push(g));
    c.lifecycle.on('open', (o) => opens.push(o));
    await until(() => c.status.state === 'open', 10_000, 'open');
    const big = 'y'.repeat(4096);
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) void s.push.publish('n', { i, big });
    await until(() => got.length >= 5000, 60_000, '5,000 events');
    const ms = performance.now() - t0;
    expect(got).toEqual([...Array(5000).keys()]);
    expect(gaps).toEqual([]);
    expect(opens.length).toBe(1); // never dropped, never reconnected
    console.log(`5,000 x 4 KiB over long-poll: ${ms.toFixed(0)} ms`);
  }, 90_000);
});
