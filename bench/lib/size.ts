/**
 * Source-level bundle size, shared by `bench/size.ts` and `test/size.test.ts`: esbuild on src/ (not
 * the package) with bundle, minify, format esm, platform browser, target es2022; then gzip -9 and
 * brotli quality 11; parts can be stubbed out to see what each costs. What an app ships from the
 * package is measured by bench/lib/packed-size.ts; the budgets and markers for both are here.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Source-level (`measure`, esbuild on src/), enforced by test/size.test.ts: regression guards at the measured size plus a little headroom, not
 * the goals (TARGET). Lower them as the client shrinks; raise one only for a correctness fix or an
 * issue's feature, and say here which. Measured as an app's production build gets it
 * (`process.env.NODE_ENV` "production": the option checks are left out; code loaded by import()
 * only when used, tab sharing, is counted apart). Since 6,894 B (all three, with option checks):
 * issue 12 took the checks out (-700) and split the client in pieces; issue 14's retry handover for
 * plain SSE servers (+430, SSE transport only) and FetchEventSource exactness; issue 13's sharing
 * hooks in the client (+400, and ~170 for the chunk the lazy part shares); issue 15's $batch
 * unfolding (+90), then its one line per event (+130, SSE only, read without a split per line: 20 % less client time per small event). Then 8,196 and 6,159 B. Issue 20's layering (features as values): core + webSocket 5,125 B, and push-client +600 B for the hooks features use (the features' property reads of the client's internals do not minify). Now 8,799 and 5,125 B (4,993 B once tab sharing became an entry of its own). Issue 21: a client that never wedges (one guard for the app's code and re-entry; a policy or transport that throws) and `attempt` notifications with the reason of every move, +270 B (the WebSocket's "did not open" and its cause 32 of them): 9,059 and 5,263 B. Issue 22's long-poll cursor (each poll names the last id it got): about +15, long-poll only.
 */
export const BUDGET = { core: 9150, coreWebSocket: 5320, binding: 600 } as const;
/** Issue 12's targets: `push-client` with all three transports, and `push-client/core` with `webSocket` only (partysocket's size). */
export const TARGET = { core: 5000, coreWebSocket: 4061 } as const;

/**
 * Enforced by test/size.test.ts: what an app's production build loads up front from the packed
 * package (bench/lib/packed-size.ts: `npm pack`, installed, built by each bundler, gzip -9 per file,
 * less the empty app), per bundler. Set at the figures first measured that way plus ~2 % (issue 20:
 * Vite 10,010 / webpack 10,512 / esbuild 10,205 B; core + webSocket 6,396 / 7,095 / 8,265 B, the
 * latter with SSE and long-poll code esbuild could not drop). After one module per source module and
 * the layered core: push-client 8,843 / 9,397 / 8,944 B, core + webSocket 4,673 / 4,855 / 4,952 B.
 * Issue 21 (the client never wedges, and says why it fell back; see BUDGET): push-client 9,052 /
 * 9,627 / 9,210 B, core + webSocket 4,911 / 5,088 / 5,231 B; the budgets are those plus ~1 %.
 */
export const PACKED_BUDGET = {
  pushClient: { vite: 9150, webpack: 9720, esbuild: 9300 },
  coreWebSocket: { vite: 4960, webpack: 5140, esbuild: 5290 },
} as const;
/** Issue 20's targets, for the largest of the three bundlers (partysocket ships 2.6 kB). */
export const PACKED_TARGET = { pushClient: 7000, coreWebSocket: 4000 } as const;

/**
 * String literals only one client module holds (its error messages), so finding one in a bundle
 * means that module's code shipped: what the tree-shaking checks in test/size.test.ts look for.
 * Keep them in step with the sources; the test also checks each is still in the CDN script (which
 * has every module), so a renamed message fails there instead of passing unnoticed.
 */
export const CODE_MARKERS = {
  /** src/transports/eventsource.ts */
  sse: ['EventSource error', 'no EventSource: pass options.EventSource'],
  /** src/transports/longpoll.ts */
  longPoll: ['long-poll request failed', 'long-poll: no hello from server'],
  /** src/transports/http.ts (requests and sends for SSE and long-poll) */
  http: ['invalid UTF-8'],
  /** src/transports/fetch-event-source.ts (opt-in) */
  fetchEventSource: ['An invalid or illegal string was specified', 'response is not text/event-stream'],
  /** src/client/share.ts and src/transports/tab.ts, which only share.ts imports */
  share: ['the leader closed', 'the leader tab is gone'],
} as const;

