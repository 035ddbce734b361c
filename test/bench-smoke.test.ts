/**
 * Every benchmark registered in bench/index.ts (`npm run bench -- --list`), run the way `npm run bench
 * -- NAME` runs it but in smoke mode (BENCH_SMOKE=1, bench/lib/mode.ts: the least that still runs
 * each code path once), so that none rots unnoticed between the runs that produce the published
 * figures. Each must exit 0 and print a Markdown table with at least one figure; the figures
 * themselves mean nothing here. One at a time: some start a Chromium or hundreds of clients.
 */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { WHATIF_NAMES, whatIf } from '../bench/lib/whatif';

const ROOT = path.resolve(import.meta.dirname, '..');
const BENCH = ['--import', 'tsx', path.join(ROOT, 'bench/index.ts')];
/**
 * Per benchmark: past it, the benchmark has stalled. Throughput starts a Chromium for each of its 11
 * clients: 54 s on a 2-core machine under a load average near 2, over 60 s near 14.
 */
const LIMIT_MS = 120_000;

const NAMES = execFileSync(process.execPath, [...BENCH, '--list'], { cwd: ROOT, encoding: 'utf8' })
  .trim()
  .split('\n');

/** Runs one benchmark in smoke mode; resolves with its exit code and output. */
function runBench(name: string): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...BENCH, name], {
      cwd: ROOT,
      env: { ...process.env, BENCH_SMOKE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // Past the limit the benchmark has stalled: stop it (its servers and browsers go with it).
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

describe.sequential('benchmarks, smoke mode', () => {
  it('the registry lists the benchmarks', () => {
    expect(NAMES).toEqual(expect.arrayContaining(['size', 'throughput', 'fallback', 'recovery', 'scale']));
  });

  // A patch that no longer applies throws when bundled: found here, not in a long bench run.
  for (const name of WHATIF_NAMES) {
    it(`the what-if patch ${name} still applies to src/ and changes the client`, async () => {
      const bundle = async (names: string[]) =>
        (
          await build({
            entryPoints: ['src/index.ts'],
            absWorkingDir: ROOT,
            bundle: true,
            format: 'esm',
            write: false,
            logLevel: 'silent',
            plugins: [whatIf(names)],
          })
        ).outputFiles[0].text;
      expect(await bundle([name])).not.toBe(await bundle([]));
    });
  }

  for (const name of NAMES) {
    it(`${name} runs and prints figures`, { timeout: LIMIT_MS + 10_000 }, async () => {
      const r = await runBench(name);
      const tail = r.out.slice(-3000);
      expect(r.code, `${name} exit code (null: killed after ${LIMIT_MS} ms)\n${tail}`).toBe(0);
      expect(r.out).not.toMatch(new RegExp(`^${name} failed:`, 'm'));
      // A Markdown table row with a number in a cell: `| label | 1,234 | ...`.
      expect(r.out, `${name} printed no figure\n${tail}`).toMatch(/^\|[^\n]*\|\s*-?[\d,.]+\s*\|/m);
      console.log(`bench smoke: ${name} ${(r.ms / 1000).toFixed(1)} s`);
    });
  }
});
