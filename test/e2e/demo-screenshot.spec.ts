/**
 * The README's screenshot, docs/demo.png: the demo page after a few seconds on each transport, a
 * cut and some chat, taken by this test so that it shows what the demo does now
 * (`UPDATE_SCREENSHOT=1 npx playwright test demo-screenshot` rewrites it).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { startDemo, type Demo } from '../../examples/server';
import { expect, grows, long, openPage, ROOT, test as base } from './fixtures';

const test = base.extend<{ demo: Demo }>({
  // eslint-disable-next-line no-empty-pattern
  demo: async ({}, use) => {
    const demo = await startDemo({ port: 0, host: '127.0.0.1', log: false });
    await use(demo);
    await demo.close();
  },
});

// Tracing records a screencast: on a busy 2-core machine that alone shows in the latency figures.
test.use({ trace: 'off' });
test.describe.configure({ timeout: 150_000 });
async function force(page: Page, mode: string, expected = mode): Promise<void> {
  await page.bringToFront();
  await page.locator(`[data-mode="${mode}"]`).click();
  await expect(page.locator('#transport')).toHaveText(expected, long);
  await expect(page.locator('#state')).toHaveText('open', long);
}

test('screenshot for the README (docs/demo.png)', async ({ page, demo }) => {
  await page.setViewportSize({ width: 1280, height: 880 });
  await openPage(page, demo, '?name=ada');
  const bob = await page.context().newPage();
  await openPage(bob, demo, '?name=bob');
  const say = async (p: Page, text: string) => {
    // A background tab gets no animation frames, which Playwright's actionability checks wait for.
    await p.bringToFront();
    await p.locator('#text').fill(text);
    await p.locator('#text').press('Enter');
  };

  // Several seconds on each transport (the ticker sends 10 events/s), so that the chart's 40 s show
  // all three, a cut, and some chat.
  await grows(page, 'websocket', 80);
  await force(page, 'eventsource');
  await say(bob, 'anyone on SSE?');
  await grows(page, 'eventsource', 70);
  await force(page, 'longpoll');
  await say(page, 'me, now on long-poll');
  await grows(page, 'longpoll', 70);
  const opens = await page.locator('#log li[data-kind="open"]').count();
  await page.bringToFront();
  await page.locator('#cut').click();
  await expect(page.locator('#log li[data-kind="open"]')).toHaveCount(opens + 1, long);
  await expect(page.locator('#log li[data-kind="open"]').first()).toContainText('resumed after id');
  await grows(page, 'longpoll', 20);
  await force(page, 'auto', 'websocket');
  await say(bob, 'cut, and not one tick missed');
  await grows(page, 'websocket', 70);
  await expect(page.locator('#missed')).toHaveText('0');
  await expect(page.locator('#dups')).toHaveText('0');
  // The chart samples once a second: let it draw the latest second.
  await page.bringToFront();
  await page.waitForTimeout(1200);

  // The committed screenshot changes only when asked (UPDATE_SCREENSHOT=1), so that a test run leaves
  // the tree clean; otherwise it lands with the other test output.
  const file = path.join(ROOT, process.env.UPDATE_SCREENSHOT ? 'docs/demo.png' : 'test-results/demo.png');
  mkdirSync(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file });
});
