/**
 * One way of measuring bundle size, shared by `bench/size.ts` and `test/size.test.ts`: esbuild with
 * bundle, minify, format esm, platform browser, target es2022; then gzip -9 and brotli quality 11.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Enforced by test/size.test.ts. The core's budget is a regression guard at the measured size plus a
 * little headroom, not the goal: issue 6's target is 4,000 B and the core misses it (about 6,500 B:
 * three transports, resume and dedup, upgrade probes, channels and option validation; `npm run
 * bench -- size` prints what each part costs). Lower it as the core shrinks; raise it only for a
 * correctness fix, and say here which. 6,700 -> 6,900: close() and throws from listeners (each
 * lifecycle listener run on its own), send data serialised once at send(), channel changes during
 * an upgrade, ids of plain servers across connections, the server's heartbeat interval and timer
 * options longer than a timer can wait (core 6,570 -> 6,812 B).
 */
export const BUDGET = { core: 6900, binding: 600 } as const;
/** Issue 6's target for the core, reported beside the measured figure. */
export const TARGET = { core: 4000 } as const;

export interface Size {
  min: number;
  gzip: number;
  brotli: number;
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

/**
 * Bundles `entry` (a file, or `contents` as a virtual entry resolved from the repo root).
 * `binding`: keep only the files under the entry's folder.
 */
export async function measure(opts: { entry?: string; contents?: string; binding?: boolean; stubs?: Record<string, string> }): Promise<Size> {
  const r = await build({
    ...(opts.contents !== undefined
      ? { stdin: { contents: opts.contents, resolveDir: root, loader: 'js', sourcefile: 'entry.js' } }
      : { entryPoints: [opts.entry!] }),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    legalComments: 'eof', // esbuild's default: licence comments ship
    logLevel: 'silent',
    absWorkingDir: root,
    define: { 'process.env.NODE_ENV': '"production"' },
    external: opts.binding ? FRAMEWORKS : [],
    plugins: [
      ...(opts.binding ? [onlyInside(path.dirname(path.resolve(root, opts.entry!)))] : []),
      ...(opts.stubs ? [stub(opts.stubs)] : []),
    ],
  });
  const code = r.outputFiles[0].text;
  return { min: Buffer.byteLength(code), ...compressed(code), metafile: r.metafile, code };
}

/**
 * The client's browser bundle, as an app imports it (the main class, like the peers below): all
 * three transports, nothing external. Opt-ins (FetchEventSource) are measured apart.
 */
export const CORE = { contents: `export { PushClient } from './src/index.ts';` };
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
  const out = Object.values(m.outputs)[0];
  return Object.entries(out.inputs)
    .map(([file, v]) => ({ file: file.replace(/^.*node_modules\//, 'node_modules/'), bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Peers, each bundled from its package entry the way an app imports it (the main class only), so
 * that tree-shaking treats them as it treats push-client's own entry.
 */
export const PEERS: { name: string; note: string; contents: string }[] = [
  { name: 'socket.io-client', note: 'WS + HTTP polling', contents: `export { io } from 'socket.io-client';` },
  { name: '@microsoft/signalr', note: 'WS + SSE + long-poll', contents: `export { HubConnectionBuilder } from '@microsoft/signalr';` },
  { name: 'centrifuge', note: 'WS + SSE + HTTP stream', contents: `export { Centrifuge } from 'centrifuge';` },
  { name: 'sockjs-client', note: 'WS + XHR/iframe fallbacks', contents: `export { default } from 'sockjs-client';` },
  { name: 'partysocket', note: 'WS only', contents: `export { default } from 'partysocket';` },
  { name: 'reconnecting-websocket', note: 'WS only', contents: `export { default } from 'reconnecting-websocket';` },
];

const NO_WS = { 'src/transports/websocket.ts': 'export const webSocket = () => ({});' };
const NO_SSE = { 'src/transports/eventsource.ts': 'export const eventSource = () => ({});' };
const NO_LP = { 'src/transports/longpoll.ts': 'export const longPoll = () => ({});' };

/**
 * What each part of the core costs, gzip: the core's size minus its size with that part replaced by
 * a no-op. The parts overlap a little in what gzip shares between them, so they do not quite add up.
 */
export const PARTS: { part: string; stubs: Record<string, string> }[] = [
  { part: 'WebSocket transport alone', stubs: NO_WS },
  { part: 'SSE transport alone', stubs: NO_SSE },
  { part: 'long-poll transport alone', stubs: NO_LP },
  { part: 'all three transports (with HTTP sends, SSE parsing)', stubs: { ...NO_WS, ...NO_SSE, ...NO_LP } },
  {
    part: 'option validation',
    stubs: {
      // LONGEST stays: PushClient.ts imports it from options.ts for its timer caps, not for validation.
      'src/client/options.ts': `export const ALL = ['websocket', 'eventsource', 'longpoll'], LONGEST = 2 ** 31 - 1;
        export const resolveOptions = (u, o) => ({ ...o, urls: { websocket: u, eventsource: u, longpoll: u }, transports: ALL, reconnect: {} });`,
    },
  },
  { part: 'transport memory (sessionStorage)', stubs: { 'src/client/memory.ts': 'export const recall = () => {}, remember = () => {};' } },
  { part: 'page lifecycle (online, visibility)', stubs: { 'src/client/page.ts': 'export const watchPage = () => () => {};' } },
  { part: 'mitt (lifecycle emitter)', stubs: { 'mitt/dist/mitt.mjs': 'export default () => ({ emit() {} });' } },
];
