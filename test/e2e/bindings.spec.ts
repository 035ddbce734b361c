/**
 * The React, Vue and Svelte bindings rendered in Chromium against a real push server: events reach
 * the DOM, status changes show, unmounting closes the connection (the server sees it go), and React
 * StrictMode opens exactly one connection. Pages: test/e2e/fixtures/bindings/.
 */
import type { Page } from '@playwright/test';
import { expect, test, type TestServer } from './fixtures';

const ENTRIES = {
  react: 'test/e2e/fixtures/bindings/react.tsx',
  vue: 'test/e2e/fixtures/bindings/vue.ts',
  svelte: 'test/e2e/fixtures/bindings/svelte.ts',
} as const;
/** What each page prints before a price: React its current label, Vue and Svelte a fixed letter. */
const PREFIX = { react: 'L0', vue: 'v', svelte: 's' } as const;
const TRANSPORTS = ['websocket', 'eventsource', 'longpoll'] as const;

async function open(page: Page, server: TestServer, binding: keyof typeof ENTRIES, query = '') {
  await server.page('/', ENTRIES[binding]);
  await page.goto(server.origin + '/' + query);
}

const connections = (server: TestServer) => () => server.connectionCount;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const binding of ['react', 'vue', 'svelte'] as const) {
  test.describe(binding, () => {
    for (const transport of TRANSPORTS) {
      test.describe(transport, () => {
        // A long-poll client that stops just stops polling: the server only sees it go when its
        // session expires (sessionTimeout, 55 s by default), so make that short here (but long enough
        // that a slow poll on a busy machine does not expire a live session).
        if (transport === 'longpoll') test.use({ pushOptions: { pollTimeout: 1000, sessionTimeout: 3000 } });

        test(`events arrive and status changes show`, async ({ page, server }) => {
          await open(page, server, binding, `?transport=${transport}`);
          const w = page.locator('#w0');
          await expect(w.locator('.state')).toHaveText('open');
          await expect(w.locator('.transport')).toHaveText(transport);
          await expect.poll(connections(server)).toBe(1);

          await server.push.publish('price', { symbol: 'ACME', px: 1 });
          await server.push.publish('price', { symbol: 'ACME', px: 2 });
          await server.push.publish('news', 'not a price');
          await server.push.publish('price', { symbol: 'INIT', px: 3 });
          const p = PREFIX[binding];
          await expect(w.locator('.prices li')).toHaveText([`${p}:ACME=1`, `${p}:ACME=2`, `${p}:INIT=3`]);

          // The server drops the connection: the page shows reconnecting (no transport), then open again.
          // `.states` lists every status the component rendered, so a short "reconnecting" is not missed.
          for (const c of server.push.connections) c.close();
          await expect(w.locator('.states')).toHaveText(new RegExp(`(^| )connecting/- open/${transport} reconnecting/- open/${transport}$`));
          await expect(w.locator('.state')).toHaveText('open');
          await expect(w.locator('.transport')).toHaveText(transport);
          await expect.poll(connections(server)).toBe(1);
          await server.push.publish('price', { symbol: 'ACME', px: 4 });
          await expect(w.locator('.prices li')).toHaveText([`${p}:ACME=1`, `${p}:ACME=2`, `${p}:INIT=3`, `${p}:ACME=4`]);
        });

        test(`unmount closes the connection; the server sees it go`, async ({ page, server }) => {
          await open(page, server, binding, `?n=2&transport=${transport}`);
          const [w0, w1] = [page.locator('#w0'), page.locator('#w1')];
          await expect(w0.locator('.state')).toHaveText('open');
          await expect(w1.locator('.state')).toHaveText('open');
          // React's providers and Vue's usePushClient share one client per URL; the Svelte page makes
          // one client per component.
          const shared = binding !== 'svelte';
          await expect.poll(connections(server)).toBe(shared ? 1 : 2);
          expect(server.upgrades).toBe(transport === 'websocket' ? (shared ? 1 : 2) : 0);

          await w0.locator('.toggle').click();
          await expect(w0.locator('.state')).toHaveCount(0);
          if (shared) await sleep(300); // a wrongly closed shared client would be gone by now
          await expect.poll(connections(server), { timeout: 10_000 }).toBe(1);
          await server.push.publish('price', { symbol: 'ACME', px: 1 });
          await expect(w1.locator('.prices li')).toHaveText([`${PREFIX[binding]}:ACME=1`]);

          await w1.locator('.toggle').click();
          await expect(w1.locator('.state')).toHaveCount(0);
          await expect.poll(connections(server), { timeout: 10_000 }).toBe(0);
          expect(await page.evaluate(() => (window as any).subs.active), 'event subscriptions left').toBe(0);

          // Mounting again connects again.
          await w0.locator('.toggle').click();
          await expect(w0.locator('.state')).toHaveText('open');
          await expect.poll(connections(server)).toBe(1);
          await server.push.publish('price', { symbol: 'ACME', px: 2 });
          await expect(w0.locator('.prices li')).toHaveText([`${PREFIX[binding]}:ACME=2`]);
        });
      });
    }
  });
}