export interface Size {
  min: number;
  gzip: number;
  brotli: number;
  /** Chunks loaded only by `import()` when a feature is used (tab sharing). */
  lazy?: { min: number; gzip: number };
  metafile: Metafile;
  code: string;
}

export function compressed(code: string | Uint8Array): { gzip: number; brotli: number } {
  const buf = Buffer.from(code);
  return {
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

/** Frameworks are peer dependencies: never counted in a binding. */
const FRAMEWORKS = ['react', 'react/*', 'react-dom', 'react-dom/*', 'vue', 'vue/*', 'svelte', 'svelte/*', 'push-client', 'push-client/*'];

/**
 * Marks every module outside `dir` as external: bundling a binding this way counts only the bytes
 * the binding itself adds on top of the client (which the app has anyway).
 */
function onlyInside(dir: string): Plugin {
  return {
    name: 'only-inside',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind === 'entry-point') return;
        const abs = path.resolve(args.resolveDir, args.path);
        if (abs === dir || abs.startsWith(dir + path.sep)) return;
        return { path: args.path, external: true };
      });
    },
  };
}

/** Replaces modules (by path suffix) with the given source: what the bundle weighs without them. */
function stub(stubs: Record<string, string>): Plugin {
  return {
    name: 'stub',
    setup(b) {
      b.onLoad({ filter: /\.(ts|mjs)$/ }, (args) => {
        const hit = Object.keys(stubs).find((k) => args.path.endsWith(k));
        return hit === undefined ? undefined : { contents: stubs[hit], loader: 'js' };
      });
    },
  };
}

/** Resolves the virtual entry `size-entry` to `contents`, from the repository root. */
function virtualEntry(contents: string): Plugin {
  return {
    name: 'virtual-entry',
    setup(b) {
      b.onResolve({ filter: /^size-entry$/ }, () => ({ path: 'size-entry', namespace: 'size-entry' }));
      b.onLoad({ filter: /.*/, namespace: 'size-entry' }, () => ({ contents, loader: 'js', resolveDir: root }));
    },
  };
}

/**
 * Bundles `entry` (a file, or `contents` as a virtual entry resolved from the repo root) with code
 * splitting, as an app's bundler does: what is loaded with `import()` only when used (tab sharing)
 * goes in chunks of its own, counted apart as `lazy`; the size is what the page loads up front.
 * `binding`: keep only the files under the entry's folder.
 */
