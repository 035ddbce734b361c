/**
 * The Redis backplane on its own, against a real redis-server: ids, order across processes,
 * replay and its gaps, MAXLEN, a wiped stream, a restart, a Redis that goes away and comes back.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { redisBackplane, type Backplane, type BackplaneEntry, type RedisBackplaneOptions } from '../src/server';
import { startProxy, startRedis, useRedis } from './helpers/redis';
import { sleep, until } from './helpers/net';

const redis = useRedis({ beforeAll, beforeEach, afterAll });
const open: Backplane[] = [];
let n = 0;

afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

/** A started backplane on a fresh stream (or `stream`), with what it delivered. */
async function start(o: Partial<RedisBackplaneOptions> = {}) {
  const bp = redisBackplane({ url: redis.url, stream: `t${process.pid}-${++n}`, ...o });
  open.push(bp);
  const got: BackplaneEntry[] = [];
  await bp.start((e) => got.push(e));
  return { bp, got, stream: o.stream ?? `t${process.pid}-${n}` };
}

const all = () => true;
const nums = (es: BackplaneEntry[] | null) => es?.map((e) => JSON.parse(e.data));
const publishMany = async (bp: Backplane, from: number, count: number) => {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) ids.push(await bp.publish({ event: 'n', data: String(i) }));
  return ids;
};