test.describe('react', () => {
  test('StrictMode opens exactly one connection and subscribes once', async ({ page, server }) => {
    await open(page, server, 'react', '?strict=1');
    const w = page.locator('#w0');
    await expect(w.locator('.state')).toHaveText('open');
    await sleep(500); // a second connection, or a late close of the only one, would show by now
    expect(server.connectionCount).toBe(1);
    expect(server.upgrades).toBe(1);
    await expect(w.locator('.state')).toHaveText('open');
    expect(await page.evaluate(() => (window as any).subs.active)).toBe(1);

    await server.push.publish('price', { symbol: 'ACME', px: 1 });
    await server.push.publish('price', { symbol: 'ACME', px: 2 });
    await expect(w.locator('.prices li')).toHaveText(['L0:ACME=1', 'L0:ACME=2']);

    await w.locator('.toggle').click();
    await expect.poll(connections(server), { timeout: 10_000 }).toBe(0);
  });

  test('usePushEvent calls the latest handler without resubscribing', async ({ page, server }) => {
    await open(page, server, 'react');
    const w = page.locator('#w0');
    await expect(w.locator('.state')).toHaveText('open');
    const calls = await page.evaluate(() => (window as any).subs.calls);
    expect(calls).toBe(1);

    await server.push.publish('price', { symbol: 'ACME', px: 1 });
    await expect(w.locator('.prices li')).toHaveText(['L0:ACME=1']);
    await w.locator('.relabel').click();
    await w.locator('.relabel').click();
    await server.push.publish('price', { symbol: 'ACME', px: 2 });
    await expect(w.locator('.prices li')).toHaveText(['L0:ACME=1', 'L2:ACME=2']);
    expect(await page.evaluate(() => (window as any).subs)).toEqual({ calls: 1, active: 1 });
  });
});

test.describe('svelte', () => {
  test('pushEvent is a store of the latest value', async ({ page, server }) => {
    await open(page, server, 'svelte');
    const w = page.locator('#w0');
    await expect(w.locator('.state')).toHaveText('open');
    await expect(w.locator('.latest')).toHaveText('none');
    await server.push.publish('price', { symbol: 'ACME', px: 1 });
    await expect(w.locator('.latest')).toHaveText('s:ACME=1');
    await server.push.publish('price', { symbol: 'INIT', px: 7 });
    await expect(w.locator('.latest')).toHaveText('s:INIT=7');
    // Two subscribers ($price and the list), one client subscription.
    expect(await page.evaluate(() => (window as any).subs)).toEqual({ calls: 1, active: 1 });
  });
});

for (const binding of ['react', 'vue', 'svelte'] as const) {
  test(`${binding}: two tabs whose provider passes share: true hold one connection and both render every event`, async ({ context, server }) => {
    await server.page('/', ENTRIES[binding]);
    const tabs = [await context.newPage(), await context.newPage()];
    for (const tab of tabs) await tab.goto(server.origin + '/?share=1&transport=eventsource');
    for (const tab of tabs) await expect(tab.locator('#w0 .state')).toHaveText('open');
    await expect.poll(connections(server)).toBe(1);
    await server.push.publish('price', { symbol: 'ACME', px: 1 });
    await server.push.publish('price', { symbol: 'ACME', px: 2 });
    const p = PREFIX[binding];
    for (const tab of tabs) await expect(tab.locator('#w0 .prices li')).toHaveText([`${p}:ACME=1`, `${p}:ACME=2`]);
    for (const tab of tabs) await expect(tab.locator('#w0 .transport')).toHaveText('eventsource');
    expect(server.connectionCount).toBe(1);
  });
}
