/**
 * The open core (issue 12): transports are values the app passes, a fourth one written here, outside
 * src/, works like the built-in ones; the reconnect policy may be a function; a connection that
 * delivered events counts as a success for the backoff.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PushClient, TRANSPORT_TAGS, channels, eventSource, longPoll, upgrade, webSocket } from '../src/core';
import { cleanups, sleep, until } from './helpers/net';
import { startProxiedPush, startPush, take } from './helpers/push';
import { httpStream } from '../examples/http-stream-transport';

const cleanup = cleanups();
afterEach(() => cleanup.run());

/** The example docs/open-core.md prints, as it is printed (checked below). */
const EXAMPLE = 'examples/http-stream-transport.ts';

describe('transports as values', () => {
  it('docs/open-core.md prints the example transport exactly as the file this test runs', () => {
    const docs = readFileSync('docs/open-core.md', 'utf8');
    const block = /```ts\n(import \{ PushError, SseParser[\s\S]*?)```/.exec(docs)?.[1];
    expect(block, 'the example block in docs/open-core.md').toBeDefined();
    expect(block).toBe(readFileSync(EXAMPLE, 'utf8'));
  });

  it('a transport written outside src/ receives, reports its name, and resumes without loss after the server drops it', async () => {
    const s = await startPush({ retryMs: 0 });
    cleanup.add(() => s.stop());
    const client = new PushClient(s.url, { transports: [httpStream], reconnect: { minDelay: 10, maxDelay: 50 } });
    cleanup.add(() => client.close());
    const first = take(client, 3);
    await until(() => client.status.state === 'open', 5000, 'open');
    expect(client.status.transport).toBe('httpstream');
    for (let i = 1; i <= 3; i++) await s.push.publish('n', i);
    expect((await first).map((e) => [e.data, e.transport])).toEqual([
      [1, 'httpstream'],
      [2, 'httpstream'],
      [3, 'httpstream'],
    ]);
    const rest = take(client, 3);
    for (const c of s.push.connections) c.close();
    for (let i = 4; i <= 6; i++) await s.push.publish('n', i); // published while the client is away
    expect((await rest).map((e) => e.data)).toEqual([4, 5, 6]);
    await expect(client.send('x', 1)).rejects.toMatchObject({ code: 'SEND_UNSUPPORTED' });
  });

  it("falls back from a built-in transport to the app's own, by the same rules, and a per-transport URL object names it", async () => {
    const s = await startPush();
    cleanup.add(() => s.stop());
    s.gate.ws = false; // a proxy refuses WebSocket upgrades
    const wsUrl = s.url.replace('http', 'ws');
    const client = new PushClient(
      { websocket: wsUrl, httpstream: s.url },
      { transports: [webSocket, httpStream], WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, rememberTransport: 0, upgradeInterval: 0 },
    );
    cleanup.add(() => client.close());
    const changes: unknown[] = [];
    client.lifecycle.on('transport', (t) => changes.push(t));
    await until(() => client.status.state === 'open', 5000, 'open');
    expect(client.status.transport).toBe('httpstream');
    // The reason of the move is the WebSocket's failure: its upgrade refused, with ws's own words as the cause.
    expect(changes).toEqual([
      { from: null, to: 'httpstream', reason: expect.objectContaining({ code: 'TRANSPORT_FAILED', message: 'WebSocket did not open (1006)' }) },
    ]);
    expect(String((changes[0] as { reason: { cause: { message: string } } }).reason.cause.message)).toContain('403');
  });

  it('push-client/core has no transport of its own: without `transports` it is a BAD_OPTION', () => {
    expect(() => new PushClient('http://127.0.0.1:9/', { autoConnect: false })).toThrow(/"transports" must be a non-empty array/);
    expect(() => new PushClient('http://127.0.0.1:9/', { transports: ['websocket' as never], autoConnect: false })).toThrow(/"transports" names "websocket"/);
  });
});

