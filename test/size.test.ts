/**
 * Size as users meet it (bench/lib/packed-size.ts): dist/ packed with `npm pack`, installed into a
 * scratch app, built for production by Vite, webpack and esbuild (splitting); what the page loads
 * before any `import()` runs, gzip -9 per file, less the bundler's empty app.
 * - per bundler, `PushClient` from `push-client` and `PushClient` + `webSocket` from
 *   `push-client/core` stay within PACKED_BUDGET (bench/lib/size.ts);
 * - tree-shaking holds in every bundler: core + `webSocket` ships no SSE, long-poll or HTTP code,
 *   and an app that does not turn `share` on loads no sharing code up front (CODE_MARKERS);
 * - production builds leave the option checks out.
 * `npm test` builds dist/ before vitest runs (scripts/test.mjs): this file packs that dist/ as it is.
 *
 * Source-level checks follow (esbuild on src/, bench/lib/size.ts's `measure`, parts stubbed where
 * asked): they need no dist/ and guard what the sources weigh, the framework bindings, and the
 * development build.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLERS, CORE_WEBSOCKET, PUSH_CLIENT, measurePacked, type PackedSizes } from '../bench/lib/packed-size';
import {
  BINDINGS,
  BUDGET,
  CODE_MARKERS,
  CORE,
  CORE_WEBSOCKET as SOURCE_CORE_WEBSOCKET,
  PACKED_BUDGET,
  bindingEntry,
  contributors,
  measure,
} from '../bench/lib/size';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Markers found in `code`, as `kind: marker`. */
const found = (code: string, kinds: (keyof typeof CODE_MARKERS)[]) =>
  kinds.flatMap((k) => CODE_MARKERS[k].filter((m) => code.includes(m)).map((m) => `${k}: ${m}`));

describe('packed size: npm pack, installed, built by Vite, webpack and esbuild (production, gzip -9 up front)', () => {
  let sizes: PackedSizes;
  // Pack and install once; the six builds run one after another (the machine is shared).
  beforeAll(async () => {
    sizes = await measurePacked([PUSH_CLIENT, CORE_WEBSOCKET]);
  }, 180_000); // ~35 s on an idle 2-core machine; several times that when it is shared

  it('every code marker is still in the CDN script, which holds every module', () => {
    const cdn = readFileSync(path.join(ROOT, 'dist/push-client.min.js'), 'utf8');
    const all = Object.keys(CODE_MARKERS) as (keyof typeof CODE_MARKERS)[];
    expect(all.flatMap((k) => CODE_MARKERS[k].filter((m) => !cdn.includes(m)).map((m) => `${k}: ${m}`))).toEqual([]);
  });

  for (const bundler of BUNDLERS) {
    describe(bundler, () => {
      const size = (id: string) => sizes.cases[id][bundler]!;
      const detail = (id: string) =>
        `${bundler}, ${id}: ${size(id).upFront} B up front (${size(id).upFrontTotal} B less the empty app's ${sizes.empty[bundler]} B), ` +
        `${size(id).lazy} B lazy; files: ${size(id)
          .files.map((f) => `${f.file} ${f.gzip} B${f.upFront ? '' : ' (lazy)'}`)
          .join(', ')}`;

      it(`PushClient from push-client is at most ${PACKED_BUDGET.pushClient[bundler]} B up front`, () => {
        expect(size(PUSH_CLIENT.id).upFront, detail(PUSH_CLIENT.id)).toBeLessThanOrEqual(PACKED_BUDGET.pushClient[bundler]);
      });

      it(`PushClient + webSocket from push-client/core is at most ${PACKED_BUDGET.coreWebSocket[bundler]} B up front`, () => {
        expect(size(CORE_WEBSOCKET.id).upFront, detail(CORE_WEBSOCKET.id)).toBeLessThanOrEqual(PACKED_BUDGET.coreWebSocket[bundler]);
      });

      it('push-client/core with webSocket alone ships no SSE, long-poll or HTTP code (tree-shaking)', () => {
        const s = size(CORE_WEBSOCKET.id);
        expect(found(s.code + '\n' + s.lazyCode, ['sse', 'longPoll', 'http', 'fetchEventSource']), detail(CORE_WEBSOCKET.id)).toEqual([]);
      });

      it('an app that does not turn share on loads no sharing code up front; it loads on demand', () => {
        for (const c of [PUSH_CLIENT, CORE_WEBSOCKET]) expect(found(size(c.id).code, ['share']), detail(c.id)).toEqual([]);
        // push-client keeps every feature: `share: true` still works, from a chunk loaded by import().
        expect(found(size(PUSH_CLIENT.id).lazyCode, ['share']), detail(PUSH_CLIENT.id)).toEqual([...CODE_MARKERS.share.map((m) => `share: ${m}`)]);
      });

      it('the production build leaves the option checks out', () => {
        for (const c of [PUSH_CLIENT, CORE_WEBSOCKET]) expect(size(c.id).code, detail(c.id)).not.toContain('must be a non-empty array');
      });

      it('PushClient from push-client ships no FetchEventSource (an opt-in the app did not import)', () => {
        const s = size(PUSH_CLIENT.id);
        expect(found(s.code + '\n' + s.lazyCode, ['fetchEventSource']), detail(PUSH_CLIENT.id)).toEqual([]);
      });
    });
  }
});

describe('source-level size (esbuild on src/, minified ESM, gzip -9; no dist/ needed)', () => {
  it(`core (WebSocket + SSE + long-poll) is at most ${BUDGET.core} bytes`, async () => {
    const s = await measure(CORE);
    const top = contributors(s.metafile)
      .slice(0, 5)
      .map((c) => `${c.file} ${c.bytes} B`)
      .join(', ');
    expect(s.gzip, `core is ${s.gzip} B gzip (min ${s.min} B); largest inputs (minified): ${top}`).toBeLessThanOrEqual(BUDGET.core);
  });

  it(`push-client/core with webSocket alone is at most ${BUDGET.coreWebSocket} bytes, and has no SSE or long-poll in it`, async () => {
    const s = await measure(SOURCE_CORE_WEBSOCKET);
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
