import { defineConfig } from '@playwright/test';

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
      // Debian's chromium package (.ci/run installs it); Playwright's own browser download is
      // not used. CHROMIUM_PATH overrides it on other machines.
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
