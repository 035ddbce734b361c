/**
 * Size: the browser bundle (all three transports), each framework binding (only the bytes it adds:
 * client and framework external), and the peers' browser entries, all bundled the same way
 * (esbuild 0.28, bundle + minify, ESM, platform browser, target es2022), then gzip -9 and brotli 11.
 *
 *   npm run bench -- size
 */
import { BINDINGS, BUDGET, CORE, CORE_FETCH_SSE, CORE_WEBSOCKET, PARTS, PEERS, TARGET, bindingEntry, contributors, measure } from './lib/size';
import { isMain, table, type Cell } from './lib/table';

export async function run(): Promise<{ core: number; coreWebSocket: number; bindings: Record<string, number | undefined> }> {
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
  const bindings: Record<string, number | undefined> = {};
  for (const b of BINDINGS) {
    const entry = bindingEntry(b);
    if (!entry) {
      rows.push([`push-client/${b} (adds)`, undefined, undefined, undefined, `missing: src/${b}/index.ts`]);
      continue;
    }
    const s = await measure({ entry, binding: true });
    bindings[b] = s.gzip;
    rows.push([`push-client/${b} (adds)`, s.min, s.gzip, s.brotli, verdict(s.gzip, BUDGET.binding)]);
  }
  const peerRows: Cell[][] = [];
  for (const p of PEERS) {
    try {
      const s = await measure({ contents: p.contents });
      peerRows.push([`${p.name} (${p.note})`, s.min, s.gzip, s.brotli, (s.gzip / core.gzip).toFixed(2) + '×']);
    } catch (e) {
      peerRows.push([p.name, undefined, undefined, undefined, 'bundle failed: ' + (e as Error).message.split('\n')[0]]);
    }
  }
  console.log('\n## Size (esbuild 0.28: bundle, minify, ESM, browser, es2022; bytes)\n');
  console.log(table(['bundle', 'min', 'min+gzip -9', 'min+brotli 11', 'budget (gzip)'], rows));
  console.log();
  console.log(table(['peer (main class, as an app imports it)', 'min', 'min+gzip -9', 'min+brotli 11', 'gzip vs push-client'], peerRows));
  const parts: Cell[][] = [];
  for (const p of PARTS) {
    const s = await measure({ ...CORE, stubs: p.stubs });
    parts.push([p.part, core.gzip - s.gzip, ((100 * (core.gzip - s.gzip)) / core.gzip).toFixed(1) + ' %']);
  }
  const transports = parts[3][1] as number;
  const rest = core.gzip - transports - parts.slice(4).reduce((n, r) => n + (r[1] as number), 0);
  parts.push([
    'the rest: PushClient (connecting, fallback, upgrade probes, backoff, status, receive dispatch, the hooks tab sharing needs), options and URLs, PushError and the wire format',
    rest,
    ((100 * rest) / core.gzip).toFixed(1) + ' %',
  ]);
  console.log(`\nWhat each part of push-client costs (its gzip minus its gzip without that part); the target is ${TARGET.core} B:\n`);
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
  return { core: core.gzip, coreWebSocket: coreWebSocket.gzip, bindings };
}

if (isMain(import.meta.url)) await run();
