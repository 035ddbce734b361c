/** Debian's chromium (.ci/run installs it); Playwright's own browser download is never used. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

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
