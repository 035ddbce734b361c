/**
 * Size as users meet it: the package packed exactly as published (`npm pack`), installed into a
 * scratch app, and built for production by the bundlers apps use (Vite, webpack, esbuild with
 * code splitting). Measured is what the page loads before any `import()` runs, the entry and the
 * chunks it imports statically, each file gzip -9 (the sum of per-file sizes, as a browser fetches
 * them), less what the same bundler emits for an empty app. Chunks reached only by `import()` are
 * counted apart (`lazy`). Used by `bench/size.ts` and `test/size.test.ts`; it assumes nothing about
 * how dist/ is laid out, only that `npm pack` ships it.
 *
 * The scratch app lives under `.cache/size-app/` (git-ignored) inside the repository, so that the
 * peers it builds (socket.io-client, SignalR, centrifuge, partysocket) resolve from the repository's
 * node_modules by the usual walk up the folders: the versions package-lock.json pins, with nothing
 * fetched. push-client itself does not resolve that way (the repository is not in node_modules):
 * only the tarball's copy is found.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { root } from './size';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export const BUNDLERS = ['vite', 'webpack', 'esbuild'] as const;
export type Bundler = (typeof BUNDLERS)[number];

/** An app to build: `main` is its main.js, which imports something and keeps it alive without calling it. */
export interface PackedCase {
  /** Short and file-name safe: the folder the case is built in. */
  id: string;
  /** What the app imports, as a table shows it. */
  label: string;
  main: string;
}

/** What one bundler's production build of one app loads. */
export interface BundleSize {
  /** gzip -9 bytes loaded before any `import()` runs, less the same bundler's empty app. */
  upFront: number;
  /** The same, without taking the empty app off. */
  upFrontTotal: number;
  /** gzip -9 bytes of the chunks only `import()` reaches (loaded when a feature is used). */
  lazy: number;
  files: { file: string; upFront: boolean; bytes: number; gzip: number }[];
  /** The up-front JavaScript, file after file: for checks on what it contains. */
  code: string;
  lazyCode: string;
}

export interface PackedSizes {
  /** How the tarball got into the scratch app. */
  install: 'npm install' | 'extracted';
  tarball: { file: string; bytes: number };
  /** gzip -9 bytes each bundler's empty app loads (`window.x = 1`): taken off every case. */
  empty: Partial<Record<Bundler, number>>;
  cases: Record<string, Partial<Record<Bundler, BundleSize>>>;
}

/** The cases the bench and the test build: each imports the main class, as an app does. */
export const PUSH_CLIENT: PackedCase = {
  id: 'push-client',
  label: '`PushClient` from `push-client`',
  main: `import { PushClient } from 'push-client';\nwindow.x = PushClient;\n`,
};
/** Used as `new PushClient(url, { transports: [webSocket] })`: both stay referenced, nothing runs. */
export const CORE_WEBSOCKET: PackedCase = {
  id: 'core-websocket',
  label: '`PushClient` + `webSocket` from `push-client/core`',
  main: `import { PushClient, webSocket } from 'push-client/core';\nwindow.x = [PushClient, webSocket];\n`,
};
/**
 * What each part of `push-client/core` adds, measured as the rest is: core + `webSocket` with one
 * more part, less core + `webSocket` alone (a part's bytes depend on the bundler and on what the
 * bundle already has, so it is measured in place, not on its own).
 */
export const CORE_PARTS: (PackedCase & { adds: string })[] = [
  ['eventSource', 'the SSE transport (with HTTP sends)'],
  ['longPoll', 'the long-poll transport (with HTTP sends)'],
  ['channels', 'feature: channels'],
  ['upgrade', 'feature: upgrade probes'],
  ['pageLifecycle', 'feature: page lifecycle'],
  ['transportMemory', 'feature: transport memory'],
  ['tabSharing', 'feature: tab sharing hooks (sharing itself loads by import())'],
  ['FetchEventSource', 'FetchEventSource (opt-in: SSE headers, HTTP status)'],
].map(([name, adds]) => ({
  id: 'core-websocket+' + name,
  label: `core + \`webSocket\` + \`${name}\``,
  adds,
  main:
    `import { PushClient, webSocket } from 'push-client/core';\nimport { ${name} } from '${name === 'tabSharing' ? 'push-client/sharing' : 'push-client/core'}';\n` +
    `window.x = [PushClient, webSocket, ${name}];\n`,
}));

