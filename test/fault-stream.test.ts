/**
 * Fault suite, streams: a numbered stream of 5,000 events through our TCP proxy while it cuts every
 * connection at random moments, on each transport, across forced transport changes, and while the
 * client upgrades back to WebSocket. Every event must be delivered exactly once and in order.
 * The random moments come from a seed printed with the figures; FAULT_SEED=<n> repeats a run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PushClientOptions, TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, sleep, until } from './helpers/net';
import { live, opened, startProxiedPush } from './helpers/push';
import type { Proxy } from './helpers/proxy';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const N = 5000;
const BATCH = 50;
const WANT_CUTS = 24;

function setup() {
  // retryMs 0: the server's floor would otherwise slow every reconnect to 1 s.
  return startProxiedPush(cleanup, { history: 10000, retryMs: 0, heartbeatMs: 1000, pollTimeout: 1000, sessionTimeout: 1500 });
}

function client(p: Proxy, o: PushClientOptions) {
  // heartbeatTimeout 3 s: a connection that went silent is replaced well within the wait for the
  // last events, so a stall there means events were skipped, not a dead socket not yet noticed.
  const c = new PushClient(p.url(), { reconnect: { minDelay: 5, maxDelay: 50 }, connectTimeout: 2000, heartbeatTimeout: 3000, ...o });
  cleanup.add(() => c.close());
  const got: number[] = [];
  const via = new Map<string, number>();
  const log = { reconnects: 0, gaps: 0, switches: [] as string[] };
  c.on('n', (d: number, m) => {
    got.push(d);
    via.set(m.transport, (via.get(m.transport) ?? 0) + 1);
  });
  c.lifecycle.on('reconnecting', () => log.reconnects++);
  c.lifecycle.on('gap', () => log.gaps++);
  c.lifecycle.on('transport', (t) => log.switches.push(`${t.from}->${t.to}`));
  return { c, got, via, log };
}

/** Checks the full sequence; returns the figures. */
function verdict(got: number[]) {
  const seen = new Set(got);
  let disorder = 0;
  for (let i = 1; i < got.length; i++) if (got[i] <= got[i - 1]) disorder++;
  return { delivered: got.length, lost: N - [...seen].filter((n) => n >= 0 && n < N).length, duplicated: got.length - seen.size, disorder };
}

const seedOf = () => Number(process.env.FAULT_SEED) || Math.floor(Math.random() * 2 ** 31);

/**
 * Publishes 0..N-1 in batches, paced so that the proxy's random cuts fall all along the stream:
 * at least WANT_CUTS of them found an open connection and made the client reconnect (a cut of an
 * idle keep-alive socket does not). `at(batch)` runs before each batch.
 */
async function publishUnderChaos(s: Awaited<ReturnType<typeof setup>>['s'], p: Proxy, seed: number, log: { reconnects: number }, at?: (b: number) => void) {
  const chaos = p.chaos({ seed, minGap: 30, maxGap: 130 });
  const cuts = () => Math.min(chaos.hits, log.reconnects);
  const batches = N / BATCH;
  for (let b = 0; b < batches; b++) {
    at?.(b);
    await until(() => cuts() >= Math.floor((b * WANT_CUTS) / batches), 10000, `cut ${b}`);
    const ps: Promise<string>[] = [];
    for (let j = 0; j < BATCH; j++) ps.push(s.push.publish('n', b * BATCH + j));
    await Promise.all(ps);
    await sleep(12); // the behaviour under test: publishes spread over time, so that the cuts fall among them
  }
  await until(() => cuts() >= WANT_CUTS, 10000, 'the last cuts');
  chaos.stop();
  return chaos;
}

/** Waits for all N events; on a stall, says where the client stands (and the seed to repeat it). */
async function allEvents(c: PushClient, p: Proxy, got: number[], log: { switches: string[] }, seed?: number) {
  await until(() => got.length >= N, 20000, `all events (got ${got.length})`).catch((e: Error) => {
    const open = [...(p as unknown as { conns: Set<{ kind: string; frozen: boolean; after: string | null }> }).conns];
    throw new Error(
      `${e.message}, seed ${seed}: status ${JSON.stringify(c.status)}, last ${got.at(-1)}, ` +
        `lastEventId ${c.lastEventId}, switches ${log.switches.join(' ')}, ` +
        `proxy ${JSON.stringify(open.map((o) => [o.kind, o.frozen, o.after]))}`,
    );
  });
}

/** Publishes a later event and waits for it: a late duplicate of any event before it would have come first. */
async function marker(s: { push: { publish(event: string, data: unknown): Promise<string> } }, c: PushClient) {
  const marked = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the marker event did not arrive within 5 s')), 5000);
    c.on('end', () => (clearTimeout(timer), resolve()));
  });
  await s.push.publish('end', null);
  await marked;
}

describe.each<TransportName>(['websocket', 'eventsource', 'longpoll'])('5,000 events under random cuts over %s', (transport) => {
  it('delivers every event exactly once and in order', async () => {
    const { s, p } = await setup();
    const seed = seedOf();
    const { c, got, log } = client(p, { transports: [transport], upgradeInterval: 0 });
    await opened(c);
    const chaos = await publishUnderChaos(s, p, seed, log);
    await allEvents(c, p, got, log, seed);
    await marker(s, c);
    const v = verdict(got);
    console.log(
      `[fault] stream/${transport}: published ${N}, delivered ${v.delivered}, lost ${v.lost}, duplicated ${v.duplicated}, ` +
        `out of order ${v.disorder}; cuts ${chaos.cuts} (${chaos.hits} hit ${chaos.conns} connections), ` +
        `client reconnects ${log.reconnects}, gaps ${log.gaps}, seed ${seed}`,
    );
    expect(v).toEqual({ delivered: N, lost: 0, duplicated: 0, disorder: 0 });
    expect(got).toEqual([...Array(N).keys()]);
    expect(log.gaps).toBe(0);
    expect(chaos.hits).toBeGreaterThanOrEqual(20);
    expect(log.reconnects).toBeGreaterThanOrEqual(20); // the cuts really broke the stream
  }, 45_000);
});

