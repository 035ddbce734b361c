/**
 * The built package as Node loads it, ESM and CommonJS (`npm test` builds dist/ first): every entry
 * loads, and one class is one class across entries, so `instanceof` holds whichever subpath an app
 * imported a value from. dist/ keeps one module per source module (issue 20); CommonJS once broke on
 * it (a module variable named like the class that extends it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ENTRIES = ['index', 'core', 'node', 'sharing', 'server/index', 'react/index', 'vue/index', 'svelte/index'];

/** Runs `code` in a fresh Node process from the repository root and returns what it printed as JSON. */
const inNode = (code: string, type: 'module' | 'commonjs') =>
  JSON.parse(execFileSync(process.execPath, ['--input-type=' + type, '-e', code], { encoding: 'utf8', timeout: 20_000 }));

describe('the built package', () => {
  it('is built', () => expect(existsSync('dist/index.mjs'), 'dist/ is missing: run `npm run build` (npm test builds first)').toBe(true));

  /** What the loaded entries say of their classes, the same checks for either module system. */
  const IDENTITIES = `console.log(JSON.stringify({
    pushError: index.PushError === core.PushError && node.PushError === core.PushError,
    extendsCore: Object.getPrototypeOf(index.PushClient) === core.PushClient,
    instance: new index.PushClient('http://127.0.0.1:9/', { autoConnect: false }) instanceof core.PushClient,
  }));`;

  it('every entry loads as ESM, and PushError and the core PushClient are one class across them', () => {
    const load = `const [index, core, node] = await Promise.all(['index', 'core', 'node'].map((name) => import('./dist/' + name + '.mjs')));
       for (const name of ${JSON.stringify(ENTRIES)}) await import('./dist/' + name + '.mjs');`;
    expect(inNode(load + IDENTITIES, 'module')).toEqual({ pushError: true, extendsCore: true, instance: true });
  });

  it('every entry loads as CommonJS, with the same identities', () => {
    const load = `const [index, core, node] = ['index', 'core', 'node'].map((name) => require('./dist/' + name + '.cjs'));
       for (const name of ${JSON.stringify(ENTRIES)}) require('./dist/' + name + '.cjs');`;
    expect(inNode(load + IDENTITIES, 'commonjs')).toEqual({ pushError: true, extendsCore: true, instance: true });
  });
});
