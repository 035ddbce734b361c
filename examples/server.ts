/**
 * The push-client demo: one `http.Server` with `createPushServer` at `/push`, publishing a live
 * stock ticker and hosting a chat with rooms, and serving the demo page at `/` (its script is bundled
 * from `examples/app.ts` and the library source by esbuild when the server starts: no build step).
 * `/cdn.html` loads the built CDN file, dist/push-client.min.js, which the server builds at start
 * when it is missing or stale (examples/cdn-bundle.ts), so that `npm install && npm run demo` is enough.
 *
 *   npm run demo                 # http://127.0.0.1:3000/
 *   PORT=8080 HOST=0.0.0.0 npm run demo
 *
 * `startDemo({ port })` starts the same thing in-process (the Playwright tests use it).
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { createPushServer, type PushServer, type TransportName } from '../src/server';
import { PushClient } from '../src/node';
import { CDN_FILE, ensureCdnBundle } from './cdn-bundle';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The ticker's symbols and where their random walks start. */
export const SYMBOLS: Record<string, number> = { ACME: 132.4, GLOBEX: 57.85, INITECH: 18.2, UMBRELLA: 241.1 };
/** Chat rooms anyone may join; `secret` is listed too, and refused by `onJoin`, to show a refusal. */
export const ROOMS = ['lobby', 'dev', 'random', 'secret'] as const;
const REFUSED_ROOM = 'secret';
const TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

/** What the ticker publishes (event `price`). `ts` is the server's clock at publish, in ms (fractional). */
export interface Price {
  symbol: string;
  px: number;
  /** Change since the server started, in percent. */
  chg: number;
  /** One sequence over all symbols: the page counts missed and duplicated ticks with it. */
  seq: number;
  ts: number;
}

/** A chat message (event `chat`), as the server re-publishes it to the room. */
export interface ChatMessage {
  room: string;
  name: string;
  text: string;
  ts: number;
  /** Present on the copy the sender gets back (a `conn.send` to that connection only). */
  self?: true;
}

export interface DemoOptions {
  /** Port to listen on; 0 picks a free one. Default: env PORT, else 3000. */
  port?: number;
  /** Default: env HOST, else 127.0.0.1. */
  host?: string;
  /** Ticker events per second, over all symbols. Default 10. */
  rate?: number;
  /** Where the terminal lines go; `false` for none. Default `console.log`. */
  log?: ((line: string) => void) | false;
  /**
   * The folder /push-client.min.js is served from, and built into when it is missing or older than
   * the sources. Default: the repository's dist/ (where `npm run build` writes it).
   */
  dist?: string;
}

export interface Demo {
  /** `http://host:port/`, the page to open. */
  readonly url: string;
  readonly port: number;
  readonly push: PushServer<User>;
  readonly server: http.Server;
  /** Which transports answered the start-up self-check, and how fast. */
  readonly transports: Record<TransportName, { ok: boolean; ms: number; error?: string }>;
  /** Stops the ticker, closes every push connection and the HTTP server. */
  close(): Promise<void>;
}

/** What `authorize` attaches to a connection: whether it is the server's own start-up self-check. */
type User = { selfCheck: boolean };