export async function measure(opts: {
  entry?: string;
  contents?: string;
  binding?: boolean;
  stubs?: Record<string, string>;
  development?: boolean;
}): Promise<Size> {
  const r = await build({
    entryPoints: { entry: opts.contents !== undefined ? 'size-entry' : opts.entry! },
    bundle: true,
    minify: true,
    splitting: true,
    outdir: path.join(root, 'size-out'),
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    legalComments: 'eof', // esbuild's default: licence comments ship
    logLevel: 'silent',
    absWorkingDir: root,
    define: { 'process.env.NODE_ENV': opts.development ? '"development"' : '"production"' },
    external: opts.binding ? FRAMEWORKS : [],
    plugins: [
      ...(opts.contents !== undefined ? [virtualEntry(opts.contents)] : []),
      ...(opts.binding ? [onlyInside(path.dirname(path.resolve(root, opts.entry!)))] : []),
      ...(opts.stubs ? [stub(opts.stubs)] : []),
    ],
  });
  const text = new Map(r.outputFiles.map((f) => [path.relative(root, f.path), f.text]));
  const outputs = r.metafile.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint && o.endsWith('.js'))!;
  // The entry and what it imports statically load up front; chunks reached only by import() do not.
  const upFront = new Set<string>();
  const visit = (o: string) => {
    if (upFront.has(o)) return;
    upFront.add(o);
    for (const i of outputs[o].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  const lazy = Object.keys(outputs).filter((o) => o.endsWith('.js') && !upFront.has(o));
  const code = [...upFront].map((o) => text.get(o)!).join('\n');
  const lazyCode = lazy.map((o) => text.get(o)!).join('\n');
  return {
    min: Buffer.byteLength(code),
    ...compressed(code),
    lazy: lazyCode ? { min: Buffer.byteLength(lazyCode), gzip: compressed(lazyCode).gzip } : undefined,
    metafile: { ...r.metafile, outputs: Object.fromEntries([...upFront].map((o) => [o, outputs[o]])) },
    code,
  };
}

/**
 * The client's browser bundle, as an app imports it (the main class, like the peers below): all
 * three transports, nothing external. Opt-ins (FetchEventSource) are measured apart.
 */
export const CORE = { contents: `export { PushClient } from './src/index.ts';` };
/** `push-client/core` with the WebSocket transport alone: what a WebSocket-only app ships. */
export const CORE_WEBSOCKET = { contents: `export { PushClient, webSocket } from './src/core.ts';` };
/** The core plus the fetch-based EventSource an app adds for SSE headers or HTTP status codes. */
export const CORE_FETCH_SSE = { contents: `export { PushClient, FetchEventSource } from './src/index.ts';` };

export const BINDINGS = ['react', 'vue', 'svelte'] as const;

/** The entry file of a binding, or undefined while it does not exist. */
export function bindingEntry(name: string): string | undefined {
  for (const f of ['index.ts', 'index.tsx', 'index.js']) {
    const p = path.join('src', name, f);
    if (existsSync(path.join(root, p))) return p;
  }
  return undefined;
}

/** Bytes each input file contributes to the output, largest first. */
export function contributors(m: Metafile): { file: string; bytes: number }[] {
  return Object.values(m.outputs)
    .flatMap((out) => Object.entries(out.inputs))
    .map(([file, v]) => ({ file: file.replace(/^.*node_modules\//, 'node_modules/'), bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
}

const noTransport = (name: string, value: string) => `export const ${name} = { name: '${value}', tag: '', scheme: 'http', create: () => ({}) };`;
const NO_WS = { 'src/transports/websocket.ts': noTransport('webSocket', 'websocket') };
const NO_SSE = { 'src/transports/eventsource.ts': noTransport('eventSource', 'eventsource') };
const NO_LP = { 'src/transports/longpoll.ts': noTransport('longPoll', 'longpoll') };

/** A feature (push-client/core's plugins, passed as values) that adds nothing: what the client weighs without it. */
const noFeature = (name: string) => `export const ${name} = () => ({});`;

export const PARTS: { part: string; stubs: Record<string, string> }[] = [
  { part: 'WebSocket transport alone', stubs: NO_WS },
  { part: 'SSE transport alone', stubs: NO_SSE },
  { part: 'long-poll transport alone', stubs: NO_LP },
  { part: 'all three transports (with HTTP sends, SSE parsing)', stubs: { ...NO_WS, ...NO_SSE, ...NO_LP } },
  { part: 'feature: transport memory (sessionStorage)', stubs: { 'src/client/memory.ts': noFeature('transportMemory') } },
  { part: 'feature: page lifecycle (online, visibility)', stubs: { 'src/client/page.ts': noFeature('pageLifecycle') } },
  { part: 'feature: channels (join, leave, acknowledged, re-joined on reconnect)', stubs: { 'src/client/channels.ts': noFeature('channels') } },
  { part: 'feature: upgrade probes (back to a preferred transport)', stubs: { 'src/client/upgrade.ts': noFeature('upgrade') } },
  { part: 'feature: tab sharing hooks (the sharing itself loads by import())', stubs: { 'src/client/tab-sharing.ts': noFeature('tabSharing') } },
  { part: 'mitt (lifecycle emitter)', stubs: { 'mitt/dist/mitt.mjs': 'export default () => ({ emit() {} });' } },
  { part: 'send queue (bounded, in order on open)', stubs: { 'src/client/sending.ts': 'export const createSending = () => ({ send() {}, flush() {} });' } },
  {
    part: 'liveness (heartbeat watch by the clock)',
    stubs: { 'src/client/liveness.ts': 'export const createLiveness = () => ({ heard() {}, alive() {}, start() {}, stop() {}, serverInterval() {} });' },
  },
  {
    part: 'resume point and dedup across reconnects and upgrades',
    stubs: {
      'src/client/resume.ts':
        'export const createResumePoint = () => ({ get() {}, startAt() {}, accept() { return true; }, forgetRecent() {}, watchProbe() {}, connected() {} });',
    },
  },
];
