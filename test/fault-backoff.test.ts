/**
 * Fault suite, reconnect policy observed from outside: connection attempts counted at our proxy
 * against a server that accepts and at once closes (growth, cap, jitter, first connect included),
 * 401/403 fatal after exactly one attempt, Retry-After on 429/503, maxRetries, and a server
 * restarted on the same port (reconnect with backoff, then a `gap`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PushClientOptions, TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, shut, sleep, until } from './helpers/net';
import { opened, startProxiedPush, startPush } from './helpers/push';
import { httpAnswer, type Proxy } from './helpers/proxy';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const setup = (server: Parameters<typeof startPush>[0] = {}) => startProxiedPush(cleanup, server);

function client(url: string, o: PushClientOptions = {}) {
  const c = new PushClient(url, o);
  cleanup.add(() => c.close());
  return c;
}

/** Gaps (ms) between successive requests of a kind at the proxy. */
const gaps = (p: Proxy, kind: string) => {
  const at = p.requests.filter((r) => r.kind === kind).map((r) => r.at);
  return at.slice(1).map((t, i) => t - at[i]);
};

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe('backoff against a server that accepts and at once closes', () => {
  it('grows from minDelay, stays under maxDelay, spreads by jitter, and covers the first connect', async () => {
    // The defaults (500 ms .. 30 s, x2, jitter 0.5) at 1/20 of the time: 3 s here is one minute there.
    const SCALE = 20;
    const WINDOW = 10000;
    const r = { minDelay: 500 / SCALE, maxDelay: 30000 / SCALE, factor: 2, jitter: 0.5 };
    const { p } = await setup();
    p.down = true; // from the start: the very first connect is retried too
    const t0 = Date.now();
    const c = client(p.url(), { reconnect: r });
    await sleep(WINDOW); // the behaviour under test: the attempts made over a window of backoff
    c.close();
    const cycles = p.requests.filter((q) => q.kind === 'ws'); // each pass starts with WebSocket
    const d = gaps(p, 'ws');
    const atCap = d.slice(6); // gap k follows retry k: its base 25·2^k reaches the cap of 1500 at k = 6
    const firstMinute = cycles.filter((q) => q.at - t0 <= 60000 / SCALE).length;
    const perMinuteAtCap = 60000 / SCALE / mean(atCap);
    console.log(
      `[fault] backoff (defaults at 1/${SCALE} time): ${cycles.length} passes (${p.requests.length} connection attempts, ` +
        `${(p.requests.length / cycles.length).toFixed(1)} per pass) in ${(WINDOW * SCALE) / 60000} simulated minutes; ` +
        `first minute: ${firstMinute} passes (${firstMinute * 3} attempts); at the cap: ${perMinuteAtCap.toFixed(1)} passes/min ` +
        `(${(perMinuteAtCap * 3).toFixed(1)} attempts/min); gaps ms ${JSON.stringify(d)}`,
    );
    // Every pass tries the three transports in turn, at once (fallback is not backoff).
    expect(p.count('sse')).toBeGreaterThanOrEqual(cycles.length - 1);
    expect(p.count('lp')).toBeGreaterThanOrEqual(cycles.length - 1);
    // Growth: no gap is under its delay's lower bound, (1 - jitter) · min(maxDelay, minDelay · 2^k)
    // (timers never fire early, so this holds under any load), and the late gaps dwarf the first.
    d.forEach((g, k) => expect(g, `gap ${k}`).toBeGreaterThanOrEqual((1 - r.jitter) * Math.min(r.maxDelay, r.minDelay * 2 ** k) - 5));
    expect(mean(atCap)).toBeGreaterThan(3 * Math.min(...d.slice(0, 3)));
    // Cap: a generous upper bound.
    expect(Math.max(...d)).toBeLessThan(r.maxDelay + 1000);
    // Jitter: the gaps at the cap are spread, not equal.
    expect(atCap.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...atCap) - Math.min(...atCap)).toBeGreaterThan(r.maxDelay * 0.1);
    expect(cycles.length).toBeLessThan(30);
  }, 20_000);

  it('jitter 0 gives the plain exponential series', async () => {
    const { p } = await setup();
    p.down = true;
    const c = client(p.url(), { transports: ['longpoll'], reconnect: { minDelay: 40, maxDelay: 320, jitter: 0 } });
    await until(() => p.count('lp') >= 7, 5000, '7 attempts');
    c.close();
    const d = gaps(p, 'lp').slice(0, 6);
    console.log(`[fault] backoff without jitter (40 ms .. 320 ms): gaps ms ${JSON.stringify(d)}`);
    // 40, 80, 160, 320, 320, 320: each gap at least its delay, and under it plus a generous margin.
    [40, 80, 160, 320, 320, 320].forEach((want, i) => {
      expect(d[i]).toBeGreaterThanOrEqual(want - 2);
      expect(d[i]).toBeLessThan(want + 250);
    });
  });
});

