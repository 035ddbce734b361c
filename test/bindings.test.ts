/**
 * The bindings on the Node side, against a real push server: server rendering opens no connection
 * (React, Vue), Vue composables outside components follow their effect scope, and Svelte's
 * `pushEvent` keeps the store contract (with `svelte/store`'s own `get` and `derived`).
 * The browser side is in test/e2e/bindings.spec.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import WebSocket from 'ws';
import { createElement } from 'react';
import { renderToString as renderReact } from 'react-dom/server';
import { createSSRApp, defineComponent, effectScope, h } from 'vue';
import { renderToString as renderVue } from 'vue/server-renderer';
import { derived, get } from 'svelte/store';
import { PushClient } from '../src/index';
import { PushProvider, usePushClient as useReactClient, usePushEvent as useReactEvent, usePushStatus as useReactStatus } from '../src/react';
import { usePushClient, usePushEvent, usePushStatus } from '../src/vue';
import { pushEvent } from '../src/svelte';
import { startServer, type TestServer } from './e2e/fixtures/server';

/** Counts `on` and `subscribe` calls on every client while `fn` runs. */
async function subscriptionsDuring(fn: () => unknown): Promise<number> {
  const proto = PushClient.prototype;
  const { on, subscribe } = proto;
  let n = 0;
  proto.on = function (this: PushClient, ...a: Parameters<typeof on>) {
    n++;
    return on.apply(this, a);
  } as typeof on;
  proto.subscribe = function (this: PushClient, ...a: Parameters<typeof subscribe>) {
    n++;
    return subscribe.apply(this, a);
  };
  try {
    await fn();
  } finally {
    Object.assign(proto, { on, subscribe });
  }
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => unknown, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(10);
  }
}

let server: TestServer;
const clients: PushClient<any>[] = [];
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});
/** Node 20 has no global WebSocket: give the browser build the `ws` one. */
const opts = { WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, transports: ['websocket' as const] };

describe('react', () => {
  it('server rendering shows the idle status and opens no connection', async () => {
    function Status() {
      const client = useReactClient();
      useReactEvent(client, 'price', () => {});
      return createElement('p', null, useReactStatus(client).state);
    }
    let html = '';
    const subscribed = await subscriptionsDuring(() => {
      html = renderReact(createElement(PushProvider, { url: server.url, options: opts }, createElement(Status)));
    });
    expect(html).toBe('<p>idle</p>');
    expect(subscribed, 'subscriptions made on the server').toBe(0);
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (a connection opened by rendering)
    expect(server.upgrades).toBe(0);
    expect(server.connectionCount).toBe(0);
  });

  it('usePushClient outside a PushProvider throws an error that says so', () => {
    function Lost() {
      useReactClient();
      return null;
    }
    expect(() => renderReact(createElement(Lost))).toThrow(/PushProvider/);
  });
});

describe('vue', () => {
  it('server rendering shows the idle status and opens no connection', async () => {
    const App = defineComponent(() => {
      const client = usePushClient(server.url, opts);
      usePushEvent(client, 'price', () => {});
      const status = usePushStatus(client);
      return () => h('p', status.value.state);
    });
    let html = '';
    // Vue disposes nothing after server rendering: a subscription made there would leak per request.
    const subscribed = await subscriptionsDuring(async () => {
      html = await renderVue(createSSRApp(App));
    });
    expect(html).toBe('<p>idle</p>');
    expect(subscribed, 'subscriptions made on the server').toBe(0);
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (a connection opened by rendering)
    expect(server.upgrades).toBe(0);
    expect(server.connectionCount).toBe(0);
  });

  it('in an effectScope: connects at once, shares one client per URL, closes when the last scope stops', async () => {
    const got: unknown[] = [];
    const a = effectScope();
    const b = effectScope();
    const [client, status] = a.run(() => {
      const c = usePushClient(server.url, opts);
      usePushEvent(c, 'price', (d) => got.push(d));
      return [c, usePushStatus(c)] as const;
    })!;
    const [other, otherStatus] = b.run(() => {
      const c = usePushClient(server.url, opts);
      return [c, usePushStatus(c)] as const;
    })!;
    expect(other).toBe(client);
    await until(() => status.value.state === 'open', 'open');
    expect(otherStatus.value.state).toBe('open');
    await until(() => server.connectionCount === 1, 'one connection');
    expect(server.upgrades).toBe(1);
    await server.push.publish('price', 1);
    await until(() => got.length === 1, 'an event');

    a.stop(); // its handler goes, the shared client stays
    // A handler of our own on the shared client: an event is dispatched to all its handlers at once,
    // so once this one has seen it, the scope's handler would have too.
    const dispatched = new Promise((resolve) => client.on('price', (d) => d === 2 && resolve(d)));
    await server.push.publish('price', 2);
    await dispatched;
    expect(got).toEqual([1]);
    expect(server.connectionCount).toBe(1);
    expect(client.status.state).toBe('open');

    b.stop();
    expect(client.status.state).toBe('closed');
    expect(otherStatus.value.state).toBe('closed'); // the client closed before the status ref let go
    await until(() => server.connectionCount === 0, 'the server to see it go');

    // A new scope gets a new client for the same URL.
    const c = effectScope();
    const again = c.run(() => usePushClient(server.url, opts))!;
    expect(again).not.toBe(client);
    await until(() => server.connectionCount === 1, 'a new connection');
    c.stop();
    await until(() => server.connectionCount === 0, 'the server to see it go');
  });
});

