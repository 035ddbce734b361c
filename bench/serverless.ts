/**
 * What a platform's maximum request duration costs (issue 22, "serverless, honestly"): SSE and
 * long-poll through a proxy with no affinity that cuts every response still open after CUT_MS, as
 * a serverless platform ends a request at its limit, against the same with no cuts.
 *
 * Setup: one `redis-server`; two push server processes on one Redis stream (this one, which
 * publishes, and a child) with the server's defaults (retryMs 500, pollTimeout 25 s; one more pair
 * with pollTimeout under the cut), behind test/helpers/rr-proxy.ts (each HTTP request to the next
 * process in turn). Per row: a fresh proxy and one Node PushClient with the client's defaults
 * (reconnect from 500 ms, jitter 0.5), one transport only. Busy: the publisher keeps at most WINDOW
 * events ahead of the client (published, not yet received) for BUSY_SECONDS, so that events/s is
 * what the client takes with the cuts and reconnects in the way, not how fast the server queues;
 * events/s = events / (last arrival − first publish). Idle: IDLE_SECONDS with no event, where a
 * held poll or a quiet stream meets the cut; then AFTER_IDLE events, which must arrive too.
 * Reconnects: opens after the first, per minute of the whole row. Lost, duplicated, out of order
 * or a gap: the run throws after the table.
 *
 *   npm run bench -- serverless     (BENCH_QUICK=1 for a shorter run; full ≈ 2 minutes)
 */
import { PushClient } from '../src/node';
import type { TransportName } from '../src';
import { forkRedisPush, startRedis, startRedisPush, type RedisPushOptions } from '../test/helpers/redis';
import { startRoundRobinProxy } from '../test/helpers/rr-proxy';
import { byMode } from './lib/mode';
import { isMain, table, type Cell } from './lib/table';
import { now, sleep } from './lib/util';

/** How long the publisher floods per row. */
const BUSY_SECONDS = byMode(12, 6, 1.5);
/** Then how long no event is published: a held poll or an idle stream meets the cut here. */
const IDLE_SECONDS = byMode(11, 11, 1);
/** A platform's maximum request duration (smoke: short enough to cut within the run). */
const CUT_MS = byMode(10_000, 10_000, 500);
/** The server's default `pollTimeout`. */
const DEFAULT_POLL_MS = 25_000;
/** Long-poll's `pollTimeout` under the limit, for the row that shows what that saves. */
const SHORT_POLL_MS = byMode(8_000, 8_000, 300);
/** Events published and not yet received, at most. */
const WINDOW = 500;
/** Events published at once (one await for their XADDs). */
const BATCH = 50;
/** Events published after the idle spell: they must arrive too, once each. */
const AFTER_IDLE = 100;
/** Longest wait for the client to have every event published. */
const DRAIN_MS = 30_000;

interface Case {
  transport: TransportName;
  cutMs?: number;
  /** The servers' `pollTimeout` (long-poll); the default, 25 s, unless given. */
  pollTimeout?: number;
}

const CASES: Case[] = [
  { transport: 'eventsource' },
  { transport: 'eventsource', cutMs: CUT_MS },
  { transport: 'longpoll' },
  { transport: 'longpoll', cutMs: CUT_MS },
  { transport: 'longpoll', cutMs: CUT_MS, pollTimeout: SHORT_POLL_MS },
];

interface Row extends Case {
  published: number;
  eventsPerSecond: number;
  reconnectsBusy: number;
  reconnectsIdle: number;
  reconnectsPerMinute: number;
  cuts: number;
  requests: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  gaps: number;
}

