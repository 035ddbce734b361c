/**
 * A plain SSE server's `retry:` with every EventSource push-client may be given in Node: our
 * FetchEventSource (the default), the `eventsource` package in majors 2, 4 and 5, and
 * event-source-polyfill. The server sends `retry: 1500`, one event with an id, and ends the stream;
 * the client reconnects fast by its own policy (minDelay 10 ms), yet the next request must come no
 * sooner than 1.5 s after the end, and carry the id (`Last-Event-ID`, or the `lastEventId` query
 * parameter event-source-polyfill sends instead). Headers given to the client reach the server
 * through every one of them. Then the same EventSources on a push-client server that authorizes by
 * header: events, sends, and resume after the server cuts every connection.
 */
import http from 'node:http';
import { EventSourcePolyfill } from 'event-source-polyfill';
import { EventSource as EventSource5 } from 'eventsource';
import EventSource2 from 'eventsource-v2';
import { EventSource as EventSource4 } from 'eventsource-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createPushServer } from '../src/server';
import { FetchEventSource, PushClient, type EventSourceClass } from '../src/node';
import { cleanups, listen, shut, sleep, until } from './helpers/net';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const RETRY = 1500;

// Every one sends the client's headers: the `eventsource` package 4 and 5 through the `fetch` the transport gives it.
const kinds: [name: string, EventSource: EventSourceClass][] = [
  ['FetchEventSource (the Node default)', FetchEventSource],
  ['eventsource 2', EventSource2 as unknown as EventSourceClass],
  ['eventsource 4', EventSource4 as unknown as EventSourceClass],
  ['eventsource 5', EventSource5 as unknown as EventSourceClass],
  ['event-source-polyfill', EventSourcePolyfill as unknown as EventSourceClass],
];

/** A plain SSE server: its first response sends `retry:`, an event with id 1 and ends; later ones send event 2 and stay open. */
async function plainServer(first: string) {
  const requests: { url: URL; headers: http.IncomingHttpHeaders; at: number }[] = [];
  let ended = 0;
  const server = http.createServer((req, res) => {
    requests.push({ url: new URL(req.url!, 'http://x'), headers: req.headers, at: performance.now() });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (requests.length === 1) res.end(first, () => (ended = performance.now()));
    else res.write('id: 2\ndata: "two"\n\n');
  });
  const port = await listen(server);
  cleanup.add(() => shut(server));
  return { url: `http://127.0.0.1:${port}/events`, requests, ended: () => ended };
}

function client(url: string, EventSource: EventSourceClass, headers?: Record<string, string>) {
  const c = new PushClient({ eventsource: url }, { EventSource, headers, reconnect: { minDelay: 10, maxDelay: 50 } });
  cleanup.add(() => c.close());
  const got: unknown[] = [];
  c.on('message', (data) => got.push(data));
  return { c, got };
}

