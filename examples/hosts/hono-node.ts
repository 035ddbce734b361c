/**
 * push-client/server in a Hono app on Node (@hono/node-server): `push.fetch` serves SSE, long-poll
 * and sends from a Hono route; WebSocket upgrades, which Node hands to the HTTP server and not to
 * `fetch`, are served by `push.handleUpgrade` on the same server.
 *
 *   node --import tsx examples/hosts/hono-node.ts      # PORT=3000: http://127.0.0.1:3000/push
 *
 * `start()` runs the same in-process (the tests use it); `app` brings your other routes.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type HttpBindings, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createPushServer, type PushServerOptions } from '../../src/server'; // 'push-client/server' in an app

/** A running example: its push server, its push URL, and how to stop both. */
export interface Started {
  push: ReturnType<typeof createPushServer>;
  url: string;
  close(): Promise<void>;
}

export async function start({
  port = 3000,
  app = new Hono<{ Bindings: HttpBindings }>(),
  options = {} as PushServerOptions<unknown, any>,
} = {}): Promise<Started> {
  const push = createPushServer({ ...options, path: '/push' });
  // c.env is @hono/node-server's { incoming, outgoing }: push.fetch reads the client's address there.
  app.all('/push', (c) => push.fetch(c.req.raw, c.env));
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  server.on('upgrade', (req, socket, head) => push.handleUpgrade(req, socket, head) || socket.destroy());
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  return {
    push,
    url,
    async close() {
      await push.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { push, url } = await start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`push server on ${url}: publishing "time" every second`);
  setInterval(() => void push.publish('time', new Date().toISOString()), 1000);
}
