import http from 'node:http';
import { createPushServer, type PushServerOptions } from '../../src/server';
import { PushClient } from '../../src/node';
import type { PushClientOptions } from '../../src';
import { listen, shut } from './net';
import { startProxy } from './proxy';

type ServerOptions = Omit<PushServerOptions, 'server'>;

/**
 * A real push server on 127.0.0.1 behind a gate: `gate.ws = false` answers WebSocket upgrades with
 * 403 as a corporate proxy does; `gate.sse = false` / `gate.lp = false` answer those with 502 (a 403
 * on an HTTP request would be fatal by design).
 */
export async function startPush(options: ServerOptions & { port?: number } = {}) {
  const { port: fixed, ...serverOptions } = options;
  const push = createPushServer({ path: '/push', ...serverOptions });
  const gate = { ws: true, sse: true, lp: true };
  const server = http.createServer((req, res) => {
    const t = new URL(req.url!, 'http://x').searchParams.get('t');
    if ((t === 'sse' && !gate.sse) || (t === 'lp' && !gate.lp)) {
      res.writeHead(502).end('gate closed');
      return;
    }
    if (!push.handleRequest(req, res)) res.writeHead(404).end('not found');
  });
  server.on('upgrade', (req, socket, head) => {
    if (!gate.ws) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!push.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const port = await listen(server, fixed);
  const url = `http://127.0.0.1:${port}/push`;
  const clients: PushClient<any>[] = [];
  return {
    push,
    gate,
    server,
    port,
    url,
    /** A Node client on this server; closed by `stop()`. */
    client<E extends Record<string, any> = Record<string, any>>(opts: PushClientOptions = {}) {
      const c = new PushClient<E>(url, opts);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await push.close();
      await shut(server);
    },
  };
}

/**
 * A push server (`retryMs` 0 unless `server` says otherwise) behind the fault suite's proxy, both
 * stopped by `cleanup` (from `cleanups()` in ./net) after the test.
 */
export async function startProxiedPush(cleanup: { add(f: () => unknown): void }, server: Parameters<typeof startPush>[0] = {}) {
  const s = await startPush({ retryMs: 0, ...server });
  cleanup.add(() => s.stop());
  const p = await startProxy(s.port);
  cleanup.add(() => p.close());
  return { s, p };
}

/** Collects `n` events of the given names, in order of arrival. */
export function take(client: PushClient<any>, n: number, names: string[] = [], ms = 10000) {
  const got: { event: string; data: any; id?: string; transport: string; channel?: string }[] = [];
  return new Promise<typeof got>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} events: ${JSON.stringify(got.slice(-3))}`)), ms);
    const on = (event: string, data: unknown, meta: { id?: string; transport: string; channel?: string }) => {
      if (names.length && !names.includes(event)) return;
      got.push({ event, data, id: meta.id, transport: meta.transport, ...(meta.channel ? { channel: meta.channel } : {}) });
      if (got.length === n) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    };
    const off = client.onAny(on);
  });
}

/** Resolves with the client's status once it is open. */
export function opened(client: PushClient<any>, ms = 10000) {
  return new Promise<PushClient['status']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not open: ' + JSON.stringify(client.status))), ms);
    const off = client.subscribe((s) => {
      if (s.state !== 'open') return;
      clearTimeout(timer);
      queueMicrotask(() => off());
      resolve(s);
    });
  });
}

/** Open connections on the server (a Set or an array, depending on the server's version). */
export const live = (push: { connections: unknown }) => [...(push.connections as Iterable<unknown>)].length;
