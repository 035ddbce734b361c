/**
 * The Next.js App Router route handler (examples/hosts/next/app/push/route.ts) without Next: a
 * small Node server turns each request into a `Request` (@hono/node-server's `getRequestListener`,
 * as Next's own server does) and calls the route module's GET, POST, DELETE or OPTIONS. The real
 * client gets events over SSE and long-poll, sends, and falls back from WebSocket by itself.
 */
import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as route from '../examples/hosts/next/app/push/route';
import { push } from '../examples/hosts/next/lib/push';
import { PushClient } from '../src/node';
import { cleanups, listen, shut, until } from './helpers/net';
import { opened, take } from './helpers/push';

const METHODS: Record<string, ((request: Request) => Promise<Response>) | undefined> = {
  GET: route.GET,
  POST: route.POST,
  DELETE: route.DELETE,
  OPTIONS: route.OPTIONS,
};

let server: http.Server;
let url: string;
const cleanup = cleanups();
afterEach(() => cleanup.run());

beforeAll(async () => {
  // What Next does for app/push/route.ts: the route's path, the method's export, else 405.
  server = http.createServer(
    getRequestListener((request) => {
      if (new URL(request.url).pathname !== '/push') return new Response('not found', { status: 404 });
      const handler = METHODS[request.method];
      return handler ? handler(request) : new Response(null, { status: 405 });
    }),
  );
  url = `http://127.0.0.1:${await listen(server)}/push`;
});
afterAll(async () => {
  await push.close();
  await shut(server);
});

function client(transports?: ('websocket' | 'eventsource' | 'longpoll')[]): PushClient<any> {
  const c = new PushClient<any>(url, { ...(transports ? { transports } : {}), reconnect: { minDelay: 20, maxDelay: 100 } });
  cleanup.add(() => c.close());
  return c;
}

describe('Next.js route handler', () => {
  it('exports only what a route module may: the methods and the segment config', () => {
    expect(Object.keys(route).sort()).toEqual(['DELETE', 'GET', 'OPTIONS', 'POST', 'dynamic', 'runtime']);
    expect(route.runtime).toBe('nodejs');
  });

  it.each(['eventsource', 'longpoll'] as const)('%s: 200 events in order, and a send reaches onMessage', async (transport) => {
    const c = client([transport]);
    expect((await opened(c)).transport).toBe(transport);
    const sent: unknown[] = [];
    const off = push.onMessage((event, data, conn) => void sent.push([event, data, conn.transport]));
    cleanup.add(off);
    const got = take(c, 200, ['n']);
    for (let i = 0; i < 200; i++) void push.publish('n', i);
    expect((await got).map((e) => e.data)).toEqual([...Array(200).keys()]);
    await c.send('hi', transport);
    await until(() => sent.length === 1);
    expect(sent).toEqual([['hi', transport, transport]]);
    // The client's close ends its long-poll session with a DELETE through the route's export.
    c.close();
    await until(() => push.connections.length === 0, 3000, 'the connection to end');
  });

  it('a client with the default transports falls back from WebSocket (no upgrade in a route handler) to SSE', async () => {
    const c = client();
    expect((await opened(c)).transport).toBe('eventsource');
  });
});
