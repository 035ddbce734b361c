/**
 * Which Chromium the browser tests use (test/helpers/find-chromium.mjs), and `npm test` on a machine
 * without one: one line that says how to get a browser and `0 passed, 1 failed`, at once, instead
 * of a build and a failure per browser test. Each case runs in a child process, because Playwright
 * reads PLAYWRIGHT_BROWSERS_PATH (where its own download would be) when it loads.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIND = path.join(ROOT, 'test/helpers/find-chromium.mjs');
const run = promisify(execFile);

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'push-client-chromium-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** The environment of a machine with no Chromium from Playwright (an empty download folder). */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, PLAYWRIGHT_BROWSERS_PATH: path.join(tmp, 'browsers'), ...extra };
  if (!('CHROMIUM_PATH' in extra)) delete e.CHROMIUM_PATH;
  return e;
}

/** findChromium() in a child, with Debian's path replaced by `debian`. */
async function find(debian: string, environment: NodeJS.ProcessEnv): Promise<string> {
  const code = `import { findChromium } from ${JSON.stringify(FIND)}; console.log(String(findChromium(process.env, ${JSON.stringify(debian)})));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { env: environment, cwd: ROOT });
  return stdout.trim();
}

describe('findChromium', () => {
  it("uses Playwright's download when there is no Debian chromium, and none when that is missing too", async () => {
    const missing = path.join(tmp, 'no-debian-chromium');
    expect(await find(missing, env())).toBe('undefined');

    // Where `npx playwright install chromium` would have put it, under PLAYWRIGHT_BROWSERS_PATH.
    const where = (
      await run(process.execPath, ['--input-type=module', '-e', "import { chromium } from 'playwright-core'; console.log(chromium.executablePath())"], {
        env: env(),
        cwd: ROOT,
      })
    ).stdout.trim();
    expect(where.startsWith(path.join(tmp, 'browsers'))).toBe(true);
    mkdirSync(path.dirname(where), { recursive: true });
    writeFileSync(where, '#!/bin/sh\n');
    chmodSync(where, 0o755);
    expect(await find(missing, env())).toBe(where);

    // Debian's comes first, and CHROMIUM_PATH before both.
    expect(await find(process.execPath, env())).toBe(process.execPath);
    const override = path.join(tmp, 'my-chrome');
    writeFileSync(override, '');
    expect(await find(process.execPath, env({ CHROMIUM_PATH: override }))).toBe(override);
    // A CHROMIUM_PATH that does not exist is no browser, not a reason to pick another one.
    expect(await find(process.execPath, env({ CHROMIUM_PATH: path.join(tmp, 'nope') }))).toBe('undefined');
  });
});

describe('npm test without a browser', () => {
  it('stops at once with one line that says how to get one, counted as one failure', async () => {
    const started = Date.now();
    const missing = path.join(tmp, 'no-such-chromium');
    const r = await run(process.execPath, [path.join(ROOT, 'scripts/test.mjs'), '--no-build'], {
      env: env({ CHROMIUM_PATH: missing }),
      cwd: ROOT,
      // Were it not to stop, it would run the whole suite: cut that short.
      timeout: 15_000,
    }).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code?: number; stdout?: string; killed?: boolean }) => ({ code: e.killed ? 'killed' : e.code, stdout: e.stdout ?? '' }),
    );
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`CHROMIUM_PATH=${missing} does not exist`);
    expect(lines[0]).toContain('npx playwright install chromium');
    expect(lines[1]).toBe('0 passed, 1 failed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
