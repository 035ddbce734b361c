import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** Runs every benchmark (test/bench-smoke.test.ts): in a group of its own, after the others. */
const BENCH_SMOKE = 'test/bench-smoke.test.ts';

export default defineConfig({
  // Examples import the package by its name, as an app does (docs print them as they are).
  resolve: { alias: [{ find: /^push-client\/core$/, replacement: fileURLToPath(new URL('./src/core.ts', import.meta.url)) }] },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    teardownTimeout: 10_000,
    // Each test file runs in its own child process. Tests open real sockets on 127.0.0.1, so
    // files run in parallel, but only two at a time (the machine has 2 cores).
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // CI runs are never interactive; a stray `.only` must not hide the rest of the suite there.
    allowOnly: !process.env.CI,
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          // Browser tests under test/e2e are run by Playwright, not vitest.
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'dist/**', BENCH_SMOKE],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The benchmarks load the machine (Chromium, hundreds of clients): run beside the timing-
        // sensitive tests (the 10,000-cycle heap test, the fault suites) they made those time out.
        extends: true,
        test: { name: 'bench-smoke', include: [BENCH_SMOKE], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
