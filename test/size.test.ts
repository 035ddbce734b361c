/**
 * Size budget, measured exactly as `npm run bench -- size` does: esbuild bundle + minify, ESM,
 * platform browser, target es2022, production, then gzip -9.
 * - the browser bundle with all three transports (the class as an app imports it) and
 *   `push-client/core` with `webSocket` alone: BUDGET guards the measured sizes against regressions
 *   (the targets are TARGET in bench/lib/size.ts);
 * - each framework binding adds at most 600 bytes (client and framework external).
 */
import { describe, expect, it } from 'vitest';
import { BINDINGS, BUDGET, CORE, CORE_WEBSOCKET, bindingEntry, contributors, measure } from '../bench/lib/size';

describe('bundle size budget (esbuild, minified ESM, gzip -9)', () => {
  it(`core (WebSocket + SSE + long-poll) is at most ${BUDGET.core} bytes`, async () => {
    const s = await measure(CORE);
    const top = contributors(s.metafile)
      .slice(0, 5)
      .map((c) => `${c.file} ${c.bytes} B`)
      .join(', ');
    expect(s.gzip, `core is ${s.gzip} B gzip (min ${s.min} B); largest inputs (minified): ${top}`).toBeLessThanOrEqual(BUDGET.core);
  });

  it(`push-client/core with webSocket alone is at most ${BUDGET.coreWebSocket} bytes, and has no SSE or long-poll in it`, async () => {
    const s = await measure(CORE_WEBSOCKET);
    expect(s.gzip, `core + webSocket is ${s.gzip} B gzip (min ${s.min} B)`).toBeLessThanOrEqual(BUDGET.coreWebSocket);
    const shipped = contributors(s.metafile)
      .filter((c) => c.bytes > 0)
      .map((c) => c.file);
    expect(shipped).toContain('src/transports/websocket.ts');
    expect(shipped.filter((f) => /transports\/(eventsource|longpoll|http|fetch-event-source)\.ts$/.test(f))).toEqual([]);
  });

  it('production builds leave the option checks out; development builds keep them', async () => {
    const production = await measure(CORE);
    const development = await measure({ ...CORE, development: true });
    const shipped = (m: typeof production.metafile) =>
      contributors(m)
        .filter((c) => c.bytes > 0)
        .map((c) => c.file);
    expect(shipped(production.metafile)).not.toContain('src/client/validate.ts');
    expect(shipped(development.metafile)).toContain('src/client/validate.ts');
    expect(development.code).toContain('must be a non-empty array');
    expect(production.code).not.toContain('must be a non-empty array');
  });

  it('core pulls in no framework', async () => {
    const s = await measure(CORE);
    const inputs = Object.keys(s.metafile.inputs);
    expect(inputs.filter((f) => /node_modules\/(react|react-dom|vue|@vue|svelte)\//.test(f))).toEqual([]);
  });

  for (const name of BINDINGS) {
    it(`push-client/${name} adds at most ${BUDGET.binding} bytes`, async () => {
      const entry = bindingEntry(name);
      expect(entry, `src/${name}/index.ts (or .tsx) does not exist: the ${name} binding is missing`).toBeDefined();
      const s = await measure({ entry: entry!, binding: true });
      expect(s.gzip, `push-client/${name} adds ${s.gzip} B gzip (min ${s.min} B)`).toBeLessThanOrEqual(BUDGET.binding);
    });
  }
});
