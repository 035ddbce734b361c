/**
 * The open core (issue 12): transports are values the app passes, a fourth one written here, outside
 * src/, works like the built-in ones; the reconnect policy may be a function; a connection that
 * delivered events counts as a success for the backoff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  PushClient,
  PushError,
  SseParser,
  TRANSPORT_TAGS,
  isBatch,
  unbatch,
  webSocket,
  type SseEvent,
  type Transport,
  type TransportDefinition,
} from '../src/core';
import { cleanups, sleep, until } from './helpers/net';
import { startProxiedPush, startPush, take } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

/**
 * A transport written by an app: the server's SSE stream read with `fetch` and a streaming parser
 * (what centrifuge calls http_stream). It has its own name, and asks the server for its SSE route
 * (tag `sse`), whose wire format it shares. Receive-only: sends reject.
 */
const httpStream: TransportDefinition = {
  name: 'httpstream',
  tag: TRANSPORT_TAGS.eventsource,
  scheme: 'http',
  create(options) {
    const abort = new AbortController();
    let stopped = false;
    const transport: Transport = {
      connect() {
        (async () => {
          const res = await fetch(options.url, { signal: abort.signal });
          if (!res.ok || !res.body) throw new PushError('TRANSPORT_FAILED', `http stream: HTTP ${res.status}`);
          const deliver = (e: SseEvent) => !stopped && transport.onreceive(e);
          // Our server sends a tick's events as one `$batch` message: each inside keeps its own id.
          const parser = new SseParser((e) => (isBatch(e) ? unbatch(e, options.maxMessageSize, deliver) : deliver(e)), undefined, options.maxMessageSize);
          const decoder = new TextDecoder();
          const reader = res.body.getReader();
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) parser.push(decoder.decode(chunk.value, { stream: true }));
          throw new PushError('TRANSPORT_FAILED', 'http stream ended');
        })().catch((e) => {
          if (stopped) return;
          stopped = true;
          transport.onclose(e instanceof PushError ? e : new PushError('TRANSPORT_FAILED', 'http stream failed', { cause: e }));
        });
      },
      send: () => Promise.reject(new PushError('SEND_UNSUPPORTED', 'http stream is receive-only')),
      stop() {
        stopped = true;
        abort.abort();
      },
      onreceive: () => {},
      onclose: () => {},
      onerror: () => {},
    };
    return transport;
  },
};

describe('transports as values', () => {
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
    expect(changes).toEqual([{ from: null, to: 'httpstream' }]);
  });

  it('push-client/core has no transport of its own: without `transports` it is a BAD_OPTION', () => {
    expect(() => new PushClient('http://127.0.0.1:9/', { autoConnect: false })).toThrow(/"transports" must be a non-empty array/);
    expect(() => new PushClient('http://127.0.0.1:9/', { transports: ['websocket' as never], autoConnect: false })).toThrow(/"transports" names "websocket"/);
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