async function once(c: Case, backends: number[], publish: (i: number) => Promise<unknown>): Promise<Row> {
  const proxy = await startRoundRobinProxy(backends, { cutMs: c.cutMs });
  const client = new PushClient<{ n: { i: number } }>(proxy.url(), { transports: [c.transport], rememberTransport: 0 });
  const seen = new Map<number, number>();
  let received = 0;
  let last = -1;
  let outOfOrder = 0;
  let lastAt = 0;
  let opens = 0;
  let gaps = 0;
  client.on('n', ({ i }) => {
    const times = (seen.get(i) ?? 0) + 1;
    seen.set(i, times);
    if (times === 1) received++;
    if (i <= last) outOfOrder++;
    last = Math.max(last, i);
    lastAt = now();
  });
  client.lifecycle.on('open', () => opens++);
  client.lifecycle.on('gap', () => gaps++);
  let published = 0;
  const drain = async () => {
    const by = now() + DRAIN_MS;
    while (received < published && now() < by) await sleep(10);
  };
  try {
    const openBy = Date.now() + 10_000;
    while (client.status.state !== 'open' && Date.now() < openBy) await sleep(10);
    if (client.status.state !== 'open') throw new Error(`${c.transport}: the client did not open in 10 s`);
    const startedAt = now();
    const busyUntil = startedAt + BUSY_SECONDS * 1000;
    while (now() < busyUntil) {
      if (published - received >= WINDOW) {
        await sleep(1);
        continue;
      }
      const batch: Promise<unknown>[] = [];
      for (let k = 0; k < BATCH; k++) batch.push(publish(published++));
      await Promise.all(batch);
    }
    await drain();
    const busySeconds = (lastAt - startedAt) / 1000;
    const eventsPerSecond = received / busySeconds;
    const reconnectsBusy = opens - 1;
    await sleep(IDLE_SECONDS * 1000);
    const reconnectsIdle = opens - 1 - reconnectsBusy;
    for (let k = 0; k < AFTER_IDLE; k++) await publish(published++);
    await drain();
    const seconds = (now() - startedAt) / 1000;
    let duplicated = 0;
    for (const times of seen.values()) duplicated += times - 1;
    return {
      ...c,
      published,
      eventsPerSecond,
      reconnectsBusy,
      reconnectsIdle,
      reconnectsPerMinute: ((opens - 1) * 60) / seconds,
      cuts: proxy.cuts,
      requests: [...proxy.sent.values()].reduce((a, b) => a + b, 0),
      lost: published - received,
      duplicated,
      outOfOrder,
      gaps,
    };
  } finally {
    client.close();
    await proxy.close();
  }
}

/** Redis, and two push server processes on one stream: this one (it publishes) and a child. */
async function startServers(redisUrl: string, pollTimeout: number) {
  const o: RedisPushOptions = {
    url: redisUrl,
    stream: `serverless-${process.pid}-${pollTimeout}`,
    // Enough for a client that was away for a reconnect to resume from the stream.
    maxLen: 200_000,
    pollTimeout,
    // The server's default (the tests' helper uses 20 ms): the client waits it before each reconnect.
    retryMs: 500,
  };
  const publisher = await startRedisPush(o, { onError: () => {} });
  const other = await forkRedisPush(o).catch(async (e: unknown) => {
    await publisher.stop();
    throw e;
  });
  return {
    backends: [publisher.port, other.port],
    publish: (i: number) => publisher.push.publish('n', { i }),
    async stop() {
      await other.stop();
      await publisher.stop();
    },
  };
}

export async function run(): Promise<void> {
  const redis = await startRedis();
  try {
    const rows: Row[] = [];
    for (const pollTimeout of [DEFAULT_POLL_MS, SHORT_POLL_MS]) {
      const cases = CASES.filter((c) => (c.pollTimeout ?? DEFAULT_POLL_MS) === pollTimeout);
      const servers = await startServers(redis.url, pollTimeout);
      try {
        for (const c of cases) {
          const row = await once(c, servers.backends, servers.publish);
          console.log(
            `  ${label(c)}: ${row.published} events, reconnects ${row.reconnectsBusy} busy + ${row.reconnectsIdle} idle, ${row.cuts} cuts, ${row.requests} requests`,
          );
          rows.push(row);
        }
      } finally {
        await servers.stop();
      }
    }
    console.log(
      `\n## Serverless: every response cut at a maximum request duration; 2 push server processes on Redis behind a round-robin proxy; ` +
        `per row ${BUSY_SECONDS} s busy (at most ${WINDOW} events in flight), ${IDLE_SECONDS} s idle, then ${AFTER_IDLE} events\n`,
    );
    const cells: Cell[][] = rows.map((r) => [
      r.transport === 'longpoll' ? `longpoll, pollTimeout ${(r.pollTimeout ?? DEFAULT_POLL_MS) / 1000} s` : r.transport,
      r.cutMs ? `${r.cutMs / 1000} s` : 'none',
      Math.round(r.eventsPerSecond),
      r.reconnectsPerMinute.toFixed(1),
      `${r.reconnectsBusy} / ${r.reconnectsIdle}`,
      r.cuts,
      r.lost,
      r.duplicated,
    ]);
    console.log(
      table(['transport', 'cut interval', 'events/s (busy)', 'reconnects/min', 'reconnects busy / idle', 'responses cut', 'events lost', 'duplicates'], cells),
    );
    const wrong = rows.filter((r) => r.lost || r.duplicated || r.outOfOrder || r.gaps);
    if (wrong.length) {
      throw new Error(wrong.map((r) => `${label(r)}: ${r.lost} lost, ${r.duplicated} duplicated, ${r.outOfOrder} out of order, ${r.gaps} gaps`).join('; '));
    }
  } finally {
    await redis.stop();
  }
}

function label(c: Case): string {
  return `${c.transport}${c.pollTimeout ? ` (pollTimeout ${c.pollTimeout} ms)` : ''} ${c.cutMs ? `cut every ${c.cutMs / 1000} s` : 'no cuts'}`;
}

if (isMain(import.meta.url)) await run();
