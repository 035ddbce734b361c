/**
 * SSE with request headers in real Chromium: a native EventSource cannot send them, so the page
 * passes the opt-in `FetchEventSource`. The server authorizes by the header alone: the stream opens
 * and events and sends flow with the right token; with a wrong one the client stops at the 401 with
 * UNAUTHORIZED instead of retrying (a native EventSource would hide the status and retry forever).
 */
import type { Page } from '@playwright/test';
import { bundleEntry, expect, test, type TestServer } from './fixtures';

async function open(page: Page, server: TestServer, token: string): Promise<void> {
  server.serve('/push-client.js', await bundleEntry('src/index.ts'), 'text/javascript; charset=utf-8');
  server.html(
    '/',
    `<!doctype html><meta charset="utf-8"><title>sse headers</title><script type="module">
      import { PushClient, FetchEventSource } from '/push-client.js';
      const c = new PushClient(location.origin + '/push', {
        transports: ['eventsource'], EventSource: FetchEventSource, reconnect: { minDelay: 50, maxDelay: 200 },
        headers: async () => ({ authorization: 'Bearer ${token}' }) });
      window.got = [];
      c.on('n', (d, meta) => window.got.push([d, meta.transport]));
      window.c = c;
    </script>`,
  );
  await page.goto(server.origin + '/');
}

/** The server's `authorize`: records every Authorization header in `seen`; only `Bearer good` may connect. */
function bearerGood(seen: (string | undefined)[]) {
  return (req: { headers: { authorization?: string } }) => {
    seen.push(req.headers.authorization);
    return req.headers.authorization === 'Bearer good' ? { user: 'ann' } : false;
  };
}

test.describe('SSE with headers (FetchEventSource)', () => {
  const seen: (string | undefined)[] = [];
  test.use({ pushOptions: { authorize: bearerGood(seen) } });

  test('the header reaches the server: events arrive over SSE and sends are accepted', async ({ page, server }) => {
    const sent: unknown[] = [];
    server.push.onMessage((event, data) => sent.push([event, data]));
    await open(page, server, 'good');
    await expect.poll(() => page.evaluate(() => (window as any).c.status.state)).toBe('open');
    expect(await page.evaluate(() => (window as any).c.status.transport)).toBe('eventsource');
    for (let i = 0; i < 3; i++) await server.push.publish('n', i);
    await expect
      .poll(() => page.evaluate(() => (window as any).got))
      .toEqual([
        [0, 'eventsource'],
        [1, 'eventsource'],
        [2, 'eventsource'],
      ]);
    await page.evaluate(() => (window as any).c.send('hi', { x: 1 }));
    await expect.poll(() => sent).toEqual([['hi', { x: 1 }]]);
    expect(seen.every((h) => h === 'Bearer good')).toBe(true);
  });

  test('a refused token ends in UNAUTHORIZED after one attempt, not a retry loop', async ({ page, server }) => {
    seen.length = 0;
    await open(page, server, 'bad');
    await expect.poll(() => page.evaluate(() => (window as any).c.status.state)).toBe('closed');
    expect(await page.evaluate(() => (window as any).c.status.error.code)).toBe('UNAUTHORIZED');
    await page.waitForTimeout(500);
    expect(seen).toEqual(['Bearer bad']);
  });
});

test.describe('SSE with headers (event-source-polyfill)', () => {
  const seen: (string | undefined)[] = [];
  test.use({ pushOptions: { authorize: bearerGood(seen) } });

  test('EventSource: EventSourcePolyfill sends the header on every request; events and sends flow, and after a cut it resumes with nothing lost or repeated', async ({
    page,
    server,
  }) => {
    seen.length = 0;
    const sent: unknown[] = [];
    server.push.onMessage((event, data) => sent.push([event, data]));
    await server.bundle('/sse.js', 'test/e2e/fixtures/sse-page.ts');
    server.html(
      '/',
      `<!doctype html><meta charset="utf-8"><title>sse polyfill</title><script type="module">
        import { PushClient, EventSourcePolyfill } from '/sse.js';
        const c = new PushClient(location.origin + '/push', {
          transports: ['eventsource'], EventSource: EventSourcePolyfill, reconnect: { minDelay: 50, maxDelay: 200 },
          headers: { authorization: 'Bearer good' } });
        window.got = [];
        c.on('n', (d) => window.got.push(d));
        window.c = c;
      </script>`,
    );
    await page.goto(server.origin + '/');
    await expect.poll(() => page.evaluate(() => (window as any).c.status.state)).toBe('open');
    for (let i = 0; i < 3; i++) await server.push.publish('n', i);
    await expect.poll(() => page.evaluate(() => (window as any).got)).toEqual([0, 1, 2]);
    await page.evaluate(() => (window as any).c.send('hi', { x: 1 }));
    await expect.poll(() => sent).toEqual([['hi', { x: 1 }]]);
    const before = seen.length;
    for (const conn of server.push.connections) conn.close();
    for (let i = 3; i < 6; i++) await server.push.publish('n', i); // while it is away: replayed on resume
    await expect.poll(() => seen.length).toBeGreaterThan(before);
    await expect.poll(() => page.evaluate(() => (window as any).c.status.state)).toBe('open');
    for (let i = 6; i < 9; i++) await server.push.publish('n', i);
    await expect.poll(() => page.evaluate(() => (window as any).got)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.every((h) => h === 'Bearer good')).toBe(true);
  });
});
