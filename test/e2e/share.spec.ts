/**
 * Tabs share one connection (issue 13): several pages of one browser context, against a real push
 * server over HTTP/1.1 on 127.0.0.1, where Chromium holds at most 6 connections per host.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test, type TestServer } from './fixtures';

test.describe.configure({ timeout: 90_000 });

const long = { timeout: 20_000 };

async function serve(server: TestServer) {
  await server.page('/', 'test/e2e/fixtures/share.ts');
  server.html('/ping', 'pong');
}

/** Opens `n` tabs of the share test page with `query`; tabs that do not load within `ms` are reported as `null`. */
async function openTabs(context: BrowserContext, server: TestServer, n: number, query: string, ms = 15_000): Promise<(Page | null)[]> {
  const tabs: (Page | null)[] = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    try {
      await page.goto(server.origin + '/' + query, { timeout: ms });
      await page.waitForFunction(() => (window as any).client, undefined, { timeout: ms });
      tabs.push(page);
    } catch {
      tabs.push(null);
    }
  }
  return tabs;
}

const state = (page: Page) => page.evaluate(() => (window as any).client.status.state as string);
const got = (page: Page) => page.evaluate(() => (window as any).got as number[]);
const leads = (page: Page) => page.evaluate(() => !!(window as any).client.status.share?.leader);
/** ms until a `fetch` of the page's own origin answers, or Infinity after 3 s. */
const fetchTime = (page: Page) =>
  page.evaluate(async () => {
    const t0 = performance.now();
    const answered = await Promise.race([fetch('/ping', { cache: 'no-store' }).then((r) => r.text()), new Promise((r) => setTimeout(r, 3000, 'hung'))]);
    return answered === 'pong' ? performance.now() - t0 : Infinity;
  });
const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);

test('8 tabs over SSE: without share the 6-connection limit starves the site; with share all 8 receive over one connection', async ({ browser, server }) => {
  await serve(server);

  // Without share: each tab holds an SSE stream, and the browser allows 6 per host.
  const plain = await browser.newContext();
  const starved = await openTabs(plain, server, 8, '?transports=eventsource', 4000);
  const loaded = starved.filter((p): p is Page => !!p);
  expect(loaded.length, 'tabs that loaded without share').toBeLessThan(8);
  expect(await fetchTime(loaded[0]), 'a fetch from a tab without share').toBe(Infinity);
  await plain.close();
  await expect.poll(() => server.connectionCount, long).toBe(0);

  // With share: one connection, every tab loads and gets every event once, in order.
  const shared = await browser.newContext();
  const tabs = (await openTabs(shared, server, 8, '?transports=eventsource&share=true')) as Page[];
  expect(tabs.every(Boolean), 'every tab loads').toBe(true);
  for (const tab of tabs) await expect.poll(() => state(tab), long).toBe('open');
  expect(server.connectionCount).toBe(1);
  expect((await Promise.all(tabs.map(leads))).filter(Boolean)).toHaveLength(1);
  await expect.poll(() => tabs[7].evaluate(() => (window as any).client.status.share.tabs), long).toBe(8);
  for (let i = 0; i < 50; i++) await server.push.publish('n', i);
  for (const tab of tabs) await expect.poll(() => got(tab), long).toEqual(numbers(50));
  for (const tab of tabs) expect(await fetchTime(tab)).toBeLessThan(1000);
  expect(server.connectionCount).toBe(1);
  await shared.close();
});

for (const how of ['closed', 'hidden, then closed', 'close()'] as const) {
  test(`the leader tab ${how} mid-stream: the other tabs get every number once, in order, over one new connection`, async ({ context, server }) => {
    await serve(server);
    const tabs = (await openTabs(context, server, 3, '?transports=eventsource,longpoll&share=true')) as Page[];
    for (const tab of tabs) await expect.poll(() => state(tab), long).toBe('open');
    const leader = tabs[0];
    expect(await leads(leader)).toBe(true);
    const before = server.push.connections.map((c) => c.id);
    expect(before).toHaveLength(1);

    if (how === 'hidden, then closed') {
      // Headless Chromium under Playwright reports every page visible: the leader's page says it is hidden.
      await leader.evaluate(() => {
        Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
        Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      });
    }

    // Numbered events at 100/s; the leader goes a third of the way through.
    const total = 300;
    let published = 0;
    const publisher = (async () => {
      while (published < total) {
        await server.push.publish('n', published++);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await expect.poll(() => published, long).toBeGreaterThan(100);
    if (how === 'close()') await leader.evaluate(() => (window as any).client.close());
    else await leader.close();
    await publisher;

    const survivors = tabs.slice(1);
    for (const tab of survivors) await expect.poll(() => got(tab), long).toEqual(numbers(total));
    expect((await Promise.all(survivors.map(leads))).filter(Boolean)).toHaveLength(1);
    await expect.poll(() => server.push.connections.map((c) => c.id), long).toHaveLength(1);
    expect(before).not.toContain(server.push.connections[0].id);
  });
}

test('a follower sends through the leader once; its join brings that channel to it alone; two groups stay apart', async ({ context, server }) => {
  await serve(server);
  const sends: [string, unknown][] = [];
  server.push.onMessage((event, data) => sends.push([event, data]));
  const [leaderA, followerA, groupB] = (await openTabs(context, server, 2, '?transports=eventsource&share=a')).concat(
    await openTabs(context, server, 1, '?transports=eventsource&share=b'),
  ) as Page[];
  for (const tab of [leaderA, followerA, groupB]) await expect.poll(() => state(tab), long).toBe('open');
  expect(await leads(leaderA)).toBe(true);
  expect(await leads(followerA)).toBe(false);
  expect(await leads(groupB)).toBe(true);
  expect(server.connectionCount).toBe(2);

  await followerA.evaluate(() => (window as any).client.send('chat', { text: 'from a follower' }));
  await expect.poll(() => sends, long).toEqual([['chat', { text: 'from a follower' }]]);

  await followerA.evaluate(() => (window as any).client.join('room:1'));
  await server.push.publish('room', 'for room 1', { channel: 'room:1' });
  await expect.poll(() => followerA.evaluate(() => (window as any).room), long).toEqual([['for room 1', 'room:1']]);
  expect(await leaderA.evaluate(() => (window as any).room)).toEqual([]);
  expect(await groupB.evaluate(() => (window as any).room)).toEqual([]);

  // A broadcast reaches both groups once each; the leader of A leaving room:1 keeps it for the follower.
  await server.push.publish('n', 1);
  for (const tab of [leaderA, followerA, groupB]) await expect.poll(() => got(tab), long).toEqual([1]);
  await followerA.evaluate(() => (window as any).client.leave('room:1'));
  await server.push.publish('room', 'after leaving', { channel: 'room:1' });
  await server.push.publish('n', 2);
  for (const tab of [leaderA, followerA, groupB]) await expect.poll(() => got(tab), long).toEqual([1, 2]);
  expect(await followerA.evaluate(() => (window as any).room)).toEqual([['for room 1', 'room:1']]);
  expect(sends).toHaveLength(1);
});
