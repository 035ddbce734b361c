#!/usr/bin/env node
// Post-build step for the declarations that `tsc --emitDeclarationOnly` writes to dist/types.
//
// The sources use extensionless relative imports (`./errors`, `../protocol`), which is fine for
// the bundler, and tsc copies those specifiers into the .d.ts files unchanged. A TypeScript consumer
// with `moduleResolution: node16/nodenext` treats our .d.ts files as ES modules (the package is
// `"type": "module"`) and then cannot resolve extensionless relative imports (TS2834), so most
// exported types would silently disappear. This rewrites every relative specifier in dist/types to
// the explicit form: `./errors` → `./errors.js`, `../protocol` → `../protocol/index.js`.
//
// Usage: node scripts/fix-dts-imports.mjs [dir=dist/types]   (plain Node, no dependencies)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { declarationFiles } from './lib/declarations.mjs';

const dir = path.resolve(process.argv[2] ?? 'dist/types');
if (!existsSync(dir)) {
  console.error(`fix-dts-imports: ${dir} does not exist`);
  process.exit(1);
}

// `from './x'`, `import './x'`, `import('./x')` (type imports), `declare module './x'`.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bdeclare\s+module\s+)(['"])(\.{1,2}(?:\/[^'"]*)?)\2/g;
const HAS_RUNTIME_EXT = /\.(?:js|mjs|cjs|json)$/;

let files = 0;
let rewritten = 0;
const unresolved = [];
for (const file of declarationFiles(dir)) {
  const src = readFileSync(file, 'utf8');
  const from = path.dirname(file);
  const out = src.replace(SPECIFIER, (whole, lead, quote, spec) => {
    if (HAS_RUNTIME_EXT.test(spec)) return whole;
    const base = spec.replace(/\.d\.ts$|\.tsx?$/, '');
    let fixed;
    if (existsSync(path.resolve(from, `${base}.d.ts`))) fixed = `${base}.js`;
    else if (existsSync(path.resolve(from, base, 'index.d.ts'))) fixed = `${base.replace(/\/$/, '')}/index.js`;
    if (!fixed) {
      unresolved.push(`${path.relative(process.cwd(), file)}: ${spec}`);
      return whole;
    }
    rewritten++;
    return `${lead}${quote}${fixed}${quote}`;
  });
  files++;
  if (out !== src) writeFileSync(file, out);
}

console.log(`fix-dts-imports: ${rewritten} relative import(s) made explicit in ${files} declaration file(s)`);
if (unresolved.length) {
  console.warn(`fix-dts-imports: could not resolve ${unresolved.length} specifier(s):`);
  for (const u of unresolved) console.warn(`  ${u}`);
}
