#!/usr/bin/env node
// `npm test`: build, type check (src, tests, benches, examples), lint (Biome), the package linters on the packed
// tarball (publint, arethetypeswrong), then vitest (unit + integration), then Playwright (e2e), and
// at the very end one line `N passed, M failed` summed over every suite (each check, the type check,
// the lint and each package linter, counts as one test). Plain Node, no dependencies.
//
// Counting rules:
// - passed: tests that ran and passed (Playwright: `expected` and `flaky`).
// - failed: tests that failed, plus one for each test file that failed without any failing test
//   (e.g. it threw at import), plus one for each error Playwright reports outside a test, plus one
//   for a suite that did not run at all (no report, or no test executed) or whose runner exited
//   non-zero without reporting a failure (e.g. an unhandled error).
// - skipped / todo tests are shown per suite but are not counted as passed.
// Exit code: 0 only when nothing failed and both suites ran.
//
// Without a Chromium (test/helpers/find-chromium.mjs: $CHROMIUM_PATH, Debian's, or Playwright's
// download) it stops at once: one line that says how to get one, and `0 passed, 1 failed`, instead
// of a build and then a failure for every browser test.
//
// The build, the type check and the lint run side by side (each is one single-threaded process), the two
// package linters side by side once the build is done; their output is printed in one block per step
// as each ends. The test suites run after them, one at a time, with the machine to themselves.
//
// Options: --no-build  skip `npm run build` (dist/ must already be up to date for the e2e tests).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium, noBrowserMessage } from '../test/helpers/find-chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const REPORT_DIR = 'test-results';
const VITEST_JSON = path.join(REPORT_DIR, 'vitest.json');
// Must match the json reporter's outputFile in playwright.config.ts.
const PLAYWRIGHT_JSON = path.join(REPORT_DIR, 'playwright.json');

const args = new Set(process.argv.slice(2));
const isWindows = process.platform === 'win32';
const bin = (name) => path.join(root, 'node_modules', '.bin', isWindows ? `${name}.cmd` : name);

const log = (msg) => console.log(`[test] ${msg}`);

/** Runs a command with inherited stdio; returns its exit code (1 if it could not start). */
function run(label, cmd, cmdArgs) {
  log(`${label}: ${[cmd, ...cmdArgs].join(' ')}`);
  const started = Date.now();
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', shell: isWindows });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.error) {
    log(`${label}: could not start (${r.error.message})`);
    return 1;
  }
  const code = r.status ?? 1;
  log(`${label}: exit ${r.signal ? `signal ${r.signal}` : code} after ${secs}s`);
  return r.signal ? 1 : code;
}

/**
 * Runs a command beside others: its output is kept and printed in one block when it ends, so that
 * steps running at once do not interleave their lines. Resolves with its exit code (1 if it could not start).
 */
function runBeside(label, cmd, cmdArgs) {
  log(`${label}: ${[cmd, ...cmdArgs].join(' ')} (started)`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], shell: isWindows });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('error', (err) => {
      log(`${label}: could not start (${err.message})`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(Buffer.concat(out));
      log(`${label}: exit ${signal ? `signal ${signal}` : code} after ${secs}s`);
      resolve(signal ? 1 : (code ?? 1));
    });
  });
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** vitest's json reporter (jest-like): testResults[] per file, assertionResults[] per test. */
function countVitest(report) {
  const c = { passed: 0, failed: 0, skipped: 0, notes: [] };
  for (const file of report.testResults ?? []) {
    let failedInFile = 0;
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') c.passed++;
      else if (t.status === 'failed') {
        c.failed++;
        failedInFile++;
      } else c.skipped++; // skipped | pending | todo | disabled
    }
    if (file.status === 'failed' && failedInFile === 0) {
      c.failed++;
      const where = path.relative(root, file.name ?? '?');
      const why = String(file.message ?? '').split('\n')[0];
      c.notes.push(`${where} failed outside any test${why ? `: ${why}` : ''}`);
    }
  }
  return c;
}

