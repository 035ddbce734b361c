import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH, HAVE_CHROMIUM } from './test/helpers/chromium';
import { noBrowserMessage } from './test/helpers/find-chromium.mjs';

// One line for the whole run, not a failed launch per test.
if (!HAVE_CHROMIUM) {
  console.error(noBrowserMessage());
  process.exit(1);
}

// scripts/test.mjs reads the results from this file: keep the two paths in sync.
const PLAYWRIGHT_JSON_REPORT = 'test-results/playwright.json';

export default defineConfig({
  testDir: './test/e2e',
  // Artifacts (traces, screenshots) go to a sub-folder: Playwright empties its outputDir at the
  // start of a run, and test-results/ also holds the vitest JSON report.
  outputDir: './test-results/e2e',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  globalTimeout: 30 * 60_000,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['json', { outputFile: PLAYWRIGHT_JSON_REPORT }]],
  // The e2e tests start their own servers in fixtures, so there is no webServer block.
  use: {
    browserName: 'chromium',
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      // $CHROMIUM_PATH, else Debian's /usr/bin/chromium, else Playwright's download (find-chromium.mjs).
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
});