describe('svelte', () => {
  it('pushEvent is a readable store: get(), derived(), and one client handler only while subscribed', async () => {
    const client = new PushClient<{ price: number }>(server.url, opts);
    clients.push(client);
    const on = client.on.bind(client);
    let active = 0;
    client.on = ((name: 'price', fn: (d: number) => void) => {
      active++;
      const off = on(name, fn);
      return () => (active--, off());
    }) as typeof client.on;

    const price = pushEvent(client, 'price');
    const withInitial = pushEvent(client, 'price', -1);
    expect(get(price)).toBeUndefined();
    expect(get(withInitial)).toBe(-1);
    expect(active).toBe(0); // get() subscribed and unsubscribed

    const doubled = derived(price, (p) => (p === undefined ? 'none' : p * 2));
    const seen: unknown[] = [];
    const offA = doubled.subscribe((v) => seen.push(v));
    const values: unknown[] = [];
    const offB = price.subscribe((v) => values.push(v));
    expect(active).toBe(1);
    await until(() => client.status.state === 'open', 'open');
    await server.push.publish('price', 5);
    await server.push.publish('price', 5); // the same value again is another event
    await server.push.publish('price', 7);
    await until(() => values.length === 4, 'three events');
    expect(values).toEqual([undefined, 5, 5, 7]);
    expect(seen).toEqual(['none', 10, 14]); // derived() drops the repeat: Svelte's own equality check
    expect(get(price)).toBe(7);

    offA();
    offB();
    offB(); // twice is harmless
    expect(active).toBe(0);
    const again: unknown[] = [];
    price.subscribe((v) => again.push(v))();
    expect(again).toEqual([7]); // the last value stays
  });
});

describe('bundles', () => {
  const framework = /node_modules\/(react|react-dom|vue|@vue|svelte)\//;
  /** Bundles `entry` for the browser like an app would (minified ESM), the core client external. */
  async function bundle(entry: string, externalClient: boolean) {
    const r = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['react', 'vue', 'svelte', 'svelte/*'],
      plugins: externalClient
        ? [{ name: 'client', setup: (b) => void b.onResolve({ filter: /^\.\.\/index$/ }, () => ({ path: 'push-client', external: true })) }]
        : [],
    });
    const out = Object.values(r.metafile.outputs)[0];
    return { gzip: gzipSync(r.outputFiles[0].contents, { level: 9 }).length, inputs: Object.keys(r.metafile.inputs), imports: out.imports.map((i) => i.path) };
  }

  it('push-client itself pulls in no framework', async () => {
    const { inputs, imports } = await bundle('src/index.ts', false);
    expect(inputs.filter((f) => framework.test(f) || /src\/(react|vue|svelte)\//.test(f))).toEqual([]);
    expect(imports).toEqual([]);
  });

  // Issue 6: every binding adds at most 600 bytes (esbuild, minified ESM, gzip -9, client external).
  // The Svelte binding implements the store contract itself and needs the client's types only.
  const IMPORTS = { react: ['react', 'push-client'], vue: ['vue', 'push-client'], svelte: [] };
  for (const [name, expected] of Object.entries(IMPORTS)) {
    it(`push-client/${name} adds at most 600 bytes min+gzip and imports only ${expected.join(' and ') || 'nothing'}`, async () => {
      const { gzip, imports } = await bundle(`src/${name}/index.ts`, true);
      expect(gzip).toBeLessThanOrEqual(600);
      expect(imports.sort()).toEqual(expected.sort());
    });
  }
});
