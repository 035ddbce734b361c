/**
 * push-client/server on `Deno.serve`: `push.fetch` serves SSE, long-poll and sends, and upgrades
 * WebSockets with `Deno.upgradeWebSocket`.
 *
 *   node_modules/.bin/deno run -A --sloppy-imports examples/hosts/deno.ts      # PORT=3000: http://127.0.0.1:3000/push
 *
 * (`--sloppy-imports` because this repository's sources import without file extensions; an app
 * importing `push-client/server` from npm needs no flag.)
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
  const server = Deno.serve(
    // onListen given: Deno's own "Listening on" line would go to stdout.
    { port, hostname: '127.0.0.1', onListen: () => {} },
    // Deno passes its handler info beside the request: push.fetch reads the client's address there.
    (request, info) => (new URL(request.url).pathname === '/push' ? push.fetch(request, info) : app(request)),
  );
  return {
    push,
    url: `http://127.0.0.1:${server.addr.port}/push`,
    async close() {
      // Streams and held polls end first, so that shutdown (which waits for open requests) can finish.
      await push.close();
      await server.shutdown();
    },
  };
}

if (import.meta.main) {
  const { push, url } = start({ port: Number(process.env.PORT ?? 3000) });
  console.log(`push server on ${url}: publishing "time" every second`);
  setInterval(() => void push.publish('time', new Date().toISOString()), 1000);
}
