// `npm run mutate`: mutation testing (StrykerJS) of the client's pieces and the protocol's parsers.
// Not part of `npm test`: it takes minutes, and its score is read, not asserted.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'src/client/resume.ts',
    'src/client/backoff.ts',
    'src/client/sending.ts',
    'src/client/channels.ts',
    'src/client/liveness.ts',
    'src/client/listeners.ts',
    'src/protocol/sse.ts',
    'src/protocol/frames.ts',
  ],
  testRunner: 'vitest',
  // Only the fast unit tests: a mutant of these modules is caught there or nowhere cheap.
  vitest: { configFile: 'vitest.mutate.config.ts' },
  // Each mutant runs only the tests that reached its code in the first, instrumented run.
  coverageAnalysis: 'perTest',
  // The machine has 2 cores, shared: one test runner at a time.
  concurrency: 1,
  // Reruns test only the mutants whose code or tests changed since the last run (reports/ is git-ignored).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // clear-text prints the score per file at the end; html is the browsable report of every mutant.
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, reportTests: false },
  // Aim: 80 % or more per file (it is a report, not a gate: break 0 never fails the run).
  thresholds: { high: 80, low: 60, break: null },
  // A mutant that loops for ever (a loop's condition mutated) is given up 3 s past its tests' usual time, not 5.
  timeoutMS: 3000,
  tempDirName: '.stryker-tmp',
  // What the unit tests never read: not copied into Stryker's sandbox.
  ignorePatterns: ['dist', 'bench', 'examples', 'docs', 'test/e2e', 'test-results', 'playwright-report', 'reports', 'scratch'],
};
