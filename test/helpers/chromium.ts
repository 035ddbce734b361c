import { DEBIAN_CHROMIUM, findChromium } from './find-chromium.mjs';

/** Whether a Chromium was found (find-chromium.mjs: $CHROMIUM_PATH, Debian's, or Playwright's download). */
export const HAVE_CHROMIUM = findChromium() !== undefined;

/**
 * The Chromium to drive. When there is none this is still a path (the one that was looked for), so
 * that launching fails with that path in the error; scripts/test.mjs stops before any browser test
 * in that case, and playwright.config.ts refuses to run.
 */
export const CHROMIUM_PATH = findChromium() ?? (process.env.CHROMIUM_PATH || DEBIAN_CHROMIUM);

/**
 * Flags for every headless Chromium here, under Playwright and launched directly by the benches.
 * Running as root needs --no-sandbox; this machine's network is closed, so background networking,
 * component updates and sync would only fill the log with refused connections.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
