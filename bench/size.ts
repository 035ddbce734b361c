/**
 * Size, as users meet it first: the package packed with `npm pack`, installed into a scratch app and
 * built for production by Vite, webpack and esbuild (bench/lib/packed-size.ts), beside
 * socket.io-client, SignalR, centrifuge and partysocket built the same way, and the CDN script as
 * shipped. Then, source-level (esbuild on src/ with parts stubbed out, not the package): what each
 * part of the client costs, the development build, the opt-ins and the framework bindings.
 *
 *   npm run bench -- size    (packs dist/ as it is: `npm run build` first)
 *
 * BENCH_SMOKE=1: esbuild alone, push-client and socket.io-client alone (the figures mean nothing).
 */
import {
  BUNDLERS,
  type Bundler,
  CDN_SCRIPTS,
  CORE_PARTS,
  CORE_WEBSOCKET as PACKED_CORE_WEBSOCKET,
  PEERS as PACKED_PEERS,
  PUSH_CLIENT,
  measureCdnScript,
  measurePacked,
} from './lib/packed-size';
import { byMode } from './lib/mode';
import {
  BINDINGS,
  BUDGET,
  CORE,
  CORE_FETCH_SSE,
  CORE_WEBSOCKET,
  PACKED_BUDGET,
  PACKED_TARGET,
  PARTS,
  TARGET,
  bindingEntry,
  contributors,
  measure,
} from './lib/size';
import { isMain, table, type Cell } from './lib/table';

export async function run(): Promise<{ packed: Record<string, Partial<Record<Bundler, number>>>; cdn: number; core: number; coreWebSocket: number }> {
  const packed = await runPacked();
  const source = await runSourceLevel();
  return { ...packed, ...source };
}

