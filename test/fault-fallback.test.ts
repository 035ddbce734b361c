/**
 * Fault suite, fallback and dead connections: time to the first event behind each kind of broken
 * proxy, and a connection that goes silent after its hello, noticed by the heartbeat timer and by
 * the clock (a frozen timer: the send and page-wake paths check the deadline themselves).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushClientOptions, TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, sleep, until } from './helpers/net';
import { opened, startProxiedPush, type startPush } from './helpers/push';
import type { Proxy } from './helpers/proxy';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

const setup = (server: Parameters<typeof startPush>[0] = {}) => startProxiedPush(cleanup, server);

function client(p: Proxy, o: PushClientOptions = {}) {
  const c = new PushClient(p.url(), { reconnect: { minDelay: 10, maxDelay: 100 }, ...o });
  cleanup.add(() => c.close());
  return c;
}

/** Publishes `tick` every 2 ms until stopped. */
function ticker(s: Awaited<ReturnType<typeof setup>>['s']) {
  let n = 0;
  const t = setInterval(() => void s.push.publish('tick', n++).catch(() => {}), 2);
  cleanup.add(() => clearInterval(t));
  return () => clearInterval(t);
}

/** ms from `t0` to the client's first `tick`. */
function firstTick(c: PushClient, t0: number) {
  return new Promise<{ ms: number; transport: string }>((resolve) =>
    c.once('tick', (_d, m) => resolve({ ms: Math.round(performance.now() - t0), transport: m.transport })),
  );
}

describe('fallback behind a broken proxy: time from construction to the first event', () => {
  const CT = 500; // connectTimeout
  beforeAll(async () => {
    // Warm up (module loading, the first fetch and WebSocket) so that the figures are the fallback's.
    const { s, p } = await setup();
    for (const t of ALL) await opened(client(p, { transports: [t] }));
    void s;
    await cleanup.run();
  });
  const cases: [string, (p: Proxy) => void, TransportName, number, number][] = [
    // name, proxy setup, expected transport, at least (ms: a timeout must have run), at most (generous)
    ['WebSocket upgrade refused (403)', (p) => (p.ws = 'refuse'), 'eventsource', 0, 1000],
    ['WebSocket upgrade accepted, then cut', (p) => (p.ws = 'cut'), 'eventsource', 0, 1000],
    ['WebSocket upgrade accepted, then silent', (p) => (p.ws = 'silent'), 'eventsource', CT, CT + 1500],
    ['SSE held by a buffering proxy (WebSocket refused)', (p) => ((p.ws = 'refuse'), (p.sse = 'buffer')), 'longpoll', CT, CT + 1500],
    ['WebSocket silent and SSE buffered', (p) => ((p.ws = 'silent'), (p.sse = 'buffer')), 'longpoll', 2 * CT, 2 * CT + 1500],
  ];
  it.each(cases)('%s', async (name, block, expected, atLeast, atMost) => {
    const { s, p } = await setup();
    block(p);
    ticker(s);
    const t0 = performance.now();
    const c = client(p, { connectTimeout: CT });
    const first = await firstTick(c, t0);
    // A second client on the same URL starts where the first succeeded (transport memory).
    const tried = p.requests.length;
    const t1 = performance.now();
    const again = await firstTick(client(p, { connectTimeout: CT }), t1);
    const secondTried = p.requests.slice(tried).map((q) => q.kind);
    console.log(
      `[fault] fallback, ${name}: first event after ${first.ms} ms over ${first.transport} ` +
        `(connectTimeout ${CT}); a second client on the same URL: ${again.ms} ms over ${again.transport}`,
    );
    expect(first.transport).toBe(expected);
    expect(first.ms).toBeGreaterThanOrEqual(atLeast);
    expect(first.ms).toBeLessThan(atMost);
    expect(again.transport).toBe(expected);
    // it went straight to the transport that worked: no WebSocket (or SSE) attempt to wait out again
    expect(secondTried[0]).toBe(expected === 'eventsource' ? 'sse' : 'lp');
    expect(again.ms).toBeLessThan(atMost);
    expect(c.status).toMatchObject({ state: 'open', transport: expected });
  });
});

describe('dead connections', () => {
  const HB = 600; // client heartbeatTimeout
  const server = { heartbeatMs: 100, pollTimeout: 100, sessionTimeout: 2000 };

  it.each(ALL)('%s: a quiet but healthy connection is kept (heartbeats and empty polls count as life)', async (transport) => {
    const { s, p } = await setup(server);
    const c = client(p, { transports: [transport], heartbeatTimeout: HB });
    let reconnects = 0;
    c.lifecycle.on('reconnecting', () => reconnects++);
    await opened(c);
    await sleep(4 * HB); // the behaviour under test: quiet for longer than the heartbeat timeout
    expect(reconnects).toBe(0);
    expect(p.accepted).toBeLessThanOrEqual(transport === 'longpoll' ? 3 : 1);
    expect(c.status.state).toBe('open');
    void s;
  });

  it.each(ALL)('%s: a connection that goes silent after its hello is replaced within heartbeatTimeout', async (transport) => {
    const { s, p } = await setup(server);
    const c = client(p, { transports: [transport], heartbeatTimeout: HB });
    await opened(c);
    const got: number[] = [];
    c.on('n', (d: number) => got.push(d));
    await s.push.publish('n', 0);
    await until(() => got.length === 1, 3000, 'first event');
    // every open stream (for long-poll: the poll being held) now passes nothing, and stays open
    await until(() => p.freeze() > 0, 3000, 'a stream to freeze');
    const t0 = performance.now();
    await s.push.publish('n', 1); // lost on the frozen connection, replayed on the new one
    const detected = await new Promise<number>((r) => c.lifecycle.on('reconnecting', () => r(performance.now() - t0)));
    await until(() => got.length === 2, 5000, 'the event after the replacement');
    const back = performance.now() - t0;
    console.log(
      `[fault] silent ${transport} connection: detected after ${Math.round(detected)} ms ` +
        `(heartbeatTimeout ${HB}), events flowing again after ${Math.round(back)} ms`,
    );
    expect(got).toEqual([0, 1]);
    expect(detected).toBeLessThan(HB + HB / 4 + 1000); // the timer checks every heartbeatTimeout/4
    expect(c.status).toMatchObject({ state: 'open', transport });
  });
});

