/**
 * Starts Chromium headless on one URL, directly (no Playwright, no DevTools protocol), so that no
 * instrumentation sits on the page's network. The page reports back to our server by POST. Which
 * Chromium: test/helpers/find-chromium.mjs ($CHROMIUM_PATH, Debian's, or Playwright's download).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH, HAVE_CHROMIUM } from '../../test/helpers/chromium';

export function haveChromium(): boolean {
  return HAVE_CHROMIUM;
}

export interface Browser {
  proc: ChildProcess;
  /** Kills Chromium's whole process group and removes its profile. Idempotent. */
  kill(): Promise<void>;
}

/**
 * Starts headless Chromium on `url`. `cpus` (a `taskset` CPU list, e.g. "1") keeps Chromium's
 * processes on those CPUs, so that on a small machine the browser and the server under test each
 * have a core of their own, as they would on two machines, instead of taking turns on both.
 */
export function launch(url: string, cpus?: string): Browser {
  const dir = mkdtempSync(path.join(tmpdir(), 'push-bench-chromium-'));
  const command = cpus ? ['taskset', '-c', cpus, CHROMIUM_PATH] : [CHROMIUM_PATH];
  const proc = spawn(
    command[0],
    [
      ...command.slice(1),
      '--headless',
      ...CHROMIUM_ARGS,
      // A headless page is never hidden, but keep timers and the renderer at full speed regardless.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      `--user-data-dir=${dir}`,
      url,
    ],
    { stdio: 'ignore', detached: true },
  );
  proc.on('error', () => {});
  let killed: Promise<void> | null = null;
  return {
    proc,
    kill() {
      killed ??= new Promise<void>((resolve) => {
        const finish = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return finish();
        const t = setTimeout(() => {
          try {
            process.kill(-proc.pid!, 'SIGKILL');
          } catch {}
        }, 3000);
        proc.once('exit', () => {
          clearTimeout(t);
          // Chromium's helpers share its process group; make sure none outlives it.
          try {
            process.kill(-proc.pid!, 'SIGKILL');
          } catch {}
          setTimeout(finish, 100);
        });
        try {
          process.kill(-proc.pid!, 'SIGTERM');
        } catch {
          finish();
        }
      });
      return killed;
    },
  };
}
