/**
 * Tab sharing in Chromium (one browser context, HTTP/1.1 on 127.0.0.1, SSE): connections the server
 * holds for N tabs with and without `share`, and the handover time: from the leader tab closing
 * while numbered events flow (one every 10 ms) to the next event in a follower. Medians over rounds.
 *
 *   npm run bench -- share
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/helpers/chromium';
import { startServer, type TestServer } from '../test/e2e/fixtures/server';
import { haveChromium } from './lib/chromium';
import { byMode } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { sleep } from './lib/util';

const ROUNDS = byMode(5, 1);
const TAB_COUNTS = byMode([2, 4, 8], [2]);

async function openTabs(context: BrowserContext, server: TestServer, n: number, query: string): Promise<Page[]> {
  const tabs: Page[] = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    // Without share, a tab past the browser's 6 connections per host may never load: bounded.
    await page.goto(server.origin + '/' + query, { timeout: 3000 }).catch(() => {});
    tabs.push(page);
  }
  return tabs;
}

/** Whether a tab's client is open; a tab still waiting for a connection to load counts as not (bounded: its page may never answer). */
const isOpen = (tab: Page) =>
  Promise.race([tab.evaluate(() => (window as any).client?.status.state === 'open').catch(() => false), sleep(1000).then(() => false)]);
const openCount = (tabs: Page[]) => Promise.all(tabs.map(isOpen)).then((s) => s.filter(Boolean).length);

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

export async function run(): Promise<void> {
  if (!haveChromium()) {
    console.log(`\n(share: skipped, no Chromium at ${CHROMIUM_PATH})`);
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const server = await startServer({ retryMs: 0 });
  try {
    await server.page('/', 'test/e2e/fixtures/share.ts');
    const rows: Cell[][] = [];
    for (const n of TAB_COUNTS) {
      for (const share of [false, true]) {
        const context = await browser.newContext();
        const tabs = await openTabs(context, server, n, `?transports=eventsource${share ? '&share=true' : ''}`);
        await waitFor(async () => (await openCount(tabs)) === n, share ? 10_000 : 3000);
        rows.push([n, share ? 'share: true' : 'no share', await openCount(tabs), server.connectionCount]);
        await context.close();
        await waitFor(async () => server.connectionCount === 0, 5000);
      }
    }
    console.log('\n## Tabs and connections (SSE, HTTP/1.1: Chromium holds at most 6 per host)\n');
    console.log(table(['tabs', 'mode', 'tabs open', 'server connections'], rows));

    const handovers: number[] = [];
    let lost = 0;
    let duplicated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const context = await browser.newContext();
      const tabs = await openTabs(context, server, 3, '?transports=eventsource&share=true');
      await waitFor(async () => (await openCount(tabs)) === 3, 10_000);
      let published = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing && published < 2000) {
          await server.push.publish('n', published++);
          await sleep(10);
        }
      })();
      await sleep(500);
      const leader = tabs[0];
      const closedAt = Date.now();
      await leader.close();
      await sleep(2000);
      publishing = false;
      await publisher;
      const follower = tabs[1];
      await waitFor(async () => (await follower.evaluate(() => (window as any).got.length)) >= published, 5000);
      const { got, times } = await follower.evaluate(() => ({ got: (window as any).got as number[], times: (window as any).times as number[] }));
      const next = times.find((t) => t > closedAt);
      if (next !== undefined) handovers.push(next - closedAt);
      const seen = new Set(got);
      lost += published - seen.size;
      duplicated += got.length - seen.size;
      await context.close();
      await waitFor(async () => server.connectionCount === 0, 5000);
    }
    console.log(`\n## Handover: the leader tab closes while an event is published every 10 ms (3 tabs, ${ROUNDS} round${ROUNDS > 1 ? 's' : ''})\n`);
    console.log(
      table(
        ['leader gone → next event in a follower, median', 'range', 'lost', 'duplicated'],
        [[Math.round(median(handovers)), `${Math.min(...handovers)}–${Math.max(...handovers)}`, lost, duplicated]],
      ),
    );
  } finally {
    await server.close();
    await browser.close();
  }
}

if (isMain(import.meta.url)) await run();
