/**
 * The CDN build: examples/cdn.html, a plain HTML page with `<script src="/push-client.min.js">`
 * (dist/push-client.min.js, as unpkg and jsDelivr serve it) and an inline classic script using the
 * global `new PushClient(url)`, no module and no build step. Events arrive in Chromium over each
 * transport, and sends reach the server.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, ROOT, test, type TestServer } from './fixtures';

const MIN_JS = path.join(ROOT, 'dist/push-client.min.js');
const long = { timeout: 20_000 };

test.describe.configure({ timeout: 60_000 });

test.beforeAll(() => {
  if (!existsSync(MIN_JS)) {
    throw new Error('dist/push-client.min.js is missing: run `npm run build` first (`npm test` builds before the e2e tests)');
  }
});

async function open(page: Page, server: TestServer, query: string): Promise<string[]> {
  await server.file('/push-client.min.js', MIN_JS);
  await server.file('/', 'examples/cdn.html');
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
  });
  await page.goto(server.origin + '/' + query);
  return scripts;
}

for (const transport of ['websocket', 'eventsource', 'longpoll'] as const) {
  test(`a <script> tag page receives events over ${transport} and sends to the server`, async ({ page, server }) => {
    const scripts = await open(page, server, `?transport=${transport}`);
    await expect(page.locator('#state')).toHaveText('open', long);
    await expect(page.locator('#transport')).toHaveText(transport);
    await expect.poll(() => server.push.connections.map((c) => c.transport), long).toEqual([transport]);
    // Forced means forced: no WebSocket attempt on the other transports.
    expect(server.upgrades).toBe(transport === 'websocket' ? 1 : 0);

    await server.push.publish('price', { symbol: 'ACME', px: 1 });
    await server.push.publish('news', 'plain text');
    await server.push.publish('price', { symbol: 'ACME', px: 2 });
    // Newest first.
    await expect(page.locator('#events li')).toHaveText([
      `price {"symbol":"ACME","px":2} (${transport})`,
      `news "plain text" (${transport})`,
      `price {"symbol":"ACME","px":1} (${transport})`,
    ]);

    const got: [string, unknown, string][] = [];
    server.push.onMessage((event, data, conn) => got.push([event, data, conn.transport]));
    await page.evaluate(() => (window as any).client.send('hello', { from: 'script tag' }));
    await expect.poll(() => got, long).toEqual([['hello', { from: 'script tag' }, transport]]);

    // The only script is the minified file: a classic script that set the globals.
    expect(scripts).toEqual(['/push-client.min.js']);
    expect(
      await page.evaluate(() => {
        const P = (window as any).PushClient;
        return {
          PushClient: typeof P,
          PushError: typeof P.PushError,
          FetchEventSource: typeof P.FetchEventSource,
          name: P.name,
          modules: document.querySelectorAll('script[type="module"]').length,
          instance: (window as any).client instanceof P,
        };
      }),
    ).toEqual({ PushClient: 'function', PushError: 'function', FetchEventSource: 'function', name: 'PushClient', modules: 0, instance: true });
  });
}

test('without options the script tag page connects over WebSocket first, and recovers from a dropped connection', async ({ page, server }) => {
  await open(page, server, '');
  await expect(page.locator('#state')).toHaveText('open', long);
  await expect(page.locator('#transport')).toHaveText('websocket');
  await server.push.publish('price', { symbol: 'ACME', px: 1 });
  await expect(page.locator('#events li')).toHaveCount(1);

  for (const c of server.push.connections) c.close();
  await expect(page.locator('#state')).toHaveText('reconnecting', long);
  await expect(page.locator('#state')).toHaveText('open', long);
  await server.push.publish('price', { symbol: 'ACME', px: 2 });
  await expect(page.locator('#events li').first()).toHaveText('price {"symbol":"ACME","px":2} (websocket)');
  await expect(page.locator('#events li')).toHaveCount(2);
});

test('the development script checks every option; the production one keeps only the URL checks that protect users', async ({ page, server }) => {
  await server.file('/push-client.min.js', MIN_JS);
  await server.file('/push-client.js', path.join(ROOT, 'dist/push-client.js'));
  await page.goto(server.origin + '/push-client.min.js'); // any page of the origin
  const attempt = (script: string) =>
    page.evaluate(async (src) => {
      delete (window as any).PushClient;
      await new Promise((resolve, reject) => {
        const tag = document.createElement('script');
        tag.src = src;
        tag.onload = resolve;
        tag.onerror = reject;
        document.head.append(tag);
      });
      const P = (window as any).PushClient;
      const outcome = (make: () => unknown) => {
        try {
          (make() as { close(): void }).close();
          return 'accepted';
        } catch (e) {
          return `${(e as { code?: string }).code}: ${(e as Error).message}`;
        }
      };
      return {
        badTimeout: outcome(() => new P(location.origin, { connectTimeout: -1, autoConnect: false })),
        credentials: outcome(() => new P('http://user:secret@127.0.0.1/', { autoConnect: false })),
      };
    }, script);
  expect(await attempt('/push-client.js')).toEqual({
    badTimeout: 'BAD_OPTION: push-client: option "connectTimeout" must be a number >= 1 and <= 2147483647',
    credentials: 'BAD_OPTION: push-client: option "url" must not hold credentials',
  });
  expect(await attempt('/push-client.min.js')).toEqual({
    badTimeout: 'accepted',
    credentials: 'BAD_OPTION: push-client: option "url" must not hold credentials',
  });
});

test('the ES-module script (dist/cdn) receives events in a <script type="module"> page, and loads tab sharing only when share is on', async ({
  page,
  server,
}) => {
  const cdn = path.join(ROOT, 'dist/cdn');
  for (const file of readdirSync(cdn).filter((name) => name.endsWith('.mjs'))) await server.file('/cdn/' + file, path.join(cdn, file), 'text/javascript');
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(path.basename(new URL(r.url()).pathname));
  });
  server.html(
    '/',
    `<!doctype html><script type="module">
      import { PushClient, PushError } from '/cdn/push-client.min.mjs';
      const client = (window.client = new PushClient(location.origin + '/push', { share: new URLSearchParams(location.search).has('share') }));
      window.got = [];
      client.on('price', (data) => window.got.push(data));
      window.isPushError = (e) => e instanceof PushError;
    </script>`,
  );
  await page.goto(server.origin + '/');
  await expect.poll(() => page.evaluate(() => (window as any).client?.status.state), long).toBe('open');
  await server.push.publish('price', { px: 1 });
  await expect.poll(() => page.evaluate(() => (window as any).got), long).toEqual([{ px: 1 }]);
  expect(scripts.some((name) => name.startsWith('share-'))).toBe(false);
  expect(scripts.some((name) => name.startsWith('fetch-event-source'))).toBe(false);

  await page.goto(server.origin + '/?share');
  await expect.poll(() => page.evaluate(() => (window as any).client?.status.share?.leader), long).toBe(true);
  expect(scripts.some((name) => name.startsWith('share-'))).toBe(true);
});
