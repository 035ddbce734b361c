/**
 * A plain SSE server's `retry:` in real Chromium, with the native EventSource (which hides `retry`
 * from scripts but honours it when left to reconnect by itself), and with a header, which must reach
 * the server on every request, event-source-polyfill, FetchEventSource and the `eventsource` package. The server sends
 * `retry: 1500`, one event with id 1, and ends the stream; the client's own policy would reconnect
 * within 50 ms, yet the next request must come no sooner than 1.5 s after the end, with the id
 * (`Last-Event-ID`, or the polyfill's `lastEventId` query parameter), and the events go on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleEntry, expect, htmlPage, test } from './fixtures';

const RETRY = 1500;

interface Seen {
  url: URL;
  headers: http.IncomingHttpHeaders;
  at: number;
}

/** A page server and a plain SSE endpoint (`/events`) on one origin. */
async function plainServer() {
  const app = await bundleEntry('test/e2e/fixtures/sse-page.ts');
  const requests: Seen[] = [];
  let ended = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(app);
    if (url.pathname !== '/events') return res.writeHead(200, { 'content-type': 'text/html' }).end(htmlPage('/app.js'));
    requests.push({ url, headers: req.headers, at: performance.now() });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    // Stamped before the write: the browser cannot see the end sooner, whereas end()'s callback runs
    // once the bytes are flushed, which on a loaded machine can be well after the browser saw them.
    if (requests.length === 1) (ended = performance.now()), res.end(`retry: ${RETRY}\nid: 1\ndata: "one"\n\n`);
    else res.write('id: 2\ndata: "two"\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    ended: () => ended,
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

const kinds = [
  { name: 'the native EventSource', source: '', headers: false },
  { name: 'event-source-polyfill', source: 'EventSourcePolyfill', headers: true },
  { name: 'FetchEventSource', source: 'FetchEventSource', headers: true },
  { name: 'the eventsource package (5)', source: 'EventSourcePackage', headers: true },
];

for (const kind of kinds) {
  test(`a plain server's retry: with ${kind.name}: the next request ${RETRY} ms after the end or later, with the last id`, async ({ page }) => {
    const s = await plainServer();
    try {
      await page.goto(s.origin + '/');
      await page.evaluate(
        async ({ source, headers }) => {
          const m = await import('/app.js' as string);
          const EventSource = source ? m[source] : undefined; // none: the browser's own
          const c = new m.PushClient(
            { eventsource: location.origin + '/events' },
            {
              EventSource,
              headers: headers ? { authorization: 'Bearer t' } : undefined,
              reconnect: { minDelay: 10, maxDelay: 50 },
            },
          );
          (window as any).got = [];
          c.on('message', (data: unknown) => (window as any).got.push(data));
          (window as any).c = c;
        },
        { source: kind.source, headers: kind.headers },
      );
      await expect.poll(() => page.evaluate(() => (window as any).got), { timeout: 10_000 }).toEqual(['one', 'two']);
      expect(s.requests[1].at - s.ended()).toBeGreaterThanOrEqual(RETRY - 2); // a timer may fire a ms early by the clock
      expect(s.requests[1].headers['last-event-id'] ?? s.requests[1].url.searchParams.get('lastEventId')).toBe('1');
      if (kind.headers) expect(s.requests.map((r) => r.headers.authorization)).toEqual(['Bearer t', 'Bearer t']);
      expect(await page.evaluate(() => (window as any).c.status.state)).toBe('open');
      await page.evaluate(() => (window as any).c.close());
      expect(s.requests).toHaveLength(2);
    } finally {
      await s.close();
    }
  });
}
