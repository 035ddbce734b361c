/**
 * The tests of a host example in a child process (Bun, Deno): the real Node PushClient on every
 * transport, the WebSocket's answers to bad input, the origin check on the upgrade, and that
 * `push.close()` releases everything (the process then ends by itself). Called by one test file
 * per runtime, so that each stays short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PushClient } from '../../src/node';
import { cleanups, sleep } from './net';
import { type HostProcess, type RUNTIMES, startHost } from './host-process';
import { opened, take } from './push';

const TRANSPORTS = ['websocket', 'eventsource', 'longpoll'] as const;
const ALLOWED = 'http://allowed.test';

/** Resolves once `cond()` resolves true, asking every 20 ms; rejects after `ms`. */
async function eventually(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function hostSuite(runtime: keyof typeof RUNTIMES): void {
  let host: HostProcess;
  const cleanup = cleanups();
  beforeAll(async () => {
    // heartbeatMs 2000: Deno pings a WebSocket every idleTimeout/2 (heartbeatMs in seconds), and after
    // a peer that vanished its ping timer keeps the process up until the next tick; short, the exit
    // test below is not held up by it.
    host = await startHost(runtime, { options: { heartbeatMs: 2000, maxMessageSize: 1000, allowOrigins: [ALLOWED] } });
  });
  afterAll(async () => {
    await cleanup.run();
    host?.kill();
  });

  function client(transport: (typeof TRANSPORTS)[number]): PushClient<any> {
    const c = new PushClient<any>(host.url, { transports: [transport], reconnect: { minDelay: 20, maxDelay: 100 } });
    cleanup.add(() => c.close());
    return c;
  }

  describe.each(TRANSPORTS)(`${runtime}: %s`, (transport) => {
    it('delivers a burst of 500 events in order, a send reaches onMessage, sendTo reaches that connection only', async () => {
      const a = client(transport);
      const b = client(transport);
      expect((await opened(a)).transport).toBe(transport);
      await opened(b);
      const gotA = take(a, 502, ['n', 'n:end', 'only']);
      const gotB = take(b, 501, ['n', 'n:end', 'only']);
      await host.command('publishRange', { event: 'n', count: 500 });
      const tag = `${transport}-${Math.random()}`;
      await a.send('hi', tag);
      let messages: [string, unknown, string, string][] = [];
      await eventually(async () => (messages = await host.command('messages')).some((m) => m[1] === tag), 5000, 'the send');
      const sender = messages.find((m) => m[1] === tag)!;
      expect(sender.slice(0, 3)).toEqual(['hi', tag, transport]);
      await host.command('sendTo', { id: sender[3], event: 'only', data: 'for a' });
      const fromA = await gotA;
      expect(fromA.filter((e) => e.event === 'n').map((e) => e.data)).toEqual([...Array(500).keys()]);
      expect(fromA.filter((e) => e.event === 'only').map((e) => e.data)).toEqual(['for a']);
      expect(fromA.every((e) => e.transport === transport)).toBe(true);
      expect((await gotB).filter((e) => e.event === 'n').length).toBe(500);
      a.close();
      b.close();
    });

    it('connections the server closes come back and resume: nothing lost, nothing twice', async () => {
      const c = client(transport);
      await opened(c);
      const got = take(c, 20, ['r']);
      for (let i = 0; i < 10; i++) await host.command('publish', { event: 'r', data: i });
      await host.command('closeConnections');
      for (let i = 10; i < 20; i++) await host.command('publish', { event: 'r', data: i });
      expect((await got).map((e) => e.data)).toEqual([...Array(20).keys()]);
      c.close();
    });
  });

  describe(`${runtime}: WebSocket checks`, () => {
    /** A raw WebSocket to the push path: its close code, or the refused upgrade's status. */
    function rawSocket(send: (ws: WebSocket) => void, headers: Record<string, string> = {}): Promise<{ code?: number; status?: number }> {
      return new Promise((resolve) => {
        const ws = new WebSocket(host.url.replace('http', 'ws') + '?t=ws', { headers });
        ws.on('message', (data) => {
          if (String(data).includes('$hello')) send(ws);
        });
        ws.on('close', (code) => resolve({ code }));
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode });
          ws.terminate();
        });
        ws.on('error', () => {});
      });
    }

    it('closes with 1003 on a binary frame, 1007 on text that is not JSON, 1009 above maxMessageSize', async () => {
      expect(await rawSocket((ws) => ws.send(Buffer.from([1, 2, 3])))).toEqual({ code: 1003 });
      expect(await rawSocket((ws) => ws.send('not json'))).toEqual({ code: 1007 });
      expect(await rawSocket((ws) => ws.send(JSON.stringify({ e: 'big', d: 'x'.repeat(2000) })))).toEqual({ code: 1009 });
    });

    it('refuses an upgrade from another site with 403, lets an allowed origin in', async () => {
      expect(await rawSocket(() => {}, { origin: 'http://evil.test' })).toEqual({ status: 403 });
      expect(await rawSocket((ws) => ws.close(1000), { origin: ALLOWED })).toEqual({ code: 1000 });
    });
  });

  describe(`${runtime}: close()`, () => {
    it('push.close() ends every connection and releases what it made: the process then ends by itself', async () => {
      const clients = TRANSPORTS.map((t) => client(t));
      await Promise.all(clients.map((c) => opened(c)));
      await eventually(async () => (await host.command('connections')).length === 3, 5000, 'three connections');
      const ms = await host.close(5000);
      expect(ms).toBeLessThan(5000);
    });
  });
}
