/**
 * A plain SSE server's `retry:` with every EventSource push-client may be given in Node: our
 * FetchEventSource (the default), the `eventsource` package in majors 2, 4 and 5, and
 * event-source-polyfill. The server sends `retry: 1500`, one event with an id, and ends the stream;
 * the client reconnects fast by its own policy (minDelay 10 ms), yet the next request must come no
 * sooner than 1.5 s after the end, and carry the id (`Last-Event-ID`, or the `lastEventId` query
 * parameter event-source-polyfill sends instead). Headers given to the client reach the server
 * through the EventSources that take them (FetchEventSource, the polyfill, eventsource 2).
 */
import http from 'node:http';
import { EventSourcePolyfill } from 'event-source-polyfill';
import { EventSource as EventSource5 } from 'eventsource';
import EventSource2 from 'eventsource-v2';
import { EventSource as EventSource4 } from 'eventsource-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchEventSource, PushClient, type EventSourceClass } from '../src/node';
import { cleanups, listen, shut, sleep, until } from './helpers/net';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const RETRY = 1500;

const kinds: [name: string, EventSource: EventSourceClass, headers: boolean][] = [
  ['FetchEventSource (the Node default)', FetchEventSource, true],
  ['eventsource 2', EventSource2 as unknown as EventSourceClass, true],
  ['eventsource 4', EventSource4 as unknown as EventSourceClass, false],
  ['eventsource 5', EventSource5 as unknown as EventSourceClass, false],
  ['event-source-polyfill', EventSourcePolyfill as unknown as EventSourceClass, true],
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

describe.each(kinds)('a plain server’s retry: with %s', (_name, EventSource, takesHeaders) => {
  it(`the next request comes no sooner than ${RETRY} ms after the stream ended, with the last id, and the events go on`, async () => {
    const s = await plainServer(`retry: ${RETRY}\nid: 1\ndata: "one"\n\n`);
    const { c, got } = client(s.url, EventSource, takesHeaders ? { authorization: 'Bearer t' } : undefined);
    await until(() => got.length === 2, 10_000, 'the event after the reconnect');
    expect(got).toEqual(['one', 'two']);
    // A timer may fire up to a millisecond early by the clock; nothing else may be early.
    expect(s.requests[1].at - s.ended()).toBeGreaterThanOrEqual(RETRY - 2);
    const resumed = s.requests[1].headers['last-event-id'] ?? s.requests[1].url.searchParams.get('lastEventId');
    expect(resumed).toBe('1');
    if (takesHeaders) expect(s.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t', 'Bearer t']);
    expect(c.status).toMatchObject({ state: 'open', transport: 'eventsource' });
    expect(c.lastEventId).toBe('2');
    expect(s.requests).toHaveLength(2);
  });

  it('close() while the EventSource waits to reconnect stops it: no request after', async () => {
    const s = await plainServer(`retry: 300\nid: 1\ndata: "one"\n\n`);
    const { c, got } = client(s.url, EventSource);
    await until(() => got.length === 1 && c.status.state === 'reconnecting', 5000, 'the drop');
    c.close();
    await sleep(800);
    expect(s.requests).toHaveLength(1);
  });
});