describe('features as values', () => {
  it('each built-in transport carries the route tag the server reads', () => {
    expect([webSocket.tag, eventSource.tag, longPoll.tag]).toEqual([TRANSPORT_TAGS.websocket, TRANSPORT_TAGS.eventsource, TRANSPORT_TAGS.longpoll]);
  });

  it('without the channels feature, join and leave reject with BAD_OPTION naming it, and events still flow', async () => {
    const s = await startPush();
    cleanup.add(() => s.stop());
    const client = new PushClient(s.url, { transports: [webSocket], WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    cleanup.add(() => client.close());
    await expect(client.join('room')).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('channels feature') });
    await expect(client.leave('room')).rejects.toMatchObject({ code: 'BAD_OPTION' });
    expect(client.channels).toEqual([]);
    const got = take(client, 1);
    await until(() => client.status.state === 'open', 5000, 'open');
    await s.push.publish('n', 1);
    expect((await got).map((e) => e.data)).toEqual([1]);
  });

  it('with the channels feature, join is acknowledged and channel events arrive', async () => {
    const s = await startPush();
    cleanup.add(() => s.stop());
    const client = new PushClient(s.url, { transports: [webSocket], features: [channels], WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    cleanup.add(() => client.close());
    await client.join('room');
    expect(client.channels).toEqual(['room']);
    const got = take(client, 1);
    await s.push.publish('n', 'in the room', { channel: 'room' });
    expect((await got).map((e) => [e.data, e.channel])).toEqual([['in the room', 'room']]);
  });

  it('upgrade probes run only with the upgrade feature: a client on its fallback moves back to WebSocket with it, stays without it', async () => {
    const s = await startPush();
    cleanup.add(() => s.stop());
    s.gate.ws = false;
    const options = {
      transports: [webSocket, longPoll],
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      upgradeInterval: 50,
      lastEventId: '0',
    };
    const withUpgrade = new PushClient(s.url, { ...options, features: [upgrade] });
    const without = new PushClient(s.url, options);
    cleanup.add(() => (withUpgrade.close(), without.close()));
    await until(() => withUpgrade.status.state === 'open' && without.status.state === 'open', 5000, 'both open');
    expect([withUpgrade.status.transport, without.status.transport]).toEqual(['longpoll', 'longpoll']);
    s.gate.ws = true;
    const upgraded = new Promise((resolve) => withUpgrade.lifecycle.on('transport', resolve));
    expect(await upgraded).toEqual({ from: 'longpoll', to: 'websocket' });
    // The client without the feature made no WebSocket attempt since it opened: the server saw one connection of it.
    expect(s.push.connections.filter((c) => c.transport === 'websocket')).toHaveLength(1);
    expect(without.status.transport).toBe('longpoll');
  });
});

describe('reconnect policy as a function', () => {
  it('is called with attempt, error and elapsed; null gives up with MAX_RETRIES', async () => {
    const s = await startPush();
    cleanup.add(() => s.stop());
    s.gate.ws = false;
    const seen: { attempt: number; code?: string; elapsed: number }[] = [];
    const client = new PushClient(s.url, {
      transports: [webSocket],
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      reconnect: ({ attempt, error, elapsed }) => {
        seen.push({ attempt, code: error?.code, elapsed });
        return attempt < 3 ? 20 : null;
      },
    });
    cleanup.add(() => client.close());
    await until(() => client.status.state === 'closed', 5000, 'closed');
    expect(seen.map((x) => [x.attempt, x.code])).toEqual([
      [0, 'TRANSPORT_FAILED'],
      [1, 'TRANSPORT_FAILED'],
      [2, 'TRANSPORT_FAILED'],
      [3, 'TRANSPORT_FAILED'],
    ]);
    // Elapsed counts from connect(): it grows by at least the delays waited.
    expect(seen[3].elapsed).toBeGreaterThanOrEqual(60);
    expect(seen[3].elapsed).toBeGreaterThan(seen[0].elapsed);
    expect(client.status.error).toMatchObject({ code: 'MAX_RETRIES' });
  });

  it('never waits less than the server asked (its retry), whatever the policy says', async () => {
    const s = await startPush({ retryMs: 300 });
    cleanup.add(() => s.stop());
    const client = new PushClient(s.url, { transports: [webSocket], WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, reconnect: () => 0 });
    cleanup.add(() => client.close());
    await until(() => client.status.state === 'open', 5000, 'open');
    const delays: number[] = [];
    client.lifecycle.on('reconnecting', (r) => delays.push(r.delay));
    for (const c of s.push.connections) c.close();
    await until(() => delays.length > 0, 5000, 'reconnecting');
    expect(delays[0]).toBe(300);
  });
});

describe('a connection that delivered events is a success', () => {
  it('long-poll cut every 0.25-0.55 s while events flow: the backoff never grows, and the last event arrives promptly', async () => {
    const { s, p } = await startProxiedPush(cleanup);
    const client = new PushClient(p.url(), {
      transports: [(await import('../src/core')).longPoll],
      reconnect: { minDelay: 100, maxDelay: 14000, jitter: 0 },
    });
    cleanup.add(() => client.close());
    await until(() => client.status.state === 'open', 5000, 'open');
    const attempts: number[] = [];
    client.lifecycle.on('reconnecting', (r) => attempts.push(r.attempt));
    const total = 300;
    const got = take(client, total, ['n'], 20000);
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await sleep(250 + Math.random() * 300); // the behaviour under test: cuts at random intervals
        p.cutAll();
      }
    })();
    // 300 events over about 3 s: every connection delivers some before it is cut.
    for (let i = 1; i <= total; i++) {
      await s.push.publish('n', i);
      if (i % 10 === 0) await sleep(100); // the behaviour under test: publishes spread over the cuts
    }
    const publishedAt = Date.now();
    const events = await got;
    const lastArrivedAfter = Date.now() - publishedAt;
    cutting = false;
    await cutter;
    expect(events.map((e) => e.data)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    // Each cut connection had delivered events: every reconnect is a first attempt again.
    expect(Math.max(...attempts)).toBeLessThanOrEqual(2);
    expect(lastArrivedAfter).toBeLessThan(3000);
  });
});
