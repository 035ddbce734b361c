import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type OutputOptions, type Plugin, type RollupOptions } from 'rollup';
import esbuild from 'rollup-plugin-esbuild';
import terser from '@rollup/plugin-terser';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/** Library entries: name (path under dist/, without extension) → source file. */
const entries = {
  index: 'src/index.ts',
  node: 'src/node.ts',
  core: 'src/core.ts',
  sharing: 'src/sharing.ts',
  'server/index': 'src/server/index.ts',
  'react/index': 'src/react/index.ts',
  'vue/index': 'src/vue/index.ts',
  'svelte/index': 'src/svelte/index.ts',
};

// In the ESM/CJS builds every dependency, peer dependency and Node built-in stays external
// (including deep imports such as `react/jsx-runtime` or `svelte/store`).
const externalPackages = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const builtins = new Set(builtinModules);
const isExternal = (id: string): boolean =>
  id.startsWith('node:') || builtins.has(id) || externalPackages.some((name) => id === name || id.startsWith(`${name}/`));

/** A path in the repository (this file's folder). */
const fromHere = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

const banner = `/*! push-client v${pkg.version} | MIT License */`;

const libPlugins = (): Plugin[] => [esbuild({ target: 'es2022', tsconfig: 'tsconfig.json' })];

/**
 * IIFE for <script> tags / CDNs: sets the global `PushClient` to the default export of
 * src/browser.ts. Dependencies (mitt) are bundled in. `production` is minified and leaves the option
 * checks out; `development` is readable and checks every option. Exported for the demo (examples/cdn-bundle.ts),
 * which builds this one file when it is missing or older than the sources: paths are resolved from
 * this file, not the working directory, so that it builds the same from anywhere.
 */
export function cdnBundle(file = 'dist/push-client.min.js', mode: 'production' | 'development' = 'production'): RollupOptions & { output: OutputOptions } {
  return {
    input: fromHere('src/browser.ts'),
    plugins: [
      nodeResolve({ browser: true, preferBuiltins: false }),
      esbuild({
        target: 'es2019',
        tsconfig: fromHere('tsconfig.json'),
        // The option checks run where `process.env.NODE_ENV` is not "production", and ask `typeof
        // process` first: a script tag has no bundler and no `process`, so each script gets its own.
        define: { process: JSON.stringify({ env: { NODE_ENV: mode } }) },
      }),
      ...(mode === 'production'
        ? [
            terser({
              ecma: 2019,
              compress: {
                passes: 2,
                unsafe_arrows: true,
                unsafe_methods: true,
                toplevel: false,
              },
              mangle: { toplevel: false },
              // Keep the public class names (PushClient, PushError, ...) readable in devtools/logs.
              keep_classnames: /^Push/,
              format: { comments: /^!/ },
            }),
          ]
        : []),
    ],
    output: {
      file: path.resolve(fromHere('.'), file),
      format: 'iife',
      name: 'PushClient',
      exports: 'default',
      banner,
      sourcemap: true,
      generatedCode: 'es2015',
      // A script tag is one file: tab sharing, loaded with import() by the modules, comes inline.
      inlineDynamicImports: true,
    },
  };
}

/**
 * The ES-module script for `<script type="module">` from a CDN: what a Vite app gets (ES2020, only
 * what `push-client` exports; the opt-in FetchEventSource is a module of its own), minified, with tab
 * sharing in a chunk of its own that the script loads with `import()` only when `share` is on, where
 * the classic IIFE script carries it inline.
 */
export function cdnModule(dir = 'dist/cdn'): RollupOptions & { output: OutputOptions } {
  return {
    input: { 'push-client.min': fromHere('src/cdn-module.ts'), 'fetch-event-source.min': fromHere('src/transports/fetch-event-source.ts') },
    plugins: [
      nodeResolve({ browser: true, preferBuiltins: false }),
      esbuild({ target: 'es2020', tsconfig: fromHere('tsconfig.json'), define: { 'process.env.NODE_ENV': JSON.stringify('production') } }),
      terser({
        ecma: 2020,
        module: true,
        compress: { passes: 2, unsafe_arrows: true, unsafe_methods: true },
        keep_classnames: /^Push/,
        format: { comments: /^!/ },
      }),
    ],
    output: {
      dir: path.resolve(fromHere('.'), dir),
      format: 'es',
      // One file up front: what FetchEventSource shares with the client (PushError, the HTTP and SSE
      // readers) stays in the client's script, which FetchEventSource's module imports; tab
      // sharing's own modules stay in their lazy chunk.
      manualChunks: (id) => (/[\\/](fetch-event-source|share|tab)\.ts$/.test(id) ? undefined : 'push-client.min'),
      entryFileNames: '[name].mjs',
      chunkFileNames: '[name]-[hash].min.mjs',
      banner,
      sourcemap: true,
    },
  };
}

export default defineConfig([
  // ESM + CJS for all entries, one output module per source module (`preserveModules`): an app's
  // bundler then drops every module the app does not reach (`sideEffects: false` works per module),
  // where one shared chunk made it keep every transport. Entries import the same module files, so
  // class identity (`instanceof`) still holds across subpath imports.
  {
    input: entries,
    external: isExternal,
    plugins: libPlugins(),
    output: [
      {
        dir: 'dist',
        format: 'es',
        preserveModules: true,
        preserveModulesRoot: 'src',
        entryFileNames: '[name].mjs',
        chunkFileNames: 'chunks/[name]-[hash].mjs',
        sourcemap: true,
        generatedCode: 'es2015',
        // Don't add `import 'mitt'` etc. to entries that only use them through a shared chunk.
        hoistTransitiveImports: false,
      },
      {
        dir: 'dist',
        format: 'cjs',
        preserveModules: true,
        preserveModulesRoot: 'src',
        entryFileNames: '[name].cjs',
        chunkFileNames: 'chunks/[name]-[hash].cjs',
        exports: 'named',
        interop: 'auto',
        sourcemap: true,
        generatedCode: 'es2015',
        hoistTransitiveImports: false,
      },
    ],
  },
  // IIFE scripts for <script> tags / CDNs: the minified production script, and a readable
  // development one that checks every option.
  cdnBundle('dist/push-client.min.js'),
  cdnBundle('dist/push-client.js', 'development'),
  cdnModule(),
]);
