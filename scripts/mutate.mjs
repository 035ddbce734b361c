#!/usr/bin/env node
// `npm run mutate`: StrykerJS with stryker.config.mjs (extra arguments go to `stryker run`, e.g.
// `npm run mutate -- --mutate src/client/backoff.ts`). Not part of `npm test`.
//
// Why not `stryker run` itself: StrykerJS 10 declares Node >= 22 and its CLI refuses to start on
// anything older, while this project's machines and CI run Node 20 (package.json: >= 18). Nothing it
// runs here needs 22 (a whole run is checked on 20), so on Node < 22 this starts its `Stryker` class
// directly, past the CLI's version check, and says so.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const args = process.argv.slice(2);

if (Number(process.versions.node.split('.')[0]) >= 22) {
  const stryker = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'stryker.cmd' : 'stryker');
  const r = spawnSync(stryker, ['run', 'stryker.config.mjs', ...args], { stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(r.status ?? 1);
}

console.log(`[mutate] Node ${process.version}: StrykerJS asks for >= 22; running its Stryker class directly`);
// The CLI's own option parsing (`--mutate a,b`, `--incremental false`, ...), which its version check sits in front of.
const cliOptions = {};
for (let i = 0; i < args.length; i++) {
  const name = args[i].replace(/^--/, '');
  const next = args[i + 1];
  const value = next === undefined || next.startsWith('--') ? true : (i++, next);
  if (name === 'mutate') cliOptions.mutate = String(value).split(',');
  else cliOptions[name] = value === 'false' ? false : value === 'true' ? true : value;
}
// By file path: the package exports only its index, which loads the CLI and so its version check.
const strykerModule = pathToFileURL(path.join(root, 'node_modules/@stryker-mutator/core/dist/src/stryker.js')).href;
const { Stryker } = await import(strykerModule);
await new Stryker({ configFile: 'stryker.config.mjs', ...cliOptions }).runMutationTest();
