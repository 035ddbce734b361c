/**
 * push-client/server on `Bun.serve`: `push.fetch` serves SSE, long-poll and sends, and upgrades
 * WebSockets through Bun's `server.upgrade`; `push.websocket` is Bun's handler for those sockets.
 *
 *   node_modules/.bin/bun examples/hosts/bun.ts      # PORT=3000: http://127.0.0.1:3000/push
 *
 * `start()` runs the same from another module (the tests drive it in a child process); `app`
 * answers the app's other routes.
 */
import { createPushServer, type PushServer, type PushServerOptions } from '../../src/server'; // 'push-client/server' in an app

/** A running example: its push server, its push URL, and how to stop both. */
export interface Started {
  push: PushServer;
  url: string;
  close(): Promise<void>;
}

const notFound = (): Response => new Response('not found', { status: 404 });

export function start({
  port = 3000,
  app = notFound as (request: Request) => Response | Promise<Response>,
  options = {} as PushServerOptions<unknown, Request>,
} = {}): Started {
  const push = createPushServer({ ...options, path: '/push' });
  const server = Bun.serve({
    port,
    hostname: '127.0.0.1',
    // Bun passes its server beside the request: push.fetch reads the client's address and upgrades with it.
    fetch: (request, server) => (new URL(request.url).pathname === '/push' ? push.fetch(request, server) : app(request)),
    websocket: push.websocket,
  });
  return {
    push,
    url: `http://127.0.0.1:${server.port}/push`,
    async close() {
      await push.close();
      await server.stop(true);
    },
  };
}

if (import.meta.main) {
  const { push, url } = start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`push server on ${url}: publishing "time" every second`);
  setInterval(() => void push.publish('time', new Date().toISOString()), 1000);
}
