#!/usr/bin/env node
// Post-build step: a CommonJS copy (`.d.cts`) of every ES declaration file (`.d.ts`) in dist/types.
//
// The package is `"type": "module"`, so TypeScript reads every `.d.ts` in it as an ES module. A
// CommonJS consumer (`require('push-client/server')` under `moduleResolution: node16`) runs our
// `.cjs` files, and must get declarations of the same module kind, or TypeScript lets it write
// imports that fail at run time ("Masquerading as ESM", arethetypeswrong; publint warns too).
// `.d.cts` is TypeScript's CommonJS declaration extension; `package.json` points each entry's
// `require` condition (and `typesVersions`, for `node10`) at it. The declarations themselves are
// the same: only the relative specifiers change, `./errors.js` → `./errors.cjs`, so that a `.d.cts`
// imports its CommonJS siblings, never the ES ones.
//
// Runs after scripts/fix-dts-imports.mjs (which makes every relative specifier end in `.js`).
// Usage: node scripts/cts-declarations.mjs [dir=dist/types]   (plain Node, no dependencies)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { declarationFiles } from './lib/declarations.mjs';

const dir = path.resolve(process.argv[2] ?? 'dist/types');
if (!existsSync(dir)) {
  console.error(`cts-declarations: ${dir} does not exist`);
  process.exit(1);
}

// The same forms as fix-dts-imports.mjs, for relative specifiers that already end in `.js`.
const RELATIVE_JS = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bdeclare\s+module\s+)(['"])(\.{1,2}\/[^'"]*)\.js\2/g;

let files = 0;
for (const file of declarationFiles(dir)) {
  const esm = readFileSync(file, 'utf8');
  const cjs = esm.replace(RELATIVE_JS, (_whole, lead, quote, base) => `${lead}${quote}${base}.cjs${quote}`);
  writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), cjs);
  files++;
}
console.log(`cts-declarations: ${files} CommonJS declaration file(s) (.d.cts) beside the .d.ts`);
