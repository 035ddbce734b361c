// The declaration files (`.d.ts`) below a folder, for the post-build steps that rewrite them.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every `.d.ts` file below `dir`, depth first. */
export function* declarationFiles(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* declarationFiles(p);
    else if (name.endsWith('.d.ts')) yield p;
  }
}