/** Runs `f` with the clock `ms` ahead, as after a sleep during which no timer ran. */
function later<T>(ms: number, f: () => T): T {
  const real = Date.now;
  Date.now = () => real() + ms;
  try {
    return f();
  } finally {
    Date.now = real;
  }
}

describe('the heartbeat is checked by the clock, not only by a timer (frozen timers)', () => {
  // heartbeatTimeout 60 s: its timer never fires in this test, only the clock can tell.
  const HB = 60_000;

  it.each(ALL)('%s: send() after the deadline drops the dead connection at once and goes out on the next', async (transport) => {
    const { s, p } = await setup({ heartbeatMs: 100_000, pollTimeout: 100_000 });
    const got: unknown[] = [];
    s.push.onMessage((_e, d) => got.push(d));
    const c = client(p, { transports: [transport], heartbeatTimeout: HB });
    await opened(c);
    if (transport === 'longpoll') await until(() => p.count('lp') >= 2, 3000, 'a poll held by the server');
    const first = p.accepted;
    expect(p.freeze()).toBe(1);
    const sent = later(HB + 1000, () => c.send('chat', 'after sleep'));
    expect(c.status.state).toBe('reconnecting'); // at once, in the same call
    await sent;
    await until(() => got.length === 1, 3000, 'the queued send');
    expect(got).toEqual(['after sleep']);
    expect(p.accepted).toBeGreaterThan(first);
    expect(c.status).toMatchObject({ state: 'open', transport });
  });

  it('a page that wakes up (visibilitychange, pageshow, focus) checks the deadline at once', async () => {
    const page = fakePage();
    const { p } = await setup({ heartbeatMs: 100_000 });
    const c = client(p, { transports: ['websocket'], heartbeatTimeout: HB });
    await opened(c);
    for (const [target, type] of [
      [page.document, 'visibilitychange'],
      [page.window, 'pageshow'],
      [page.window, 'focus'],
    ] as const) {
      later(HB / 2, () => target.dispatchEvent(new Event(type)));
      expect(c.status.state).toBe('open'); // before the deadline nothing happens
      p.freeze();
      later(HB + 1000, () => target.dispatchEvent(new Event(type)));
      expect(c.status.state, type).toBe('reconnecting');
      await opened(c);
    }
  });

  it('offline drops the transport at once; online reconnects without waiting out the backoff', async () => {
    const page = fakePage();
    const { s, p } = await setup({ heartbeatMs: 100_000 });
    const c = client(p, { reconnect: { minDelay: 20_000, maxDelay: 30_000 } });
    await opened(c);
    const got: number[] = [];
    c.on('n', (d: number) => got.push(d));
    await s.push.publish('n', 0);
    await until(() => got.length === 1, 3000, 'first event');
    p.freeze(); // the network is gone: nothing would tell the socket
    page.window.dispatchEvent(new Event('offline'));
    expect(c.status.state).toBe('reconnecting');
    await s.push.publish('n', 1); // missed while offline
    const t0 = performance.now();
    page.window.dispatchEvent(new Event('online'));
    await opened(c, 3000);
    await until(() => got.length === 2, 3000, 'the missed event');
    const ms = Math.round(performance.now() - t0);
    console.log(`[fault] online after offline: open again after ${ms} ms (backoff would have been >= 10000 ms)`);
    expect(got).toEqual([0, 1]);
    expect(ms).toBeLessThan(3000);
  });
});

describe('resume point', () => {
  // The hello's `last` gives a client with no event yet its resume point: without it, such a client
  // reconnected with no last-event-id and silently missed what was published while it was away.
  it.each(ALL)('%s: a client that has had no event yet misses none across a drop', async (transport) => {
    const { s, p } = await setup({ heartbeatMs: 100_000 });
    const c = client(p, { transports: [transport] });
    const got: number[] = [];
    const gaps: unknown[] = [];
    c.on('n', (d: number) => got.push(d));
    c.lifecycle.on('gap', (g) => gaps.push(g));
    await opened(c);
    p.down = true;
    p.cutAll();
    await until(() => c.status.state === 'reconnecting', 3000, 'the drop');
    await s.push.publish('n', 1); // while the client is away
    p.down = false;
    await opened(c);
    await s.push.publish('n', 2);
    await until(() => got.includes(2), 3000, 'the event after the reconnect');
    // Either the missed event arrives, or the client is at least told of the gap.
    expect(got.length === 2 || gaps.length > 0, `got ${JSON.stringify(got)}, gaps ${gaps.length}`).toBe(true);
  });
});

/** Browser-like `window` and `document` globals for the client's page hooks, removed after the test. */
function fakePage() {
  const g = globalThis as Record<string, unknown>;
  const window = new EventTarget();
  const document = Object.assign(new EventTarget(), { hidden: false });
  const saved = { addEventListener: g.addEventListener, removeEventListener: g.removeEventListener, document: g.document };
  g.addEventListener = window.addEventListener.bind(window);
  g.removeEventListener = window.removeEventListener.bind(window);
  g.document = document;
  cleanup.add(() => Object.assign(g, saved));
  return { window, document };
}