describe('redisBackplane', () => {
  it('refuses bad options at construction', () => {
    expect(() => redisBackplane({ url: 'http://x' })).toThrow(/url/);
    expect(() => redisBackplane({ url: 'redis://x', maxLen: 0 })).toThrow(/maxLen/);
    expect(() => redisBackplane({ url: 'redis://x', stream: '' })).toThrow(/stream/);
  });

  it('gives stream ids <epoch>-<n> and delivers every entry to every process in one order', async () => {
    const a = await start();
    const b = await start({ stream: a.stream });
    expect(a.bp.epoch).toMatch(/^\d{13,}$/);
    expect(b.bp.epoch).toBe(a.bp.epoch);
    // Interleaved publishes from both processes, some in flight at once.
    const ids = await Promise.all([
      a.bp.publish({ event: 'n', data: '0' }),
      a.bp.publish({ event: 'n', data: '1', channel: 'room' }),
      b.bp.publish({ event: 'n', data: '2', except: 'c1' }),
      a.bp.publish({ event: 'n', data: '3' }),
    ]);
    for (const id of ids) expect(id).toMatch(new RegExp(`^${a.bp.epoch}-\\d+$`));
    // One connection per process keeps each process's order; the stream gives one order to all.
    expect(a.bp.compareIds(ids[0], ids[1])).toBeLessThan(0);
    expect(a.bp.compareIds(ids[1], ids[3])).toBeLessThan(0);
    await until(() => a.got.length === 4 && b.got.length === 4, 3000, 'delivery');
    expect(a.got).toEqual(b.got);
    expect(a.got.map((e) => e.id!).sort(a.bp.compareIds)).toEqual(a.got.map((e) => e.id));
    expect(new Set(a.got.map((e) => e.id))).toEqual(new Set(ids));
    const byData = Object.fromEntries(a.got.map((e) => [e.data, e]));
    expect(byData['1'].channel).toBe('room');
    expect(byData['2'].except).toBe('c1');
    expect(byData['0']).toEqual({ id: ids[0], event: 'n', data: '0', channel: undefined, except: undefined, target: undefined });
  });

  it('sends a burst in one go, in call order, targeted entries and all', async () => {
    const a = await start();
    const b = await start({ stream: a.stream });
    const ps: Promise<string>[] = [];
    for (let i = 0; i < 600; i++) {
      ps.push(
        a.bp.publish(i % 3 === 1 ? { event: 'dm', data: String(i), target: 'c' + i } : { event: 'n', data: String(i), channel: i % 3 ? 'r' : undefined }),
      );
    }
    const ids = await Promise.all(ps);
    ids.forEach((id, i) => expect(id === '').toBe(i % 3 === 1));
    await until(() => b.got.length === 600, 5000, 'delivery');
    expect(b.got.map((e) => +e.data)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(b.got.filter((e) => e.target !== undefined).every((e) => e.target === 'c' + e.data && e.id === undefined)).toBe(true);
    expect(b.got.filter((e) => e.id).map((e) => e.id)).toEqual(ids.filter(Boolean));
    expect(b.got[2].channel).toBe('r');
  });

  it('carries targeted entries to every process without an id, and never replays them', async () => {
    const a = await start();
    const b = await start({ stream: a.stream });
    const first = await a.bp.publish({ event: 'n', data: '0' });
    expect(await a.bp.publish({ event: 'dm', data: '"hi"', target: 'conn-on-b' })).toBe('');
    await a.bp.publish({ event: 'n', data: '1' });
    await until(() => b.got.length === 3, 3000, 'delivery');
    // No event id; its stream id is its position, for long-poll cursors.
    expect(b.got[1]).toEqual({
      id: undefined,
      position: expect.stringMatching(/-2$/),
      event: 'dm',
      data: '"hi"',
      channel: undefined,
      except: undefined,
      target: 'conn-on-b',
    });
    expect(nums(await b.bp.replay(first, all))).toEqual([1]);
  });

  it('replays exactly after an id, and answers null for ids it cannot resume', async () => {
    const a = await start();
    const b = await start({ stream: a.stream });
    const ids = await publishMany(a.bp, 0, 10);
    await a.bp.publish({ event: 'c', data: '"in room"', channel: 'room' });
    expect(nums(await b.bp.replay(ids[6], all))).toEqual([7, 8, 9, 'in room']);
    expect(nums(await b.bp.replay(ids[6], (e) => e.channel === undefined))).toEqual([7, 8, 9]);
    const newest = await a.bp.publish({ event: 'n', data: '10' });
    expect(await b.bp.replay(newest, all)).toEqual([]);
    const [ms, seq] = newest.split('-');
    expect(await b.bp.replay(`${ms}-${+seq + 5}`, all)).toBeNull(); // never issued
    expect(await b.bp.replay(`${+ms - 1}-3`, all)).toBeNull(); // another epoch
    for (const bad of ['', 'x', '1-2-3', `${ms}`, `${ms}-`, `-1`, `${ms}-01`, '9'.repeat(40) + '-1']) {
      expect(await b.bp.replay(bad, all)).toBeNull();
    }
  });

  it('keeps exactly maxLen entries and reports a gap only for a client older than them', async () => {
    const a = await start({ maxLen: 5, approximate: false });
    const ids = await publishMany(a.bp, 0, 20);
    expect(await redis.command('XLEN', a.stream)).toBe(5);
    // ids[14] was trimmed, but the entry right after it is the oldest kept: nothing was missed.
    expect(nums(await a.bp.replay(ids[14], all))).toEqual([15, 16, 17, 18, 19]);
    expect(await a.bp.replay(ids[13], all)).toBeNull();
    expect(await a.bp.replay(ids[0], all)).toBeNull();
  });

  it('bounds history with MAXLEN ~ by default', async () => {
    const a = await start({ maxLen: 100, onError: () => {} }); // its own reader falls behind: reported
    const ps: Promise<string>[] = [];
    for (let i = 0; i < 1000; i++) ps.push(a.bp.publish({ event: 'n', data: String(i) }));
    const ids = await Promise.all(ps);
    // Sent in bursts (one script call per tick), still in call order.
    for (let i = 1; i < ids.length; i++) expect(a.bp.compareIds(ids[i - 1], ids[i])).toBeLessThan(0);
    const len = (await redis.command('XLEN', a.stream)) as number;
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(300);
    expect(await a.bp.replay(ids[0], all)).toBeNull();
    expect(nums(await a.bp.replay(ids[949], all))).toEqual(Array.from({ length: 50 }, (_, i) => 950 + i));
  });

  it('starts a new epoch when the stream is wiped, so old ids are never mistaken', async () => {
    const a = await start();
    const b = await start({ stream: a.stream });
    const old = await publishMany(a.bp, 0, 5);
    await until(() => b.got.length === 5, 3000, 'delivery');
    const epoch = a.bp.epoch;
    await redis.command('DEL', a.stream);
    // Both processes publish after the wipe; one of them re-creates the stream, once.
    const fresh = await Promise.all([a.bp.publish({ event: 'n', data: '5' }), b.bp.publish({ event: 'n', data: '6' })]);
    const [ms] = fresh[0].split('-');
    expect(ms).not.toBe(epoch);
    expect(BigInt(ms)).toBeGreaterThan(BigInt(epoch));
    expect(fresh[1].split('-')[0]).toBe(ms);
    expect(a.bp.epoch).toBe(ms);
    // Every old id is from another epoch now, even those whose number the new stream reached.
    for (const id of old) expect(await b.bp.replay(id, all)).toBeNull();
    await until(() => a.got.length === 7 && b.got.length === 7, 3000, 'delivery after the wipe');
    // Two processes published at once: the stream decides their order, the same for every reader.
    expect(b.got.slice(5).map((e) => e.id)).toEqual([...fresh].sort(a.bp.compareIds));
    expect(a.got.slice(5)).toEqual(b.got.slice(5));
    expect(b.bp.epoch).toBe(ms);
    expect(a.bp.compareIds(old[4], fresh[0])).toBeLessThan(0);
  });

  it('resumes after every process restarted: the stream and its epoch stay', async () => {
    const a = await start();
    const ids = await publishMany(a.bp, 0, 10);
    const epoch = a.bp.epoch;
    await a.bp.close();
    const a2 = await start({ stream: a.stream });
    expect(a2.bp.epoch).toBe(epoch);
    expect(nums(await a2.bp.replay(ids[3], all))).toEqual([4, 5, 6, 7, 8, 9]);
    // The restarted reader hands on only what is new.
    const next = await a2.bp.publish({ event: 'n', data: '10' });
    await until(() => a2.got.length === 1, 3000, 'delivery');
    expect(a2.got[0].id).toBe(next);
  });

  it('uses a client it is given, and leaves it open', async () => {
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    const a = await start({ client, url: undefined });
    expect(client.isOpen).toBe(true);
    await a.bp.publish({ event: 'n', data: '1' });
    await until(() => a.got.length === 1, 3000, 'delivery');
    await a.bp.close();
    expect(client.isOpen).toBe(true);
    expect(await client.ping()).toBe('PONG');
    await client.close();
  });

  it('reports a reader so late that MAXLEN trimmed entries before it read them', async () => {
    const a = await start({ maxLen: 5, approximate: false });
    // B's reader reaches Redis through 200 ms of latency each way.
    const slow = await startProxy(redis.port, { latencyMs: 200 });
    const client = createClient({ url: redis.url });
    client.on('error', () => {});
    client.duplicate = (() => createClient({ url: `redis://127.0.0.1:${slow.port}` })) as never;
    const errors: unknown[] = [];
    try {
      const b = await start({ client, url: undefined, stream: a.stream, onError: (e) => errors.push(e) });
      await sleep(300); // B's first XREAD has reached Redis
      await publishMany(a.bp, 0, 30);
      await until(() => b.got.at(-1)?.data === '29', 5000, 'delivery');
      const got = b.got.map((e) => +e.data);
      // B read the first entry, then the stream only after the next ones had been trimmed.
      expect(got.length).toBeLessThan(30);
      expect(got.slice(1)).toEqual(Array.from({ length: got.length - 1 }, (_, i) => 30 - got.length + 1 + i));
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toContain(`${30 - got.length} entries were trimmed`);
    } finally {
      await Promise.all(open.splice(0).map((x) => x.close()));
      await client.close().catch(() => {});
      await slow.close();
    }
  });

  it('rejects publishes after close', async () => {
    const a = await start();
    await a.bp.close();
    await expect(a.bp.publish({ event: 'n', data: '1' })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('goes on when Redis goes away and comes back (empty: a new epoch)', async () => {
    const own = await startRedis();
    const errors: unknown[] = [];
    try {
      const a = await start({ url: own.url, onError: (e) => errors.push(e) });
      const b = await start({ url: own.url, stream: a.stream, onError: (e) => errors.push(e) });
      const before = await publishMany(a.bp, 0, 3);
      await until(() => b.got.length === 3, 3000, 'delivery');
      await own.stop();
      const again = await startRedis(own.port);
      own.stop = again.stop;
      own.command = again.command;
      // Publishes wait for the reconnect, then re-create the stream with a new epoch.
      const after = await publishMany(a.bp, 3, 3);
      expect(after[0].split('-')[0]).not.toBe(before[0].split('-')[0]);
      await until(() => b.got.length === 6, 5000, 'delivery after the restart');
      expect(b.got.map((e) => e.data)).toEqual(['0', '1', '2', '3', '4', '5']);
      expect(await b.bp.replay(before[2], all)).toBeNull();
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(open.splice(0).map((x) => x.close()));
      await own.stop();
    }
  });
});
