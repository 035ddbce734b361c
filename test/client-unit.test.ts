import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, defaultReconnect } from '../src/client/backoff';
import { withBuiltInTransports } from '../src/client/named-transports';
import { resolveOptions as resolveCore, type PushUrl } from '../src/client/options';
import { createResumePoint } from '../src/client/resume';

/** Options as `push-client` resolves them: the built-in transports by name. */
const resolveOptions = (url: PushUrl) => resolveCore(url, withBuiltInTransports(url));
import { PushClient, PushError } from '../src';
import { encodeEvent } from '../src/protocol';

describe('resume point', () => {
  it('drops an id seen among the last 256, takes it again once it has left them, and forgets them all on forgetRecent', () => {
    const resume = createResumePoint();
    const ids = Array.from({ length: 600 }, (_, i) => 'e:' + i);
    for (const id of ids.slice(0, 300)) expect(resume.accept(id)).toBe(true);
    expect(resume.get()).toBe('e:299');
    // The last 256 (44..299) are duplicates; older ones are not remembered.
    expect(ids.slice(44, 300).filter((id) => resume.accept(id))).toEqual([]);
    expect(resume.accept('e:43')).toBe(true);
    // e:43 pushed e:44 out of the window.
    expect(resume.accept('e:44')).toBe(true);
    expect(resume.accept('e:45')).toBe(true);
    expect(resume.accept('e:299')).toBe(false);
    resume.forgetRecent();
    expect(resume.accept('e:299')).toBe(true);
    for (const id of ids.slice(300)) expect(resume.accept(id)).toBe(true);
    expect(resume.accept('e:299')).toBe(true);
    expect(resume.accept('e:599')).toBe(false);
  });
});

describe('backoff', () => {
  const r = { ...defaultReconnect, minDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 };
  it('grows by factor from minDelay and caps at maxDelay', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(r, a, 0, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('takes away up to `jitter` of the delay', () => {
    expect(backoffDelay(r, 2, 0, () => 1)).toBe(200);
    expect(backoffDelay({ ...r, jitter: 1 }, 2, 0, () => 1)).toBe(0);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(r, 3, 0)));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) expect(d).toBeGreaterThanOrEqual(400), expect(d).toBeLessThanOrEqual(800);
  });
  it("uses the server's retry as a floor", () => {
    expect(backoffDelay(r, 0, 700, () => 0)).toBe(700);
    expect(backoffDelay(r, 0, 50, () => 0)).toBe(100);
  });
});

