/**
 * No sticky sessions: three push server processes (this one and two children) on one Redis stream,
 * behind a proxy that sends each HTTP request to the next one in turn. A long-poll's polls, and the
 * POSTs of SSE and long-poll clients, land on any process; events must still arrive once each in
 * order, and every send be accepted and seen once. Then the same with every response cut after 2 s,
 * as a serverless platform's maximum request duration does.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PushClient } from '../src/node';
import type { TransportName } from '../src';
import { forkRedisPush, publishRun, startRedisPush, useRedis, type RedisPushOptions } from './helpers/redis';
import { startRoundRobinProxy } from './helpers/rr-proxy';
import { sleep, until } from './helpers/net';

const redis = useRedis({ beforeAll, beforeEach, afterAll });
let n = 0;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

type Got = { event: string; i: number; id?: string };

function client(url: string, transport: TransportName) {
  const c = new PushClient(url, {
    transports: [transport],
    reconnect: { minDelay: 10, maxDelay: 100, jitter: 0 },
    connectTimeout: 3000,
    rememberTransport: 0,
  });
  cleanups.push(() => c.close());
  const got: Got[] = [];
  const gaps: unknown[] = [];
  let opens = 0;
  c.onAny((event, data, meta) => got.push({ event, i: (data as { i: number }).i, id: meta.id }));
  c.lifecycle.on('gap', (g) => gaps.push(g));
  c.lifecycle.on('open', () => opens++);
  return { c, got, gaps, opens: () => opens };
}

const of = (got: Got[], event: string) => got.filter((g) => g.event === event).map((g) => g.i);
const range = (count: number) => Array.from({ length: count }, (_, i) => i);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

const EVENTS = 2000;
const SENDS = 200;

describe.each(['eventsource', 'longpoll'] as TransportName[])('no sticky sessions over %s', (transport) => {
  it.each([
    ['round robin', undefined],
    ['round robin, every response cut after 2 s', 2000],
  ] as const)(
    '%s: 2,000 events once each in order, every send accepted and seen once',
    async (_label, cutMs) => {
      const o: RedisPushOptions = {
        url: redis.url,
        stream: `rr${process.pid}-${++n}`,
        maxLen: 20_000,
        chat: true,
        // Without cuts polls are answered within 1 s; with them an idle poll is held past the cut.
        pollTimeout: cutMs ? 5000 : 1000,
      };
      const a = await startRedisPush(o);
      cleanups.push(() => a.stop());
      const others = await Promise.all([forkRedisPush(o), forkRedisPush(o)]);
      for (const p of others) cleanups.push(() => p.stop());
      const backends = [a, ...others];
      const proxy = await startRoundRobinProxy(
        backends.map((b) => b.port),
        { cutMs },
      );
      cleanups.push(() => proxy.close());

      const x = client(proxy.url(), transport);
      const y = client(proxy.url(), transport);
      await until(() => x.c.status.state === 'open' && y.c.status.state === 'open', 10_000, 'both open');
      const t0 = performance.now();

      // x sends while a process publishes: each send is a POST that may reach any process.
      const sending = (async () => {
        for (let i = 0; i < SENDS; i++) await x.c.send('say', { i });
      })();
      const run = { batch: 10, gapMs: cutMs ? 30 : 5 };
      await publishRun(a.push, 'n', 0, EVENTS / 2, run);
      // With cuts: a quiet spell, so that idle long-polls and streams are held past the cut too.
      if (cutMs) await sleep(2.5 * cutMs);
      await publishRun(a.push, 'n', EVENTS / 2, EVENTS / 2, run);
      await sending; // every send accepted: none rejected
      await until(() => of(x.got, 'n').length >= EVENTS && of(y.got, 'n').length >= EVENTS, 60_000, 'every event at both clients');
      const said = (await Promise.all(backends.map((b) => b.said()))).flat();
      await until(() => of(y.got, 'said').length >= SENDS, 20_000, "every send's broadcast at y");
      const ms = performance.now() - t0;

      for (const c of [x, y]) {
        expect(of(c.got, 'n')).toEqual(range(EVENTS)); // once each, in order
        expect(c.gaps).toEqual([]);
      }
      expect(sorted(said)).toEqual(range(SENDS)); // each send seen once, by some process
      expect(sorted(of(y.got, 'said'))).toEqual(range(SENDS));
      // Sends were spread over the processes, and so were the requests.
      for (const b of backends) expect(proxy.sent.get(b.port)).toBeGreaterThan(0);
      if (cutMs) expect(proxy.cuts).toBeGreaterThan(0);
      if (!cutMs) {
        // conn.send reached x wherever it was held, `except` kept the broadcast from it.
        await until(() => of(x.got, 'echo').length >= SENDS, 10_000, 'every echo at x');
        expect(sorted(of(x.got, 'echo'))).toEqual(range(SENDS));
        expect(of(x.got, 'said')).toEqual([]);
        expect(x.opens()).toBe(1);
        expect(y.opens()).toBe(1);
      } else {
        // Targeted sends to a connection cut meanwhile are lost by design; none arrives twice.
        const echoes = of(x.got, 'echo');
        expect(new Set(echoes).size).toBe(echoes.length);
      }
      console.log(
        `${transport}, ${_label}: ${EVENTS} events + ${SENDS} sends in ${ms.toFixed(0)} ms; ` +
          `requests per process ${backends.map((b) => proxy.sent.get(b.port)).join('/')}, ` +
          `said per process ${(await Promise.all(backends.map((b) => b.said()))).map((s) => s.length).join('/')}, ` +
          `opens x ${x.opens()} y ${y.opens()}, cuts ${proxy.cuts}`,
      );
    },
    120_000,
  );
});