/** Playwright's json reporter: nested suites → specs → tests (one per project). */
function countPlaywright(report) {
  const c = { passed: 0, failed: 0, skipped: 0, notes: [] };
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status === 'expected' || t.status === 'flaky') c.passed++;
        else if (t.status === 'unexpected') c.failed++;
        else c.skipped++;
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const s of report.suites ?? []) walk(s);
  for (const e of report.errors ?? []) {
    c.failed++;
    c.notes.push(`error outside any test: ${String(e.message ?? e.value ?? '').split('\n')[0]}`);
  }
  return c;
}

/** Runs one suite and returns its counts, with the "did not run" / "crashed" rules applied. */
function runSuite(name, reportFile, cmd, cmdArgs, count, { skipReason } = {}) {
  rmSync(reportFile, { force: true });
  let code = 1;
  if (skipReason) log(`${name}: not run (${skipReason})`);
  else code = run(name, cmd, cmdArgs);

  const report = skipReason ? undefined : readJson(reportFile);
  const c = report ? count(report) : { passed: 0, failed: 0, skipped: 0, notes: [] };
  if (!report) {
    c.failed++;
    c.notes.push(skipReason ? 'suite did not run' : `suite did not run (no report at ${reportFile})`);
  } else if (c.passed + c.failed === 0) {
    c.failed++;
    c.notes.push('suite did not run (no test executed)');
  } else if (code !== 0 && c.failed === 0) {
    c.failed++;
    c.notes.push(`runner exited with code ${code} without reporting a failing test`);
  }
  return c;
}

if (!findChromium()) {
  log(noBrowserMessage());
  console.log('0 passed, 1 failed');
  process.exit(1);
}

mkdirSync(REPORT_DIR, { recursive: true });

const building = !args.has('--no-build');
const build = building ? runBeside('build', 'npm', ['run', '--silent', 'build']) : Promise.resolve(0);

/** Checks that count as one test each: name → passed. */
const checks = new Map();

// Vitest and Playwright only strip types: without this, a test could call the API wrongly unnoticed.
// tsconfig.test.json covers src too; what only tsconfig.json checks (declarations, rootDir) the
// build's own `tsc -p tsconfig.json` checks, so with a build the type check need not do it again.
const typecheck = building ? runBeside('typecheck', bin('tsc'), ['-p', 'tsconfig.test.json']) : runBeside('typecheck', 'npm', ['run', '--silent', 'typecheck']);

// Biome's recommended rules, less those biome.jsonc turns off and says why; warnings fail too.
const lint = runBeside('lint', 'npm', ['run', '--silent', 'lint']);

const buildFailed = (await build) !== 0;
if (buildFailed) log('build: FAILED; the e2e suite needs dist/ and will not run');

// What a TypeScript consumer of the published package resolves (scripts/lint-package.mjs packs
// dist/ with `npm pack`, each run into its own folder, so they need the build and not each other).
const packageLinters = ['publint', 'attw'].map(async (linter) => {
  if (buildFailed) {
    log(`${linter}: not run (the build failed)`);
    return [linter, false];
  }
  return [linter, (await runBeside(linter, 'node', ['scripts/lint-package.mjs', linter])) === 0];
});

checks.set('typecheck', (await typecheck) === 0);
checks.set('lint', (await lint) === 0);
for (const [linter, ok] of await Promise.all(packageLinters)) checks.set(linter, ok);

const vitest = runSuite(
  'vitest',
  VITEST_JSON,
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${VITEST_JSON}`],
  countVitest,
);

let e2eSkip;
if (buildFailed) e2eSkip = 'the build failed';
const playwright = runSuite('playwright', PLAYWRIGHT_JSON, bin('playwright'), ['test'], countPlaywright, { skipReason: e2eSkip });

console.log('');
for (const [name, ok] of checks) log(`${name}: ${ok ? 'passed' : 'FAILED'}`);
for (const [name, c] of [
  ['vitest', vitest],
  ['playwright', playwright],
]) {
  log(`${name} results: passed ${c.passed}, failed ${c.failed}, skipped ${c.skipped}`);
  for (const note of c.notes) log(`  ${name}: ${note}`);
}

const checksPassed = [...checks.values()].filter(Boolean).length;
const passed = vitest.passed + playwright.passed + checksPassed;
const failed = vitest.failed + playwright.failed + (checks.size - checksPassed);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
