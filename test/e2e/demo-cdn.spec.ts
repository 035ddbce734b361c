/**
 * A newcomer's first run: `npm install && npm run demo` on a fresh clone, with no dist/. The demo
 * builds the CDN file that /cdn.html loads when it is missing (examples/cdn-bundle.ts), so the page
 * works without `npm run build`. The demo is pointed at an empty folder (its `dist` option) instead
 * of the repository's dist/, which the other e2e tests need.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemo } from '../../examples/server';
import { expect, long, ROOT, test } from './fixtures';

test.describe.configure({ timeout: 120_000 });

let dist: string;
test.beforeEach(() => {
  dist = mkdtempSync(path.join(os.tmpdir(), 'push-client-demo-dist-'));
});
test.afterEach(() => rmSync(dist, { recursive: true, force: true }));

test('without a built dist/, /cdn.html works: the demo builds push-client.min.js at start', async ({ page }) => {
  const lines: string[] = [];
  const demo = await startDemo({ port: 0, host: '127.0.0.1', dist, log: (l) => lines.push(l) });
  try {
    expect(lines.join('\n')).toMatch(/cdn\.html is the same client from a plain <script> tag \(.*push-client\.min\.js, built at start in \d+ ms\)/);
    const file = path.join(dist, 'push-client.min.js');
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(/^\/\*! push-client v[\d.]+ \| MIT License \*\//);

    // Served as a script (a 404 text/plain is what Chromium refused before).
    const res = await fetch(`${demo.url}push-client.min.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);

    const scriptErrors: string[] = [];
    page.on('pageerror', (e) => scriptErrors.push(e.message));
    await page.goto(`${demo.url}cdn.html`);
    await expect(page.locator('#state')).toHaveText('open', long);
    // The demo's ticker publishes `price` ten times a second.
    await expect(page.locator('#events li[data-event="price"]').first()).toBeVisible(long);
    expect(scriptErrors).toEqual([]);
  } finally {
    await demo.close();
  }
});

test('the demo builds the CDN file again only when it is older than the sources', async () => {
  const first = await startDemo({ port: 0, host: '127.0.0.1', dist, log: false });
  await first.close();
  const file = path.join(dist, 'push-client.min.js');
  const built = readFileSync(file, 'utf8');

  const lines: string[] = [];
  const fresh = await startDemo({ port: 0, host: '127.0.0.1', dist, log: (l) => lines.push(l) });
  await fresh.close();
  expect(lines.join('\n')).not.toContain('built at start');

  // Older than src/: stale (as after a `git pull`), built again, to the same bytes.
  const old = new Date('2000-01-01T00:00:00Z');
  utimesSync(file, old, old);
  lines.length = 0;
  const stale = await startDemo({ port: 0, host: '127.0.0.1', dist, log: (l) => lines.push(l) });
  await stale.close();
  expect(lines.join('\n')).toContain('built at start');
  expect(readFileSync(file, 'utf8')).toBe(built);
  // And the repository's own dist/ was not touched by any of this.
  expect(path.relative(ROOT, dist).startsWith('..')).toBe(true);
});