describe('refusals', () => {
  it.each([401, 403])('%i on SSE and on long-poll is fatal after exactly one attempt; on the WebSocket upgrade it is not', async (status) => {
    const { p } = await setup();
    p.respond = (q) => (q.kind === 'ws' || q.kind === 'sse' || q.kind === 'lp' ? httpAnswer(status, 'no') : undefined);
    for (const t of ['eventsource', 'longpoll'] as TransportName[]) {
      const before = p.requests.length;
      const c = client(p.url(), { transports: [t], reconnect: { minDelay: 10 } });
      await until(() => c.status.state === 'closed', 3000, 'closed');
      await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (a retry; minDelay is 10 ms)
      expect(p.requests.length - before, t).toBe(1);
      expect(c.status.error).toMatchObject({ code: 'UNAUTHORIZED', status });
    }
    // All three: the refused upgrade hands over to SSE, whose refusal ends it.
    const before = p.requests.length;
    const c = client(p.url(), { reconnect: { minDelay: 10 } });
    const closes: unknown[] = [];
    c.lifecycle.on('close', (e) => closes.push(e));
    await until(() => c.status.state === 'closed', 3000, 'closed');
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (a retry)
    expect(p.requests.slice(before).map((q) => q.kind)).toEqual(['ws', 'sse']);
    expect(closes).toEqual([{ error: expect.objectContaining({ code: 'UNAUTHORIZED' }) }]);
    // WebSocket alone: proxies refuse upgrades with 403, so it is retried with backoff.
    const ws = client(p.url(), { transports: ['websocket'], reconnect: { minDelay: 10, maxDelay: 40 } });
    await until(() => p.count('ws') >= 4, 5000, 'WebSocket retries');
    expect(['reconnecting', 'connecting']).toContain(ws.status.state);
  });

  it.each([
    [503, 'eventsource'],
    [429, 'eventsource'],
    [503, 'longpoll'],
    [429, 'longpoll'],
  ] as const)('%i with Retry-After on %s is honoured', async (status, transport) => {
    const { p } = await setup();
    let refused = 0;
    p.respond = () => (refused++ === 0 ? httpAnswer(status, 'busy', { 'Retry-After': '1' }) : undefined);
    const c = client(p.url(), { transports: [transport], reconnect: { minDelay: 10, maxDelay: 50 } });
    const delays: number[] = [];
    c.lifecycle.on('reconnecting', (e) => delays.push(e.delay));
    await opened(c, 5000);
    const [first, second] = p.requests.map((q) => q.at);
    console.log(`[fault] ${status} Retry-After: 1 on ${transport}: next attempt after ${second - first} ms`);
    expect(delays).toEqual([1000]);
    expect(second - first).toBeGreaterThanOrEqual(995);
    expect(second - first).toBeLessThan(2500);
  });
});

describe('maxRetries', () => {
  it('ends in closed with MAX_RETRIES; connect() afterwards starts afresh', async () => {
    const { p } = await setup();
    p.down = true;
    const c = client(p.url(), { reconnect: { minDelay: 10, maxDelay: 40, maxRetries: 3 } });
    const closes: { error?: { code: string } }[] = [];
    c.lifecycle.on('close', (e) => closes.push(e));
    for (let round = 1; round <= 2; round++) {
      await until(() => c.status.state === 'closed', 3000, 'closed');
      await sleep(200); // an observation window: nothing is to happen here, and no event marks a thing not done (a retry past maxRetries)
      // the first pass and 3 retries, each pass over the three transports
      expect(p.count('ws')).toBe(4 * round);
      expect(c.status.error).toMatchObject({ code: 'MAX_RETRIES' });
      expect(closes.length).toBe(round);
      c.connect(); // a fresh budget of retries
      expect(c.status).toMatchObject({ state: 'connecting', attempt: 0 });
    }
    c.close();
    await sleep(100); // lets attempts aborted by close() end before the proxy lets connections through
    p.down = false;
    c.connect();
    expect((await opened(c)).transport).toBe('websocket');
    expect(closes.map((e) => e.error?.code)).toEqual(['MAX_RETRIES', 'MAX_RETRIES', undefined]);
  });
});

describe('server restarted on the same port', () => {
  it('clients on every transport reconnect with backoff and are told of the gap', async () => {
    const s1 = await startPush({ retryMs: 0 });
    let s2: Awaited<ReturnType<typeof startPush>> | undefined;
    cleanup.add(async () => {
      await s1.push.close();
      await shut(s1.server).catch(() => {});
      await s2?.stop();
    });
    const all: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
    const r = all.map((t) => {
      const c = client(s1.url, { transports: [t], reconnect: { minDelay: 50, maxDelay: 400 } });
      const log = { got: [] as number[], gaps: [] as { lastEventId?: string }[], retries: [] as { attempt: number; delay: number }[] };
      c.on('n', (d: number) => log.got.push(d));
      c.lifecycle.on('gap', (g) => log.gaps.push(g));
      c.lifecycle.on('reconnecting', (e) => log.retries.push({ attempt: e.attempt, delay: e.delay }));
      return { t, c, log };
    });
    await Promise.all(r.map(({ c }) => opened(c)));
    const last = await s1.push.publish('n', 1);
    await until(() => r.every(({ log }) => log.got.length === 1), 3000, 'event 1');
    // The process goes away: every connection is closed, the port refuses for a while.
    await s1.push.close();
    await shut(s1.server);
    await sleep(1500); // the behaviour under test: the port refuses for a while
    s2 = await startPush({ retryMs: 0, port: s1.port });
    await Promise.all(r.map(({ c }) => opened(c, 5000)));
    await s2.push.publish('n', 2);
    await until(() => r.every(({ log }) => log.got.length === 2), 3000, 'event 2');
    for (const { t, log } of r) {
      console.log(
        `[fault] restart, ${t}: ${log.retries.length} retries while down, delays ms ${JSON.stringify(log.retries.map((x) => x.delay))}, gap events ${log.gaps.length}`,
      );
      expect(log.got, t).toEqual([1, 2]);
      expect(log.gaps, t).toEqual([{ lastEventId: last }]);
      // backoff, not a hot loop: a handful of retries in 1.5 s, numbered 1, 2, 3...
      expect(log.retries.length, t).toBeGreaterThanOrEqual(2);
      expect(log.retries.length, t).toBeLessThanOrEqual(15);
      expect(log.retries.map((x) => x.attempt)).toEqual(log.retries.map((_, i) => i + 1));
      expect(Math.max(...log.retries.map((x) => x.delay))).toBeLessThanOrEqual(400);
    }
  });
});
