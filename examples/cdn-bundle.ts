/**
 * The demo's /cdn.html page loads `push-client.min.js`, the built CDN file (dist/ after `npm run
 * build`). A fresh clone has no dist/, and `npm install && npm run demo` is all the README asks: so
 * the demo builds that one file itself when it is missing or older than what it is built from, with
 * the same Rollup options as `npm run build` (rollup.config.ts's `cdnBundle`), about a second.
 * Only the CDN file: the ESM/CJS builds and declarations are the package's, which the demo does not use.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CDN_FILE = 'push-client.min.js';

/** What the CDN file is built from: a change to any of these makes it stale. */
const INPUTS = ['src', 'package.json', 'rollup.config.ts', 'tsconfig.json'];

/** The newest modification time (ms) among files under `p`. */
function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newest(path.join(p, name))));
}

/** Whether `dir`/push-client.min.js is missing or older than its sources. */
export function isStale(dir: string): boolean {
  const file = path.join(dir, CDN_FILE);
  if (!existsSync(file)) return true;
  return statSync(file).mtimeMs < Math.max(...INPUTS.map((p) => newest(path.join(ROOT, p))));
}

/**
 * Makes sure `dir` holds an up-to-date push-client.min.js; builds it when it does not.
 * Resolves with what it did and how long it took.
 */
export async function ensureCdnBundle(dir: string): Promise<{ built: boolean; ms: number; file: string }> {
  const started = performance.now();
  const file = path.join(dir, CDN_FILE);
  if (!isStale(dir)) return { built: false, ms: 0, file };
  // Loaded only to build: Rollup, terser and the config cost a start that has nothing to build.
  const [{ rollup }, { cdnBundle }] = await Promise.all([import('rollup'), import('../rollup.config')]);
  const options = cdnBundle(file);
  const bundle = await rollup(options);
  try {
    await bundle.write(options.output);
  } finally {
    await bundle.close();
  }
  return { built: true, ms: Math.round(performance.now() - started), file };
}
