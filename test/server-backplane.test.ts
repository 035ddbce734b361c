import { afterEach, describe, expect, it } from 'vitest';
import { memoryBackplane, type Backplane, type BackplaneEntry } from '../src/server';
import { connect, eventsBeforeMarker, KINDS, sleep, startServer, until, type AnyClient, type TestServer } from './helpers/server-clients';

const servers: TestServer<any>[] = [];
const clients: AnyClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/**
 * A backplane shaped like a networked one (Redis Streams): async start and replay, and a live feed
 * that lags behind the history, so a replay can hold entries that are still on their way live.
 */
function laggingBackplane(lagMs: number): Backplane & { started: boolean; liveDelivered(n: number): Promise<void> } {
  const inner = memoryBackplane({ history: 100 });
  const timers = new Set<NodeJS.Timeout>();
  let delivered = 0;
  const waiters = new Set<() => void>();
  return {
    started: false,
    /** Resolves once `n` entries have come through the live feed (and the server has handled them). */
    liveDelivered: (n) =>
      new Promise<void>((resolve) => {
        const check = () => delivered >= n && (waiters.delete(check), resolve());
        waiters.add(check);
        check();
      }),
    get epoch() {
      return inner.epoch;
    },
    async start(onEntry: (e: BackplaneEntry) => void) {
      await sleep(30); // the behaviour under test: a start that takes a while, as over a network
      inner.start((e) => {
        const t = setTimeout(() => {
          timers.delete(t);
          onEntry(e);
          delivered++;
          for (const check of [...waiters]) check();
        }, lagMs);
        timers.add(t);
      });
      this.started = true;
    },
    publish: (e) => inner.publish(e),
    compareIds: (a, b) => inner.compareIds(a, b),
    async replay(afterId, filter) {
      await sleep(1); // an asynchronous replay, as over a network
      return inner.replay(afterId, filter);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      await inner.close();
    },
  };
}

describe.each(KINDS)('%s over a backplane whose live feed lags', (kind) => {
  it('waits for start, and drops live entries the replay already delivered', async () => {
    const backplane = laggingBackplane(150);
    const s = await startServer({ backplane, pollTimeout: 500 });
    servers.push(s);
    const ids = await Promise.all([0, 1, 2, 3, 4].map((i) => s.push.publish('n', i))); // queued until started
    expect(backplane.started).toBe(true);
    // Connect before those five have come through live: the replay has them already.
    const c = await connect(kind, s.url, { lastEventId: ids[0] });
    clients.push(c);
    expect(c.inbox.hello!.replay).toBe(true);
    await c.inbox.waitEvents(4);
    await backplane.liveDelivered(5); // the lagging live copies have come now, and must have been dropped
    await s.push.publish('n', 5);
    expect((await eventsBeforeMarker(s.push, c)).map((f) => +f.data)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('listeners and errors', () => {
  it('reports a throwing message listener to onError and still calls the others', async () => {
    const errors: unknown[] = [];
    const s = await startServer({ onError: (e) => errors.push(e) });
    servers.push(s);
    const got: string[] = [];
    s.push.onMessage(() => {
      throw new Error('listener bug');
    });
    s.push.onMessage(async () => {
      throw new Error('async listener bug');
    });
    s.push.onMessage((e) => got.push(e));
    const c = await connect('websocket', s.url);
    clients.push(c);
    await c.send({ e: 'hi' });
    await until(() => got.length === 1 && errors.length === 2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['listener bug', 'async listener bug']);
    expect(s.push.connections).toHaveLength(1);
  });

  it('rejects conn.send on a closed connection, and never leaves an unhandled rejection', async () => {
    const s = await startServer();
    servers.push(s);
    const c = await connect('eventsource', s.url);
    clients.push(c);
    await until(() => s.push.connection(c.cid));
    const conn = s.push.connection(c.cid)!;
    conn.close();
    void conn.send('x', 1); // fire and forget must be safe
    await expect(conn.send('x', 1)).rejects.toMatchObject({ code: 'CLOSED' });
    const other = await connect('eventsource', s.url);
    clients.push(other);
    await until(() => s.push.connection(other.cid));
    await expect(s.push.connection(other.cid)!.send('$bad', 1)).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