describe('forced transport changes in the middle of a stream', () => {
  it('WebSocket refused, SSE buffered, WebSocket silent or cut, then back: every event once, in order', async () => {
    const { s, p } = await setup();
    const seed = seedOf();
    const { c, got, via, log } = client(p, { connectTimeout: 300, upgradeInterval: 150 });
    expect((await opened(c)).transport).toBe('websocket');
    const chaos = await publishUnderChaos(s, p, seed, log, (b) => {
      // Each change also cuts what is open, so the client must find its way at once.
      const change = (
        {
          10: () => (p.ws = 'refuse'), // → SSE
          25: () => (p.sse = 'buffer'), // → long-poll after connectTimeout
          45: () => ((p.ws = 'pass'), (p.sse = 'pass')), // probes take it back up
          60: () => (p.ws = 'silent'), // → SSE after connectTimeout
          75: () => (p.ws = 'cut'), // upgrade accepted, then cut: → SSE at once
          90: () => (p.ws = 'pass'),
        } as Record<number, () => void>
      )[b];
      if (change) {
        change();
        p.cutAll();
      }
    });
    await allEvents(c, p, got, log, seed);
    await until(() => c.status.transport === 'websocket', 5000, 'back on WebSocket');
    await marker(s, c);
    const v = verdict(got);
    console.log(
      `[fault] stream/forced changes: published ${N}, delivered ${v.delivered}, lost ${v.lost}, duplicated ${v.duplicated}, ` +
        `out of order ${v.disorder}; by transport ${JSON.stringify(Object.fromEntries(via))}; ` +
        `cuts ${chaos.cuts} (${chaos.hits} hit), reconnects ${log.reconnects}, transport changes ${log.switches.length}, seed ${seed}`,
    );
    expect(v).toEqual({ delivered: N, lost: 0, duplicated: 0, disorder: 0 });
    expect(got).toEqual([...Array(N).keys()]);
    expect([...via.keys()].sort()).toEqual(['eventsource', 'longpoll', 'websocket']);
    expect(log.gaps).toBe(0);
    expect(chaos.hits).toBeGreaterThanOrEqual(20);
  }, 50_000);
});

describe('upgrade back', () => {
  it.each([
    ['eventsource', (p: Proxy): void => void (p.ws = 'refuse')],
    ['longpoll', (p: Proxy): void => void ((p.ws = 'refuse'), (p.sse = 'buffer'))],
  ] as const)(
    'starts on %s behind a proxy, is unblocked mid-stream, ends on WebSocket with every event once',
    async (start, block) => {
      const { s, p } = await setup();
      block(p);
      const { c, got, via, log } = client(p, { connectTimeout: 300, upgradeInterval: 200 });
      expect((await opened(c)).transport).toBe(start);
      for (let b = 0; b < N / BATCH; b++) {
        if (b === N / BATCH / 2) (p.ws = 'pass'), (p.sse = 'pass');
        const ps: Promise<string>[] = [];
        for (let j = 0; j < BATCH; j++) ps.push(s.push.publish('n', b * BATCH + j));
        await Promise.all(ps);
        await sleep(10); // the behaviour under test: publishes spread over time, so that the changes fall among them
      }
      await until(() => got.length >= N, 15000, `all events (got ${got.length})`);
      await until(() => c.status.transport === 'websocket', 5000, 'on WebSocket');
      await marker(s, c);
      const v = verdict(got);
      console.log(
        `[fault] upgrade back from ${start}: delivered ${v.delivered}, lost ${v.lost}, duplicated ${v.duplicated}; ` +
          `by transport ${JSON.stringify(Object.fromEntries(via))}; changes ${log.switches.join(', ')}`,
      );
      expect(v).toEqual({ delivered: N, lost: 0, duplicated: 0, disorder: 0 });
      expect(got).toEqual([...Array(N).keys()]);
      expect(log.switches).toContain(`${start}->websocket`);
      expect(log.reconnects).toBe(0); // an upgrade is a handover, not a reconnect
      // The old transport was dropped (a long-poll session ends on the server when it is not polled).
      await until(() => live(s.push) === 1, 5000, 'one connection left on the server');
    },
    40_000,
  );

  it('a probe that starts before any event arrived still hands over without loss', async () => {
    // The probe asks for no resume point (no event yet); an event published before the server
    // registered the probe comes over the old transport while the probe is on its way.
    const { s, p } = await setup();
    p.ws = 'refuse';
    const { c, got } = client(p, { upgradeInterval: 100 });
    expect((await opened(c)).transport).toBe('eventsource');
    let first: Promise<string> | undefined;
    const probing = new Promise<void>((resolve) => {
      p.onRequest = (r) => {
        if (r.kind !== 'ws' || first) return;
        first = s.push.publish('n', 0); // the probe's request has reached the proxy, not yet the server
        resolve();
      };
    });
    p.latency = 150;
    p.ws = 'pass';
    await probing;
    await until(() => c.status.transport === 'websocket', 5000, 'on WebSocket');
    for (let i = 1; i < 10; i++) await s.push.publish('n', i);
    await marker(s, c);
    expect(got).toEqual([...Array(10).keys()]);
  }, 15_000);
});
