#!/usr/bin/env node
// The two package linters, run on what npm would publish: `npm pack`'s tarball (of the current
// dist/, so build first), not the working tree, as a maintainer would before `npm publish`.
//
// - publint: package.json's fields (exports, types per condition, files) against the tarball.
// - arethetypeswrong (attw): every entry in `exports` (`.`, `./core`, `./server`, `./react`,
//   `./vue`, `./svelte`), resolved by TypeScript as each kind of consumer does (node10, node16 from
//   CommonJS and from ESM, bundler): types must resolve, and be of the module kind of the file that runs.
//
// Both must report nothing: a publint suggestion or warning fails like an error does.
// Offline: attw reads the local tarball and is told not to fetch @types from the registry.
//
// Usage: node scripts/lint-package.mjs [publint] [attw]   (both when none is named; `npm run lint:package`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isWindows = process.platform === 'win32';
const bin = (name) => path.join(root, 'node_modules', '.bin', isWindows ? `${name}.cmd` : name);

/** Each linter: its command line for a tarball, and whether its output says it found something. */
const LINTERS = {
  // --strict makes warnings errors (exit 1); suggestions never change the exit code, so they are
  // looked for in the output.
  publint: { args: (tgz) => ['run', tgz, '--strict'], reported: (out) => !/All good!/.test(out) },
  // attw exits 1 on any problem; --profile strict checks node10 as well as node16 and bundler.
  attw: {
    args: (tgz) => [tgz, '--profile', 'strict', '--no-definitely-typed', '--format', 'table-flipped', '--no-emoji', '--no-color'],
    reported: (out) => !/No problems found/.test(out),
  },
};

const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in LINTERS));
if (unknown.length) {
  console.error(`lint-package: no linter named ${unknown.join(', ')} (choose from ${Object.keys(LINTERS).join(', ')})`);
  process.exit(2);
}
const chosen = names.length ? names : Object.keys(LINTERS);

const dir = mkdtempSync(path.join(os.tmpdir(), 'push-client-pack-'));
let failed = 0;
try {
  // --ignore-scripts: no `prepack` build here; the caller has built (npm test builds first).
  const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts', '--silent'], {
    cwd: root,
    encoding: 'utf8',
    shell: isWindows,
  });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (pack.status !== 0 || !tgz) {
    console.error(`lint-package: npm pack failed\n${pack.stderr ?? ''}`);
    process.exit(1);
  }
  for (const name of chosen) {
    const linter = LINTERS[name];
    const r = spawnSync(bin(name), linter.args(path.join(dir, tgz)), { cwd: root, encoding: 'utf8', shell: isWindows });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    process.stdout.write(out);
    const ok = r.status === 0 && !linter.reported(out);
    if (!ok) failed++;
    console.log(`lint-package: ${name} on ${tgz}: ${ok ? 'nothing reported' : `REPORTED PROBLEMS (exit ${r.status ?? r.signal ?? r.error?.message})`}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
