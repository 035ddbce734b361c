/**
 * What-if patches: measure a proposed client change without touching src/. Applied by an esbuild
 * plugin when bundling; each must throw if the source it patches has changed, so a stale patch is
 * loud (test/bench-smoke.test.ts bundles each). `sse-cr` (look for CR once per chunk in the SSE
 * parser, not once per line) was measured here and has since landed in src/protocol/sse.ts.
 *
 * - `bare-deliver` is not a change to land: it drops the dedup window, the catch-all dispatch and
 *   the liveness stamp from every event, to measure what that routing costs (issue 15: 1.02× the
 *   unpatched client on 4 KiB events in Chromium, `BENCH_WHATIF=bare-deliver`).
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

const PATCHES: Record<string, { file: RegExp; edits: [string, string][] }> = {
  'bare-deliver': {
    file: /src[\\/]client[\\/]push-client\.ts$/,
    edits: [
      ['        if (!resume.accept(id)) return;\n', ''],
      ['      dispatch(event, data, meta) && dispatch(ANY, event, data, meta);\n', '      dispatch(event, data, meta);\n'],
      ['    const receive = (e: SseEvent) => {\n      liveness.heard();\n', '    const receive = (e: SseEvent) => {\n'],
    ],
  },
};

export const WHATIF_NAMES: readonly string[] = Object.keys(PATCHES);

export function whatIf(names: readonly string[]): Plugin {
  const unknown = names.filter((n) => !WHATIF_NAMES.includes(n));
  if (unknown.length) throw new Error(`what-if: no patch named ${unknown.join(', ')} (known: ${WHATIF_NAMES.join(', ') || 'none'})`);
  return {
    name: 'what-if',
    setup(b) {
      for (const name of names) {
        const patch = PATCHES[name];
        b.onLoad({ filter: patch.file }, async (args) => {
          let src = await readFile(args.path, 'utf8');
          for (const [from, to] of patch.edits) {
            if (!src.includes(from)) throw new Error(`what-if ${name}: ${args.path} changed, the patch no longer applies`);
            src = src.replace(from, to);
          }
          return { contents: src, loader: 'ts' };
        });
      }
    },
  };
}