describe.each(kinds)('a plain server’s retry: with %s', (_name, EventSource) => {
  it(`the next request comes no sooner than ${RETRY} ms after the stream ended, with the last id, and the events go on`, async () => {
    const s = await plainServer(`retry: ${RETRY}\nid: 1\ndata: "one"\n\n`);
    const { c, got } = client(s.url, EventSource, { authorization: 'Bearer t' });
    await until(() => got.length === 2, 10_000, 'the event after the reconnect');
    expect(got).toEqual(['one', 'two']);
    // A timer may fire up to a millisecond early by the clock; nothing else may be early.
    expect(s.requests[1].at - s.ended()).toBeGreaterThanOrEqual(RETRY - 2);
    const resumed = s.requests[1].headers['last-event-id'] ?? s.requests[1].url.searchParams.get('lastEventId');
    expect(resumed).toBe('1');
    expect(s.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t', 'Bearer t']);
    expect(c.status).toMatchObject({ state: 'open', transport: 'eventsource' });
    expect(c.lastEventId).toBe('2');
    expect(s.requests).toHaveLength(2);
  });

  it('close() while the EventSource waits to reconnect stops it: no request after', async () => {
    const s = await plainServer(`retry: 300\nid: 1\ndata: "one"\n\n`);
    const { c, got } = client(s.url, EventSource);
    await until(() => got.length === 1 && c.status.state === 'reconnecting', 5000, 'the drop');
    c.close();
    await sleep(800); // an observation window: nothing is to happen here, and no event marks a thing not done: longer than the EventSource's reconnection time
    expect(s.requests).toHaveLength(1);
  });
});

describe.each(kinds)('a push-client server with %s', (_name, EventSource) => {
  it('the header authorizes every request; events and sends flow; after a cut it resumes with nothing lost or repeated', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer();
    const push = createPushServer({
      server,
      path: '/push',
      transports: ['eventsource'],
      authorize: (req) => (seen.push(req.headers.authorization), req.headers.authorization === 'Bearer good' && { user: 'ann' }),
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    cleanup.add(() => push.close());
    const sent: unknown[] = [];
    push.onMessage((event, data) => sent.push([event, data]));
    const c = new PushClient(`http://127.0.0.1:${port}/push`, {
      EventSource,
      rememberTransport: 0,
      transports: ['eventsource'],
      headers: { authorization: 'Bearer good' },
      reconnect: { minDelay: 10, maxDelay: 50 },
    });
    cleanup.add(() => c.close());
    const got: number[] = [];
    c.on('n', (n: number) => got.push(n));
    await until(() => c.status.state === 'open', 5000, 'open');
    for (let n = 0; n < 3; n++) await push.publish('n', n);
    await until(() => got.length === 3, 5000, 'the first three');
    await c.send('hi', { x: 1 });
    expect(sent).toEqual([['hi', { x: 1 }]]);
    const reconnecting = new Promise((resolve) => c.lifecycle.on('reconnecting', resolve));
    for (const conn of push.connections) conn.close();
    for (let n = 3; n < 6; n++) await push.publish('n', n); // while it is away: replayed on resume
    await reconnecting;
    await until(() => c.status.state === 'open', 5000, 'open again');
    for (let n = 6; n < 9; n++) await push.publish('n', n);
    // A later event: a repeat of any of the nine would have come before it.
    const marked = new Promise((resolve) => c.on('end', resolve));
    await until(() => got.length >= 9, 5000, 'all nine');
    await push.publish('end', null);
    await marked;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((h) => h === 'Bearer good')).toBe(true);
  });
});

it('an EventSource left to reconnect is closed when another transport opens instead', async () => {
  let sseRequests = 0;
  // A stream that opens, says only retry: and ends: the attempt fails, the EventSource reconnects by itself.
  const sse = http.createServer((_req, res) => (sseRequests++, res.writeHead(200, { 'content-type': 'text/event-stream' }).end('retry: 300\n\n')));
  const ssePort = await listen(sse);
  cleanup.add(() => shut(sse));
  const ws = http.createServer();
  const wss = new WebSocketServer({ server: ws });
  wss.on('connection', (socket) => socket.send('hello'));
  const wsPort = await listen(ws);
  cleanup.add(() => shut(ws));
  cleanup.add(() => wss.close());
  const c = new PushClient(
    { eventsource: `http://127.0.0.1:${ssePort}/`, websocket: `ws://127.0.0.1:${wsPort}/` },
    {
      EventSource: EventSource5 as unknown as EventSourceClass,
      transports: ['eventsource', 'websocket'],
      rememberTransport: 0,
      reconnect: { minDelay: 10, maxDelay: 50 },
    },
  );
  cleanup.add(() => c.close());
  await until(() => c.status.state === 'open', 5000, 'open');
  expect(c.status.transport).toBe('websocket');
  await sleep(900); // three of the EventSource's reconnection times
  expect(sseRequests).toBe(1);
});
