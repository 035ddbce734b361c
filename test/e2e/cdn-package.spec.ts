/**
 * What npm, unpkg and jsDelivr serve: package.json's entry points resolve to files that the build
 * wrote (run after `npm run build`, as `npm test` does before the e2e suite), and the `node` export
 * condition gives a plain Node process the Node client, over ESM `import` and CJS `require`, which
 * receives events over each transport from `push-client/server` (also from dist).
 * No browser: this is the e2e step because it needs the build.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, ROOT, test } from './fixtures';

test.describe.configure({ timeout: 60_000 });

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** Every file path in an `exports` value, with the conditions that lead to it. */
function targets(value: unknown, trail: string[] = []): [string, string][] {
  if (typeof value === 'string') return [[trail.join(' > '), value]];
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => targets(v, [...trail, k]));
  return [];
}

test('package.json entry points (exports, main, module, types, unpkg, jsdelivr) are built files', () => {
  const all: [string, string][] = [
    ...targets(pkg.exports, ['exports']),
    ...['main', 'module', 'types', 'unpkg', 'jsdelivr'].filter((k) => pkg[k]).map((k) => [k, pkg[k]] as [string, string]),
  ];
  expect(all.length).toBeGreaterThan(10);
  const missing = all.filter(([, file]) => !file.endsWith('package.json') && !existsSync(path.join(ROOT, file)));
  expect(missing, 'entry points without a file (run `npm run build`)').toEqual([]);
  // The CDN fields point at the minified classic script.
  expect(pkg.unpkg).toBe('./dist/push-client.min.js');
  expect(pkg.jsdelivr).toBe('./dist/push-client.min.js');
  expect(pkg.files).toContain('dist');
});

// Runs in a child `node` with the repository as its working directory, so that `push-client`
// resolves by the package's own name (self-reference) through its `exports`, as in an app.
const CHILD = `
import http from 'node:http';
import { createRequire } from 'node:module';
import { PushClient } from 'push-client';
import { createPushServer } from 'push-client/server';

const require = createRequire(process.cwd() + '/');
const cjs = require('push-client');
const out = {
  resolved: { esm: import.meta.resolve('push-client'), server: import.meta.resolve('push-client/server'), cjs: require.resolve('push-client') },
  globals: { WebSocket: typeof globalThis.WebSocket, EventSource: typeof globalThis.EventSource },
  runs: [],
};
const server = http.createServer((req, res) => res.writeHead(404).end());
const push = createPushServer({ server, path: '/push', pollTimeout: 2000, sessionTimeout: 2000 });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = 'http://127.0.0.1:' + server.address().port + '/push';
for (const [kind, Client] of [['esm', PushClient], ['cjs', cjs.PushClient]]) {
  for (const transport of ['websocket', 'eventsource', 'longpoll']) {
    const client = new Client(url, { transports: [transport], rememberTransport: 0 });
    const got = [];
    client.on('price', (data, meta) => got.push([data.px, meta.transport]));
    const run = { kind, transport, got, error: null };
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no open within 15 s: ' + (client.status.error?.message ?? client.status.state))), 15000);
        client.lifecycle.on('open', () => (clearTimeout(timer), resolve()));
      });
      for (const px of [1, 2, 3]) await push.publish('price', { px });
      const end = Date.now() + 15000;
      while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      // A closed long-poll client just stops polling: its session may linger for a moment.
      run.served = push.connections.some((c) => c.transport === transport);
    } catch (e) {
      run.error = String(e.message ?? e);
    }
    client.close();
    out.runs.push(run);
  }
}
await push.close();
server.close();
server.closeAllConnections();
console.log(JSON.stringify(out));
`;

test('in Node, `push-client` resolves through the node condition to dist and receives events over each transport (ESM and CJS)', async () => {
  for (const f of ['dist/node.mjs', 'dist/node.cjs', 'dist/server/index.mjs']) {
    expect(existsSync(path.join(ROOT, f)), `${f} (run \`npm run build\`)`).toBe(true);
  }
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: ROOT, timeout: 50_000 }, (err, out, errOut) =>
      err ? reject(new Error(`child failed: ${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  const dist = (f: string) => new URL(f, `file://${ROOT}/`).href;
  expect(out.resolved).toEqual({
    esm: dist('dist/node.mjs'),
    server: dist('dist/server/index.mjs'),
    cjs: path.join(ROOT, 'dist/node.cjs'),
  });
  // Node 20 has neither: the `ws` package and the fetch-based SSE reader do the work.
  if (Number(process.versions.node.split('.')[0]) < 21) expect(out.globals).toEqual({ WebSocket: 'undefined', EventSource: 'undefined' });
  expect(out.runs).toHaveLength(6);
  for (const r of out.runs) {
    expect(r, `${r.kind} over ${r.transport}`).toEqual({
      kind: r.kind,
      transport: r.transport,
      error: null,
      got: [
        [1, r.transport],
        [2, r.transport],
        [3, r.transport],
      ],
      served: true,
    });
  }
});
