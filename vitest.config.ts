import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Browser tests under test/e2e are run by Playwright, not vitest.
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'dist/**'],
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
  },
});