describe('options', () => {
  it('derives ws:// from http:// and http:// from ws://', () => {
    expect(resolveOptions('http://h/push?a=1').urls).toEqual({
      websocket: 'ws://h/push?a=1',
      eventsource: 'http://h/push?a=1',
      longpoll: 'http://h/push?a=1',
    });
    expect(resolveOptions('wss://h/p').urls.eventsource).toBe('https://h/p');
  });
  it('defaults transports to the keys of a per-transport URL object, in fallback order', () => {
    expect(resolveOptions({ longpoll: 'http://h/lp', websocket: 'ws://h/ws' }).transports.map((t) => t.name)).toEqual(['websocket', 'longpoll']);
  });
  const bad: [unknown, unknown, RegExp][] = [
    ['', undefined, /"url"/],
    ['not a url', undefined, /"url"/],
    ['ftp://h/', undefined, /"url"/],
    [{ websocket: 'http://h' }, undefined, /"url.websocket"/],
    [{ carrier: 'http://h' }, undefined, /unknown transport/],
    ['http://h', { transports: ['smoke'] }, /"transports"/],
    ['http://h', { transports: [] }, /"transports"/],
    [{ eventsource: 'http://h' }, { transports: ['websocket'] }, /no URL/],
    ['http://h', { connectTimeout: -1 }, /"connectTimeout"/],
    // Longer than a timer can wait: it would fire at once, every time (a hot loop of probes or checks).
    ['http://h', { upgradeInterval: 2 ** 31 }, /"upgradeInterval" must be a number >= 0 and <= 2147483647/],
    ['http://h', { heartbeatTimeout: 1e10 }, /"heartbeatTimeout"/],
    ['http://h', { connectTimeout: Infinity }, /"connectTimeout"/],
    ['http://h', { reconnect: { jitter: 2 } }, /"reconnect.jitter"/],
    ['http://h', { reconnect: { minDelay: 10, maxDelay: 5 } }, /"reconnect.maxDelay"/],
    ['http://h', { query: 'a=1' }, /"query"/],
    ['http://h', { decode: 1 }, /"decode"/],
    ['http://h', { channels: 'a' }, /"channels"/],
    ['http://h', { channels: ['a\nb'] }, /"channels"/],
  ];
  it.each(bad)('rejects %j %j with BAD_OPTION naming the option', (url, opts, msg) => {
    let err: unknown;
    try {
      new PushClient(url as string, { autoConnect: false, ...(opts as object) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PushError);
    expect((err as PushError).code).toBe('BAD_OPTION');
    expect((err as PushError).message).toMatch(msg);
  });
});

describe('PushClient without a connection', () => {
  it('queues sends up to maxQueued, then rejects with QUEUE_FULL; close() rejects the queue with CLOSED', async () => {
    const c = new PushClient('http://127.0.0.1:9/', { autoConnect: false, maxQueued: 2 });
    const a = c.send('x', 1);
    const b = c.send('x', 2);
    await expect(c.send('x', 3)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    c.close();
    await expect(a).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(b).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(c.send('x', 4)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(c.status.state).toBe('closed');
  });
  it('rejects bad event names at send', async () => {
    const c = new PushClient('http://127.0.0.1:9/', { autoConnect: false });
    await expect(c.send('$hello')).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(c.send('')).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
  it('subscribe() calls back at once and on every status change, with frozen snapshots', () => {
    const c = new PushClient('http://127.0.0.1:9/', { autoConnect: false });
    const seen: string[] = [];
    const off = c.subscribe((s) => {
      expect(Object.isFrozen(s)).toBe(true);
      seen.push(s.state);
    });
    c.close();
    off();
    expect(seen).toEqual(['idle', 'closed']);
  });
});

describe("dead-connection timeout and the server's heartbeat interval", () => {
  afterEach(() => void vi.useRealTimers());

  /** A WebSocket stand-in that opens, says hello with the given heartbeat interval, then stays silent. */
  const silentAfterHello = (hb: number) =>
    class {
      readyState = 0;
      binaryType = '';
      onmessage: ((m: { data: string }) => void) | null = null;
      onclose: ((c: { code: number; reason: string }) => void) | null = null;
      onerror: (() => void) | null = null;
      constructor() {
        setTimeout(() => {
          this.readyState = 1;
          this.onmessage?.({ data: encodeEvent('$hello', JSON.stringify({ cid: 'c', epoch: 'e', replay: true, hb })) });
        }, 1);
      }
      send() {}
      close() {}
    } as unknown as typeof WebSocket;

  /** When the client gives the silent connection up, in ms after its hello (fake clock); throws if it never does within 300 s. */
  async function givesUpAfter(hb: number, heartbeatTimeout?: number) {
    vi.useFakeTimers();
    const c = new PushClient('http://127.0.0.1:9/push', { transports: ['websocket'], WebSocket: silentAfterHello(hb), heartbeatTimeout });
    await vi.advanceTimersByTimeAsync(5);
    expect(c.status.state).toBe('open');
    const opened = Date.now();
    let dropped: number | undefined;
    c.lifecycle.on('reconnecting', () => (dropped ??= Date.now()));
    for (let i = 0; i < 300 && dropped === undefined; i++) await vi.advanceTimersByTimeAsync(1000);
    c.close();
    if (dropped === undefined) throw new Error('the silent connection was never given up');
    return dropped - opened;
  }

  it('by default waits 45 s, or twice the interval plus 5 s where that is longer; a given heartbeatTimeout is kept as it is', async () => {
    const usual = await givesUpAfter(15_000); // the server's default: 2 × 15 s + 5 s is under 45 s
    expect(usual).toBeGreaterThan(45_000);
    expect(usual).toBeLessThanOrEqual(45_000 + 45_000 / 4 + 1000);
    const long = await givesUpAfter(30_000); // a server beating every 30 s can be quiet for up to 60 s
    expect(long).toBeGreaterThan(65_000);
    expect(long).toBeLessThanOrEqual(65_000 + 65_000 / 4 + 1000);
    const given = await givesUpAfter(30_000, 10_000); // not raised to 65 s by the server's interval
    expect(given).toBeGreaterThan(10_000);
    expect(given).toBeLessThanOrEqual(10_000 + 10_000 / 4 + 1000);
  });

  it('a server announcing an absurd heartbeat interval does not turn the check into a hot timer loop', async () => {
    vi.useFakeTimers();
    const c = new PushClient('http://127.0.0.1:9/push', { transports: ['websocket'], WebSocket: silentAfterHello(1e10) });
    await vi.advanceTimersByTimeAsync(5);
    expect(c.status.state).toBe('open');
    const timers = vi.spyOn(globalThis, 'setTimeout');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(timers.mock.calls.length).toBeLessThan(5);
    c.close();
  });
});