/** The main table: what an app's production build loads up front, per bundler. */
async function runPacked(): Promise<{ packed: Record<string, Partial<Record<Bundler, number>>>; cdn: number }> {
  const socketIo = PACKED_PEERS[0];
  const bundlers = byMode<readonly Bundler[]>(BUNDLERS, BUNDLERS, ['esbuild']);
  const cases = byMode([PUSH_CLIENT, PACKED_CORE_WEBSOCKET, ...PACKED_PEERS], [PUSH_CLIENT, PACKED_CORE_WEBSOCKET, ...PACKED_PEERS], [PUSH_CLIENT, socketIo]);
  const t0 = Date.now();
  const r = await measurePacked(cases, {
    bundlers,
    onProgress: (line) => console.error(`  [size ${((Date.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  const largest = (id: string) => Math.max(...bundlers.map((b) => r.cases[id][b]!.upFront));
  const vsSocketIo = (bytes: number) => (bytes / largest(socketIo.id)).toFixed(2) + '×';
  const rows: Cell[][] = cases.map((c) => [c.label, ...BUNDLERS.map((b) => r.cases[c.id][b]?.upFront), largest(c.id), vsSocketIo(largest(c.id))]);
  const cdns = (await Promise.all(CDN_SCRIPTS.map(measureCdnScript))).filter((c) => c !== undefined);
  for (const cdn of cdns)
    rows.push([`CDN \`${cdn.tag}\` \`${cdn.file}\` (no bundler, ${cdn.target})`, undefined, undefined, undefined, cdn.gzip, vsSocketIo(cdn.gzip)]);

  console.log(
    `\n## Size as an app ships it (bytes, gzip -9; production; loaded before any import() runs, less each bundler's empty app)\n\n` +
      `\`npm pack\` (${r.tarball.bytes.toLocaleString('en-US')} B tarball), installed into a scratch app by ${r.install}; ` +
      `empty app: ${bundlers.map((b) => `${b} ${r.empty[b]} B`).join(', ')}.\n`,
  );
  console.log(table(['what the app imports', 'Vite', 'webpack', 'esbuild', 'largest', 'vs socket.io-client'], rows, ['l', 'r', 'r', 'r', 'r', 'r']));
  for (const cdn of cdns)
    console.log(`\n\`${cdn.file}\` targets ${cdn.target}: ${cdn.browsers} and later` + (cdn.lazy ? `; ${cdn.lazy} B more by import() when share is on.` : '.'));

  const lazyOf = (id: string) => bundlers.map((b) => `${b} ${r.cases[id][b]!.lazy.toLocaleString('en-US')} B`).join(', ');
  console.log(`\nLoaded by import() only when used (tab sharing, \`share\`): ${lazyOf(PUSH_CLIENT.id)}.`);
  const verdicts: [string, keyof typeof PACKED_BUDGET][] = [
    [PUSH_CLIENT.id, 'pushClient'],
    [PACKED_CORE_WEBSOCKET.id, 'coreWebSocket'],
  ];
  for (const [id, key] of verdicts) {
    if (!r.cases[id]) continue;
    const over = bundlers.filter((b) => r.cases[id][b]!.upFront > PACKED_BUDGET[key][b]);
    const target = PACKED_TARGET[key];
    console.log(
      `${id}: budget ${over.length ? `OVER in ${over.map((b) => `${b} (${r.cases[id][b]!.upFront} > ${PACKED_BUDGET[key][b]})`).join(', ')}` : 'ok'}; ` +
        `target ${target} B (the largest): ${largest(id) <= target ? 'met' : `missed by ${largest(id) - target} B`}.`,
    );
  }
  await runPackedParts(bundlers);
  const vite = r.cases[PUSH_CLIENT.id].vite?.upFront;
  for (const cdn of vite === undefined ? [] : cdns)
    console.log(
      `A \`${cdn.tag}\` user loads ${cdn.gzip} B up front, a Vite user ${vite} B: ${(((cdn.gzip - vite!) / vite!) * 100).toFixed(1)} % more (issue 20 asks at most 10 %).`,
    );
  return {
    packed: Object.fromEntries(cases.map((c) => [c.id, Object.fromEntries(bundlers.map((b) => [b, r.cases[c.id][b]!.upFront]))])),
    cdn: cdns[0]?.gzip ?? NaN,
  };
}

/** What each part of push-client/core adds to core + webSocket, packed and built as above (not in smoke mode). */
async function runPackedParts(bundlers: readonly Bundler[]): Promise<void> {
  const partBundlers = bundlers.filter((b) => b !== 'webpack'); // webpack's figures follow Vite's within a few bytes, at 5x the time
  const parts = byMode(CORE_PARTS, CORE_PARTS, []);
  if (!parts.length) return;
  const r = await measurePacked([PACKED_CORE_WEBSOCKET, ...parts], { bundlers: partBundlers });
  const base = r.cases[PACKED_CORE_WEBSOCKET.id];
  const rows: Cell[][] = parts.map((part) => [part.adds, ...partBundlers.map((b) => r.cases[part.id][b]!.upFront - base[b]!.upFront)]);
  console.log(
    `\nWhat each part adds to \`push-client/core\` + \`webSocket\` (${partBundlers.map((b) => `${b} ${base[b]!.upFront} B`).join(', ')}), packed, gzip -9 up front:\n`,
  );
  console.log(table(['part', ...partBundlers.map((b) => `${b} (B)`)], rows));
}

/** Source-level: esbuild on src/ (not the package), parts stubbed out to see what each costs. */
async function runSourceLevel(): Promise<{ core: number; coreWebSocket: number }> {
  const rows: Cell[][] = [];
  const core = await measure(CORE);
  const verdict = (gz: number, budget: number, target?: number) =>
    (gz <= budget ? `ok (≤ ${budget})` : `OVER ${budget} by ${gz - budget}`) +
    (target ? `; target ${target}: ${gz <= target ? 'met' : `missed by ${gz - target}`}` : '');
  rows.push(['push-client (WS + SSE + long-poll)', core.min, core.gzip, core.brotli, verdict(core.gzip, BUDGET.core, TARGET.core)]);
  const coreWebSocket = await measure(CORE_WEBSOCKET);
  rows.push([
    'push-client/core + webSocket only',
    coreWebSocket.min,
    coreWebSocket.gzip,
    coreWebSocket.brotli,
    verdict(coreWebSocket.gzip, BUDGET.coreWebSocket, TARGET.coreWebSocket),
  ]);
  rows.push(['  + tab sharing (`share`: loaded by import() when used)', core.lazy?.min, core.lazy?.gzip, undefined, 'not loaded unless share is on']);
  const development = await measure({ ...CORE, development: true });
  rows.push([
    '  development build (+ every option checked)',
    development.min - core.min,
    development.gzip - core.gzip,
    development.brotli - core.brotli,
    'not in production builds',
  ]);
  const withFetch = await measure(CORE_FETCH_SSE);
  rows.push([
    '  + FetchEventSource (opt-in: SSE headers, status)',
    withFetch.min - core.min,
    withFetch.gzip - core.gzip,
    withFetch.brotli - core.brotli,
    'not in the core',
  ]);
  for (const b of BINDINGS) {
    const entry = bindingEntry(b);
    if (!entry) {
      rows.push([`push-client/${b} (adds)`, undefined, undefined, undefined, `missing: src/${b}/index.ts`]);
      continue;
    }
    const s = await measure({ entry, binding: true });
    rows.push([`push-client/${b} (adds)`, s.min, s.gzip, s.brotli, verdict(s.gzip, BUDGET.binding)]);
  }
  console.log('\n## Source-level (esbuild 0.28 on src/, not the package: bundle, minify, ESM, browser, es2022; production; bytes)\n');
  console.log(table(['bundle', 'min', 'min+gzip -9', 'min+brotli 11', 'budget (gzip)'], rows));
  const parts: Cell[][] = [];
  for (const p of PARTS) {
    const s = await measure({ ...CORE, stubs: p.stubs });
    parts.push([p.part, core.gzip - s.gzip, ((100 * (core.gzip - s.gzip)) / core.gzip).toFixed(1) + ' %']);
  }
  const transports = parts[3][1] as number;
  const rest = core.gzip - transports - parts.slice(4).reduce((n, r) => n + (r[1] as number), 0);
  parts.push([
    'the rest: the core PushClient (connecting, fallback, backoff, status, receive dispatch, the hooks features use), options and URLs, PushError and the wire format',
    rest,
    ((100 * rest) / core.gzip).toFixed(1) + ' %',
  ]);
  console.log(
    `\nWhat each part of push-client costs, source-level (its gzip minus its gzip with that part stubbed out; esbuild on src/); the target is ${TARGET.core} B:\n`,
  );
  console.log(table(['part', 'gzip bytes', 'share'], parts));
  if (core.gzip > BUDGET.core) {
    console.log(`\nCore is over its ${BUDGET.core} B gzip budget; minified bytes per source file (esbuild metafile):\n`);
    console.log(
      table(
        ['file', 'min bytes', 'share'],
        contributors(core.metafile)
          .filter((c) => c.bytes > 0)
          .map((c) => [c.file, c.bytes, ((100 * c.bytes) / core.min).toFixed(1) + ' %']),
      ),
    );
  }
  return { core: core.gzip, coreWebSocket: coreWebSocket.gzip };
}

if (isMain(import.meta.url)) await run();
