import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run mutate` (StrykerJS, stryker.config.mjs) runs against each mutant: the unit tests
 * of the modules it mutates, with no server, socket or browser, so that a mutant's run takes
 * milliseconds. The whole suite (vitest.config.ts) runs them too.
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/client-unit.test.ts', 'test/protocol.test.ts', 'test/codec-property.test.ts', 'test/unit-*.test.ts'],
    // The property tests (codec-property.test.ts) run once per mutant: a fixed seed, so that a mutant is
    // caught or not the same way on every run, and 100 runs per property, not up to 3,000.
    env: { FC_SEED: '1', FC_MAX_RUNS: '100' },
  },
});