export const PEERS: PackedCase[] = [
  { id: 'socket.io-client', label: 'socket.io-client (`io`)', main: `import { io } from 'socket.io-client';\nwindow.x = io;\n` },
  {
    id: 'signalr',
    label: '@microsoft/signalr (`HubConnectionBuilder`)',
    main: `import { HubConnectionBuilder } from '@microsoft/signalr';\nwindow.x = HubConnectionBuilder;\n`,
  },
  { id: 'centrifuge', label: 'centrifuge (`Centrifuge`)', main: `import { Centrifuge } from 'centrifuge';\nwindow.x = Centrifuge;\n` },
  { id: 'partysocket', label: 'partysocket (`WebSocket`)', main: `import { WebSocket } from 'partysocket';\nwindow.x = WebSocket;\n` },
];
/** The baseline: what a bundler emits for an app with nothing in it (its runtime, Vite's preload polyfill). */
const EMPTY: PackedCase = { id: 'empty', label: 'empty app', main: `window.x = 1;\n` };

export const gzip9 = (b: string | Uint8Array): number => gzipSync(Buffer.from(b), { level: 9 }).length;

/**
 * Packs the repository as published (`npm pack --ignore-scripts`: dist/ as it is, `prepack`'s build
 * skipped) and installs the tarball into a fresh scratch app under `.cache/size-app/`. `build`: run
 * `npm run build` first (callers normally have a fresh dist/). Returns the app's folder: remove it
 * with `rmSync(app, { recursive: true })` when done.
 */
