/**
 * What-if patches: measure a proposed client change without touching src/. Applied by an esbuild
 * plugin when bundling; each throws if the source it patches has changed, so a stale patch is loud.
 * - `sse-cr`: the SSE parser looks for CR once per chunk (and again only after passing it) instead
 *   of once per line; today every line scans the rest of the chunk, which is quadratic in the chunk.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

export const WHATIF_NAMES = ['sse-cr'] as const;

export function whatIf(names: readonly string[]): Plugin {
  return {
    name: 'what-if',
    setup(b) {
      if (!names.includes('sse-cr')) return;
      b.onLoad({ filter: /src[\\/]protocol[\\/]sse\.ts$/ }, async (args) => {
        const src = await readFile(args.path, 'utf8');
        const from = "      let nl = buf.indexOf('\\n', start);\n      const cr = buf.indexOf('\\r', start);";
        const to = "      let nl = buf.indexOf('\\n', start);\n      if (cr >= 0 && cr < start) cr = buf.indexOf('\\r', start);";
        const loop = '    let start = 0;\n    for (;;) {';
        if (!src.includes(from) || !src.includes(loop)) throw new Error('what-if sse-cr: src/protocol/sse.ts changed, the patch no longer applies');
        return { contents: src.replace(from, to).replace(loop, "    let start = 0;\n    let cr = buf.indexOf('\\r');\n    for (;;) {"), loader: 'ts' };
      });
    },
  };
}
