// Which Chromium the e2e tests and the browser benches drive, in plain JavaScript so that
// scripts/test.mjs (plain Node) can check for one before it starts, and the TypeScript helper
// (test/helpers/chromium.ts) re-exports the same answer. Types: find-chromium.d.mts.
//
// In order: $CHROMIUM_PATH when set (an override that must exist: a wrong path is an error, not a
// reason to quietly pick another browser); Debian's /usr/bin/chromium (.ci/run installs it); the
// Chromium that `npx playwright install chromium` downloaded (macOS, other Linux distributions).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The one line that says how to get a browser, printed instead of one failure per browser test. */
export const NO_BROWSER =
  'No Chromium for the browser tests: run `npx playwright install chromium` (or `apt-get install chromium` on Debian), ' +
  'or set CHROMIUM_PATH to a Chromium or Chrome executable.';

/**
 * The Chromium executable to use, or undefined when there is none. `debian` is for the tests, which
 * run on a machine that has it.
 */
export function findChromium(env = process.env, debian = DEBIAN_CHROMIUM) {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  if (existsSync(debian)) return debian;
  // Where Playwright puts its own download (it follows PLAYWRIGHT_BROWSERS_PATH); the path is
  // computed, not checked, by Playwright, hence existsSync.
  const downloaded = chromium.executablePath();
  return downloaded && existsSync(downloaded) ? downloaded : undefined;
}

/** Why there is no browser: NO_BROWSER, with what CHROMIUM_PATH said if it was set. */
export function noBrowserMessage(env = process.env) {
  return env.CHROMIUM_PATH ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist. ${NO_BROWSER}` : NO_BROWSER;
}