export async function packAndInstall(opts: { build?: boolean } = {}): Promise<{
  app: string;
  install: PackedSizes['install'];
  tarball: PackedSizes['tarball'];
}> {
  if (opts.build) await run(npm, ['run', '--silent', 'build'], { cwd: root, maxBuffer: 64 << 20 });
  const parent = path.join(root, '.cache', 'size-app');
  mkdirSync(parent, { recursive: true });
  // A folder of its own per run: a bench and a test may run at once.
  const app = mkdtempSync(path.join(parent, 'app-'));
  const packDir = mkdtempSync(path.join(os.tmpdir(), 'push-client-pack-'));
  try {
    const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: root, maxBuffer: 64 << 20 });
    const tgz = path.join(packDir, (JSON.parse(stdout) as { filename: string }[])[0].filename);
    const tarball = { file: path.basename(tgz), bytes: statSync(tgz).size };
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'size-app', private: true, version: '0.0.0', dependencies: { 'push-client': `file:${tgz}` } }, null, 2),
    );
    let install: PackedSizes['install'] = 'npm install';
    try {
      // From npm's cache when it has the dependencies (after `npm ci` it does): no network needed.
      await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], {
        cwd: app,
        maxBuffer: 64 << 20,
      });
    } catch {
      // Offline and a dependency not in the cache: unpack the tarball as npm would have. Its
      // dependencies (mitt) then resolve from the repository's node_modules, one folder up the walk.
      install = 'extracted';
      const target = path.join(app, 'node_modules', 'push-client');
      rmSync(target, { recursive: true, force: true });
      mkdirSync(target, { recursive: true });
      await run('tar', ['-xzf', tgz, '-C', target, '--strip-components=1']);
    }
    return { app, install, tarball };
  } catch (e) {
    rmSync(app, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

interface Emitted {
  /** Absolute paths of the JavaScript files the page loads up front, and of those only `import()` reaches. */
  upFront: string[];
  lazy: string[];
}

/** Vite: index.html loads main.js as a module; the manifest tells static imports from dynamic ones. */
async function viteBuild(dir: string, out: string): Promise<Emitted> {
  const { build } = await import('vite');
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html>\n<html><body><script type="module" src="/main.js"></script></body></html>\n');
  // Vite replaces `process.env.NODE_ENV` with this process's own when it is set (vitest sets
  // "test"), and sets "production" only when it is not: as `vite build` runs in an app's shell.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      mode: 'production',
      build: { outDir: out, emptyOutDir: true, manifest: true },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  const manifest = JSON.parse(readFileSync(path.join(out, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    { file: string; isEntry?: boolean; imports?: string[]; dynamicImports?: string[] }
  >;
  const upFront = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || upFront.has(chunk.file)) return;
    upFront.add(chunk.file);
    for (const i of chunk.imports ?? []) visit(i);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  return split(out, upFront);
}

/** webpack as a default app builds: mode production, its default target and output; the entrypoint's assets load up front. */
async function webpackBuild(dir: string, out: string): Promise<Emitted> {
  const { default: webpack } = await import('webpack');
  const compiler = webpack({
    mode: 'production',
    context: dir,
    entry: './main.js',
    output: { path: out, clean: true },
    infrastructureLogging: { level: 'none' },
  });
  const stats = await new Promise<import('webpack').Stats>((resolve, reject) =>
    compiler.run((err, s) => {
      compiler.close(() => {});
      if (err || !s) reject(err ?? new Error('webpack: no stats'));
      else if (s.hasErrors()) reject(new Error(s.toString({ all: false, errors: true })));
      else resolve(s);
    }),
  );
  const json = stats.toJson({ all: false, entrypoints: true });
  const upFront = new Set(Object.values(json.entrypoints ?? {}).flatMap((e) => (e.assets ?? []).map((a) => a.name)));
  return split(out, upFront);
}

/** esbuild as an app's build script calls it: bundle, minify, splitting, ESM, browser; the metafile gives each output's imports. */
async function esbuildBuild(dir: string, out: string): Promise<Emitted> {
  const { build } = await import('esbuild');
  rmSync(out, { recursive: true, force: true });
  const r = await build({
    entryPoints: [path.join(dir, 'main.js')],
    absWorkingDir: dir,
    outdir: out,
    bundle: true,
    minify: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
    // esbuild sets this itself for platform browser with every minify option on; said here so that
    // production does not hang on that rule.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = r.metafile.outputs;
  const upFront = new Set<string>();
  const visit = (o: string) => {
    if (upFront.has(o)) return;
    upFront.add(o);
    for (const i of outputs[o].imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  // Every chunk an `import()` reaches is an entry point in the metafile too: start from main.js only.
  for (const [o, meta] of Object.entries(outputs)) if (meta.entryPoint === 'main.js') visit(o);
  // Metafile paths are relative to absWorkingDir; make them relative to `out` as the others are.
  return split(out, new Set([...upFront].map((o) => path.relative(out, path.join(dir, o)))));
}

/** Every JavaScript file under `out`, sorted into up front (`upFront`, paths relative to `out`) and lazy. */
function split(out: string, upFront: Set<string>): Emitted {
  const js = (readdirSync(out, { recursive: true }) as string[]).filter((f) => /\.m?js$/.test(f)).map((f) => f.split(path.sep).join('/'));
  const missing = [...upFront].filter((f) => /\.m?js$/.test(f) && !js.includes(f));
  if (missing.length) throw new Error(`up-front files not found in ${out}: ${missing.join(', ')}`);
  return {
    upFront: js.filter((f) => upFront.has(f)).map((f) => path.join(out, f)),
    lazy: js.filter((f) => !upFront.has(f)).map((f) => path.join(out, f)),
  };
}

const BUILD: Record<Bundler, (dir: string, out: string) => Promise<Emitted>> = { vite: viteBuild, webpack: webpackBuild, esbuild: esbuildBuild };

/** Builds `c` in the scratch app with one bundler and weighs what it emits. */
async function buildCase(app: string, c: PackedCase, bundler: Bundler): Promise<Omit<BundleSize, 'upFront'>> {
  const dir = path.join(app, c.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.js'), c.main);
  const emitted = await BUILD[bundler](dir, path.join(dir, `out-${bundler}`));
  const weigh = (file: string, upFront: boolean) => {
    const text = readFileSync(file);
    return { file: path.relative(dir, file), upFront, bytes: text.length, gzip: gzip9(text), text: text.toString('utf8') };
  };
  const files = [...emitted.upFront.map((f) => weigh(f, true)), ...emitted.lazy.map((f) => weigh(f, false))];
  const sum = (up: boolean) => files.filter((f) => f.upFront === up).reduce((n, f) => n + f.gzip, 0);
  const text = (up: boolean) =>
    files
      .filter((f) => f.upFront === up)
      .map((f) => f.text)
      .join('\n');
  return {
    upFrontTotal: sum(true),
    lazy: sum(false),
    files: files.map(({ text: _, ...f }) => f),
    code: text(true),
    lazyCode: text(false),
  };
}

/**
 * Packs and installs the package once, then builds every case with every bundler (one after the
 * other: the machine is shared), and the empty app with each bundler to take its bytes off.
 * `onProgress` hears each build as it finishes (the bench prints it; a full run takes a while).
 */
export async function measurePacked(
  cases: PackedCase[],
  opts: { bundlers?: readonly Bundler[]; build?: boolean; onProgress?: (line: string) => void } = {},
): Promise<PackedSizes> {
  const bundlers = opts.bundlers ?? BUNDLERS;
  const { app, install, tarball } = await packAndInstall({ build: opts.build });
  try {
    const result: PackedSizes = { install, tarball, empty: {}, cases: {} };
    for (const bundler of bundlers) {
      const empty = (await buildCase(app, EMPTY, bundler)).upFrontTotal;
      result.empty[bundler] = empty;
      for (const c of cases) {
        const t0 = Date.now();
        const s = await buildCase(app, c, bundler);
        (result.cases[c.id] ??= {})[bundler] = { upFront: s.upFrontTotal - empty, ...s };
        opts.onProgress?.(`${bundler} ${c.id}: ${s.upFrontTotal - empty} B up front, ${s.lazy} B lazy (${Date.now() - t0} ms)`);
      }
    }
    return result;
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}

/**
 * The browsers that run every feature of an ECMAScript edition (MDN's compatibility data, desktop):
 * what a script built for that target needs, before the Web APIs it calls.
 */
const EDITION_BROWSERS: Record<string, string> = {
  es2019: 'Chrome 73, Edge 79, Firefox 64, Safari 12.1',
  es2020: 'Chrome 80, Edge 80, Firefox 74, Safari 14',
  es2021: 'Chrome 85, Edge 85, Firefox 79, Safari 14.1',
  es2022: 'Chrome 94, Edge 94, Firefox 93, Safari 16.4',
};

/** The scripts a page loads from a CDN without a bundler; `config` is the rollup.config.ts function that builds it. */
export const CDN_SCRIPTS = [
  { file: 'dist/push-client.min.js', tag: '<script>', config: 'cdnBundle' },
  { file: 'dist/cdn/push-client.min.mjs', tag: '<script type="module">', config: 'cdnModule' },
] as const;

export interface CdnSize {
  file: string;
  tag: string;
  /** gzip -9 of the script and the modules it imports statically, each file as shipped. */
  gzip: number;
  /** gzip -9 of the modules only its `import()` reaches (tab sharing in the module script). */
  lazy: number;
  target: string;
  browsers: string;
}

/**
 * A CDN script as a page loads it: no bundler, each file as shipped, gzip -9; for a module script,
 * the modules it imports statically too (esbuild reads the import graph; nothing it emits is
 * weighed). Its ES target is read from the rollup.config.ts function that builds it. Undefined when
 * dist/ has no such file.
 */
export async function measureCdnScript(script: (typeof CDN_SCRIPTS)[number]): Promise<CdnSize | undefined> {
  const entry = path.join(root, script.file);
  if (!existsSync(entry)) return undefined;
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: 'esm',
    outdir: path.join(os.tmpdir(), 'push-client-cdn-graph'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = r.metafile.inputs;
  const reach = (from: string[], kinds: string[]) => {
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const i of inputs[f]?.imports ?? []) if (kinds.includes(i.kind)) visit(i.path);
    };
    for (const f of from) visit(f);
    return seen;
  };
  const start = path.relative(root, entry).split(path.sep).join('/');
  const upFront = reach([start], ['import-statement']);
  const lazy = [...reach([start], ['import-statement', 'dynamic-import'])].filter((f) => !upFront.has(f));
  const weigh = (files: Iterable<string>) => [...files].reduce((n, f) => n + gzip9(readFileSync(path.join(root, f))), 0);
  const config = readFileSync(path.join(root, 'rollup.config.ts'), 'utf8');
  const at = config.indexOf(`function ${script.config}`);
  const end = config.indexOf('\nexport ', at + 1);
  const body = at < 0 ? '' : config.slice(at, end < 0 ? undefined : end);
  const target = /target:\s*'(es\d+|esnext)'/.exec(body)?.[1] ?? 'unknown';
  return {
    file: script.file,
    tag: script.tag,
    gzip: weigh(upFront),
    lazy: weigh(lazy),
    target: target.toUpperCase(),
    browsers: EDITION_BROWSERS[target] ?? 'see rollup.config.ts',
  };
}
