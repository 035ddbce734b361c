/**
 * What-if patches: measure a proposed client change without touching src/. Applied by an esbuild
 * plugin when bundling; each must throw if the source it patches has changed, so a stale patch is
 * loud. None is pending: `sse-cr` (look for CR once per chunk in the SSE parser, not once per
 * line) was measured here and has since landed in src/protocol/sse.ts.
 */
import type { Plugin } from 'esbuild';

export const WHATIF_NAMES: readonly string[] = [];

export function whatIf(names: readonly string[]): Plugin {
  const unknown = names.filter((n) => !WHATIF_NAMES.includes(n));
  if (unknown.length) throw new Error(`what-if: no patch named ${unknown.join(', ')} (known: ${WHATIF_NAMES.join(', ') || 'none'})`);
  return { name: 'what-if', setup() {} };
}