const now = (): number => performance.timeOrigin + performance.now();
const clock = (): string => new Date().toTimeString().slice(0, 8);
const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** Bundles the page script (and the library, from source) for the browser, once per process. */
let bundled: Promise<string> | undefined;
function bundlePage(): Promise<string> {
  bundled ??= build({
    entryPoints: [path.join(HERE, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    sourcemap: 'inline',
    legalComments: 'none',
  }).then(
    (r) => r.outputFiles[0].text,
    (err: unknown) => {
      bundled = undefined;
      throw err;
    },
  );
  return bundled;
}

const DIST = path.resolve(HERE, '../dist');

async function serveFile(res: http.ServerResponse, file: string, type: string, missing = 'not found'): Promise<void> {
  try {
    send(res, 200, type, await readFile(file));
  } catch {
    send(res, 404, 'text/plain; charset=utf-8', missing);
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}
const json = (res: http.ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json', JSON.stringify(value));

/** Starts the demo: HTTP server, push server, ticker, chat and the self-check of each transport. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const port = options.port ?? (process.env.PORT ? Number(process.env.PORT) : 3000);
  const host = options.host ?? process.env.HOST ?? '127.0.0.1';
  const rate = options.rate ?? 10;
  const log = options.log === false ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, not ${JSON.stringify(process.env.PORT ?? options.port)}`);

  const dist = options.dist ?? DIST;
  const minJs = path.join(dist, CDN_FILE);
  // A failed CDN build only costs /cdn.html: the demo starts, and says why that page will not work.
  const [html, script, cdn] = await Promise.all([
    readFile(path.join(HERE, 'index.html'), 'utf8'),
    bundlePage(),
    ensureCdnBundle(dist).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) })),
  ]);

  // ---- HTTP: the page, its script, and two small endpoints (the push server takes /push) -------
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /' || route === 'GET /index.html') return send(res, 200, 'text/html; charset=utf-8', html);
    if (route === 'GET /app.js') return send(res, 200, 'text/javascript; charset=utf-8', script);
    // The same client from a plain <script> tag, as from a CDN: the built dist/push-client.min.js.
    if (route === 'GET /cdn.html') return void serveFile(res, path.join(HERE, 'cdn.html'), 'text/html; charset=utf-8');
    if (route === 'GET /push-client.min.js')
      return void serveFile(res, minJs, 'text/javascript; charset=utf-8', `${minJs} could not be built: run \`npm run build\`, then reload.`);
    // The page estimates the offset between its clock and the server's with this, for the latency.
    if (route === 'GET /demo/clock') return json(res, 200, { now: now() });
    if (route === 'POST /demo/cut') {
      const victims = push.connections.filter((c) => !c.user?.selfCheck);
      for (const c of victims) c.close();
      log(`${clock()}  cut: closed ${victims.length} connection${victims.length === 1 ? '' : 's'} (asked by a page); clients reconnect and resume`);
      return json(res, 200, { closed: victims.length });
    }
    if (url.pathname === '/demo/cut') return send(res, 405, 'text/plain', 'use POST');
    send(res, 404, 'text/plain; charset=utf-8', 'not found');
  });

  // ---- push server ---------------------------------------------------------------------------
  const push = createPushServer<User>({
    server,
    path: '/push',
    // 10 ticks a second: 3,000 entries are 5 minutes of resume history.
    history: 3000,
    // A long-poll page that was closed is forgotten after 10 s (the default waits 55 s).
    sessionTimeout: 10_000,
    authorize: (req) => ({ selfCheck: new URL(req.url ?? '/', 'http://x').searchParams.get('selfcheck') === '1' }),
    onJoin: (_conn, channel) => {
      const room = channel.startsWith('room:') ? channel.slice(5) : '';
      if (room === REFUSED_ROOM) throw new Error(`#${REFUSED_ROOM} is invite-only`);
      if (!(ROOMS as readonly string[]).includes(room)) throw new Error(`no such room: ${channel}`);
      return true;
    },
    onError: (err) => log(`${clock()}  push server error: ${err instanceof Error ? err.stack || err.message : String(err)}`),
  });

  // ---- chat: send to the room, except the sender; the sender gets its own copy back ---------
  push.onMessage((event, data, conn) => {
    if (event !== 'chat') return;
    const d = (data ?? {}) as Partial<Record<'room' | 'name' | 'text', unknown>>;
    const room = typeof d.room === 'string' ? d.room : '';
    const text = typeof d.text === 'string' ? d.text.trim().slice(0, 500) : '';
    const name = (typeof d.name === 'string' ? d.name.trim().slice(0, 24) : '') || 'anonymous';
    if (!text) return;
    if (!conn.channels.has(`room:${room}`)) {
      void conn.send('notice', { text: `you are not in #${room}: message not sent` });
      return;
    }
    const msg: ChatMessage = { room, name, text, ts: now() };
    push.publish('chat', msg, { channel: `room:${room}`, except: conn }).catch(() => {});
    void conn.send('chat', { ...msg, self: true });
  });

  // ---- ticker: a random walk per symbol, one symbol per tick --------------------------------
  const px = { ...SYMBOLS };
  const names = Object.keys(SYMBOLS);
  let seq = 0;
  const ticker = setInterval(() => {
    const symbol = names[Math.floor(Math.random() * names.length)];
    // Gaussian-ish steps of about 0.2 %.
    const step = (Math.random() + Math.random() + Math.random() - 1.5) * 0.0035;
    px[symbol] = Math.max(0.01, px[symbol] * (1 + step));
    const price: Price = {
      symbol,
      px: round(px[symbol], 2),
      chg: round(((px[symbol] - SYMBOLS[symbol]) / SYMBOLS[symbol]) * 100, 2),
      seq: ++seq,
      ts: now(),
    };
    push.publish('price', price).catch(() => {});
  }, 1000 / rate);

  // ---- room sizes: published when they change, so the chat can say who is there ------------
  let lastRooms = '';
  let lastIds = new Map<string, TransportName>();
  const watcher = setInterval(() => {
    const conns = push.connections.filter((c) => !c.user?.selfCheck);
    const rooms: Record<string, number> = {};
    for (const r of ROOMS) if (r !== REFUSED_ROOM) rooms[r] = 0;
    for (const c of conns) for (const ch of c.channels) if (ch.startsWith('room:')) rooms[ch.slice(5)] = (rooms[ch.slice(5)] ?? 0) + 1;
    const key = JSON.stringify(rooms);
    if (key !== lastRooms) {
      lastRooms = key;
      push.publish('rooms', rooms).catch(() => {});
    }
    // The terminal says when clients come and go, and over what.
    const ids = new Map(conns.map((c) => [c.id, c.transport] as const));
    const came = [...ids].filter(([id]) => !lastIds.has(id));
    const went = [...lastIds].filter(([id]) => !ids.has(id));
    lastIds = ids;
    if (came.length || went.length) {
      const by = TRANSPORTS.map((t) => [t, conns.filter((c) => c.transport === t).length] as const).filter(([, n]) => n);
      const change = [...summarize(came, '+'), ...summarize(went, '-')].join(', ');
      log(`${clock()}  clients: ${change}  → ${conns.length} connected${by.length ? ` (${by.map(([t, n]) => `${n} ${t}`).join(', ')})` : ''}`);
    }
  }, 1000);

  // ---- listen ------------------------------------------------------------------------------
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${actual}/`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(ticker);
      clearInterval(watcher);
      await push.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    })());

  // ---- self-check: a Node client on each transport, through this very server ----------------
  let transports: Demo['transports'];
  try {
    transports = Object.fromEntries(await Promise.all(TRANSPORTS.map(async (t) => [t, await selfCheck(`${url}push`, t)] as const))) as Demo['transports'];
  } catch (err) {
    await close();
    throw err;
  }
  // A closed long-poll client just stops polling: end its session now instead of after 10 s.
  for (const c of push.connections) if (c.user?.selfCheck) c.close();

  log('');
  log('  push-client demo');
  log('');
  log(`  Open ${url} in a browser${host === '0.0.0.0' || host === '::' ? ` (listening on all interfaces, port ${actual})` : ''}`);
  log('');
  log(`  Transports at ${url}push (checked by connecting to it):`);
  for (const t of TRANSPORTS) {
    const r = transports[t];
    log(`    ${r.ok ? 'up  ' : 'DOWN'}  ${t.padEnd(12)} ${r.ok ? `first message after ${r.ms} ms` : r.error}`);
  }
  log('');
  log(`  Publishing: ticker (${names.join(', ')}; ${rate} events/s) and chat in rooms ${ROOMS.map((r) => '#' + r).join(', ')}`);
  log(`  (#${REFUSED_ROOM} is refused by onJoin, to show a refusal).`);
  if ('error' in cdn) log(`  ${url}cdn.html will not work: building ${minJs} failed (${cdn.error}); try \`npm run build\`.`);
  else
    log(
      `  ${url}cdn.html is the same client from a plain <script> tag (${path.relative(process.cwd(), cdn.file) || cdn.file}${cdn.built ? `, built at start in ${cdn.ms} ms` : ''}).`,
    );
  log('  Ctrl-C stops.');
  log('');

  return { url, port: actual, push, server, transports, close };
}

function summarize(list: [string, TransportName][], sign: string): string[] {
  return TRANSPORTS.map((t) => [t, list.filter(([, x]) => x === t).length] as const)
    .filter(([, n]) => n)
    .map(([t, n]) => `${sign}${n} ${t}`);
}

/** Connects a Node client over one transport to `url`; resolves with how long its hello took. */
async function selfCheck(url: string, transport: TransportName): Promise<{ ok: boolean; ms: number; error?: string }> {
  const started = performance.now();
  const client = new PushClient(url, {
    transports: [transport],
    query: { selfcheck: '1' },
    connectTimeout: 5000,
    reconnect: { maxRetries: 0 },
    rememberTransport: 0,
  });
  try {
    return await new Promise((resolve) => {
      client.lifecycle.on('open', () => resolve({ ok: true, ms: Math.round(performance.now() - started) }));
      client.lifecycle.on('close', ({ error }) =>
        resolve({ ok: false, ms: 0, error: `${error?.code ?? 'CLOSED'}: ${String((error?.cause as Error | undefined)?.message ?? error?.message)}` }),
      );
    });
  } finally {
    client.close();
  }
}

// ---- `npm run demo` ----------------------------------------------------------------------------
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  startDemo().then(
    (demo) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          console.log('  Stopping now.');
          process.exit(130);
        }
        stopping = true;
        console.log(`\n  ${signal}: closing connections…`);
        // Open pages reconnect by themselves when the demo is back.
        const force = setTimeout(() => {
          console.log('  Did not close within 5 s; exiting anyway.');
          process.exit(1);
        }, 5000);
        force.unref();
        demo.close().then(
          () => console.log('  Closed. Bye.'),
          (err: unknown) => {
            console.error('  Error while closing:', err);
            process.exitCode = 1;
          },
        );
      };
      process.on('SIGINT', () => stop('Ctrl-C'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        console.error(`\n  Port ${process.env.PORT ?? 3000} is in use. Start the demo on another one: PORT=3001 npm run demo\n`);
      } else {
        console.error('\n  The demo could not start:', err.message ?? err, '\n');
      }
      process.exit(1);
    },
  );
}
