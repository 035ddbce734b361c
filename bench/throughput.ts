/**
 * Throughput and latency in real Chromium (issue 6, point 2).
 *
 * One Node process serves every stack on one port (raw WebSocket, raw SSE, push-client's server,
 * socket.io, a minimal SignalR hub over WebSocket) and the page. For each client, Chromium is started
 * headless directly (no Playwright, no DevTools protocol) on that page; the page connects, then for
 * every run asks the server to start, timestamps each event in its handler and posts its figures
 * back. Publish time is taken on the server just before each publish/send; arrival time is the
 * page's clock corrected to the server's (min-RTT probe; both are this machine's clock anyway).
 *
 * The machine is small (2 cores) and shared, so the clients are interleaved: each round starts a
 * fresh Chromium for every client in turn (every other round in reverse order), and ratios to the
 * raw transport are taken within a round, then the median over ROUNDS rounds is reported. Per
 * launch: one warm-up, then
 *   - flood: N small JSON events (≈60 B), then N 4 KiB events, published as fast as the server
 *     can (100 per event-loop turn); events/s = N / (last arrival − first publish);
 *   - paced: small events at 10,000/s for 2 s; latency p50/p99 and the backlog check (median
 *     latency of the last tenth against the first tenth: it grows when the client falls behind).
 * Raw WebSocket is measured twice: one frame per event (what a raw app does) and one frame per
 * event-loop turn holding a JSON array (the best a raw app can do; push-client's server batches too).
 *
 *   npm run bench -- throughput            (BENCH_QUICK=1 for a shorter run)
 *   BENCH_ROUNDS=7 BENCH_CASES=raw-sse,pc-sse BENCH_MODES=small,large npm run bench -- throughput
 *                                          (some clients, some runs; BENCH_PIN=0: see pin())
 *   BENCH_N_LARGE=16000 ...                (a longer 4 KiB flood: 4,000 events last about 0.2 s)
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { build } from 'esbuild';
import { Server as SocketIoServer, type Socket } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { createPushServer } from '../src/server/index';
import { haveChromium, launch, type Browser } from './lib/chromium';
import { cpuSplit } from './lib/cpus';
import { noBrowserMessage } from '../test/helpers/find-chromium.mjs';
import { root } from './lib/size';
import { whatIf } from './lib/whatif';
import { clientCost } from './lib/client-cost';
import { byMode } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { deferred, json, listen, now, readJson, sleep, tick, within } from './lib/util';

const ROUNDS = +(process.env.BENCH_ROUNDS || byMode(3, 1));
const N_SMALL = byMode(20_000, 5_000, 500);
const N_LARGE = +(process.env.BENCH_N_LARGE || byMode(4_000, 1_000, 100));
const PACED_RATE = 10_000;
const PACED_SECONDS = byMode(2, 2, 0.25);
/** Events of the warm-up run before the measured ones (smoke: enough to run the path, no JIT to warm). */
const WARMUP = byMode(2_000, 2_000, 200);
/** Pause between two clients, for the last one's sockets and browser to be gone (smoke: measures nothing). */
const BETWEEN_CASES_MS = byMode(200, 200, 0);
const CHUNK = 100;
const LARGE_BYTES = 4096;

type Kind = 'raw-ws' | 'raw-ws-batch' | 'raw-sse' | 'raw-sse-ids' | 'raw-sse-pc' | 'pc-ws' | 'pc-sse' | 'pc-lp' | 'sio-ws' | 'sio-poll' | 'signalr-ws';

type Case = { id: string; kind: Kind; label: string; ref: Kind | null; patched?: boolean };
const BASE: Omit<Case, 'id'>[] = [
  { kind: 'raw-ws', label: 'raw WebSocket, frame per event', ref: null },
  { kind: 'raw-ws-batch', label: 'raw WebSocket, batched frames', ref: null },
  { kind: 'raw-sse', label: 'raw EventSource', ref: null },
  { kind: 'raw-sse-ids', label: 'raw EventSource, push-client wire', ref: 'raw-sse' },
  { kind: 'raw-sse-pc', label: "raw EventSource, push-client's server", ref: 'raw-sse' },
  { kind: 'pc-ws', label: 'push-client websocket', ref: 'raw-ws' },
  { kind: 'pc-sse', label: 'push-client eventsource', ref: 'raw-sse' },
  { kind: 'pc-lp', label: 'push-client longpoll', ref: 'raw-sse' },
  { kind: 'sio-ws', label: 'socket.io-client websocket', ref: 'raw-ws' },
  { kind: 'sio-poll', label: 'socket.io-client polling', ref: 'raw-sse' },
  { kind: 'signalr-ws', label: '@microsoft/signalr websocket', ref: 'raw-ws' },
];
/**
 * Where each side runs. On a machine of two CPUs or more (with `taskset`), this process (every
 * server) keeps CPU 0 and Chromium the others, so that the server and the browser each have a core,
 * as on two machines; unpinned, they take turns on both, and a server that does more per event (ids,
 * history) also slows the browser down. BENCH_PIN=0 measures unpinned.
 */
function pin(): { browser: string; unpin: () => void } | undefined {
  const split = cpuSplit();
  if (!split) return undefined;
  const set = (list: string) => execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' });
  try {
    set(split.server);
  } catch {
    return undefined;
  }
  return {
    browser: split.clients,
    unpin: () => {
      try {
        set(`0-${os.availableParallelism() - 1}`);
      } catch {} // the bench's figures are printed; a process left on one CPU ends with it
    },
  };
}

const WHATIF_LIST = (process.env.BENCH_WHATIF ?? '').split(',').filter(Boolean);
/** With BENCH_WHATIF, every push-client case runs twice per round: as is, and patched (id `<kind>+`). */
const CASES: Case[] = BASE.flatMap((c) => [
  { ...c, id: c.kind },
  ...(WHATIF_LIST.length && c.kind.startsWith('pc-') ? [{ ...c, id: c.kind + '+', label: `${c.label} [${WHATIF_LIST.join(',')}]`, patched: true }] : []),
]);

type Mode = 'warmup' | 'small' | 'large' | 'paced';
interface RunSpec {
  id: number;
  mode: Mode;
  n: number;
  timeoutMs: number;
  profile?: boolean;
}
interface Report {
  id: number;
  got: number;
  dup: number;
  stray: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  firstTenth: number;
  lastTenth: number;
  serverCpuMs?: number;
  profile?: unknown;
}

/**
 * BENCH_PROFILE=<case>: profile that client's small flood in the page (JS Self-Profiling API) instead;
 * with BENCH_PROFILE_MODE=large, a flood of 20,000 4 KiB events.
 */
const PROFILE = process.env.BENCH_PROFILE as Kind | undefined;

function plan(): RunSpec[] {
  const runs: RunSpec[] = [];
  let id = 1;
  const add = (mode: Mode, n: number, timeoutMs: number) => runs.push({ id: id++, mode, n, timeoutMs });
  add('warmup', WARMUP, 20_000);
  if (PROFILE) {
    const large = process.env.BENCH_PROFILE_MODE === 'large';
    runs.push({ id: id++, mode: large ? 'large' : 'small', n: large ? 20_000 : 100_000, timeoutMs: 60_000, profile: true });
    return runs;
  }
  const modes = process.env.BENCH_MODES?.split(',');
  const wanted = (mode: Mode) => !modes || modes.includes(mode);
  if (wanted('small')) add('small', N_SMALL, 60_000);
  if (wanted('large')) add('large', N_LARGE, 60_000);
  if (wanted('paced')) add('paced', PACED_RATE * PACED_SECONDS, PACED_SECONDS * 1000 + 20_000);
  return runs;
}

/** BENCH_WHATIF=bare-deliver (see bench/lib/whatif.ts): push-client cases also run patched, in the same rounds. */
const WHATIF = WHATIF_LIST;

async function bundlePage(patched = false): Promise<string> {
  const r = await build({
    plugins: patched ? [whatIf(WHATIF)] : [],
    entryPoints: ['bench/browser/page.ts'],
    absWorkingDir: root,
    bundle: true,
    minify: !PROFILE,
    keepNames: !!PROFILE,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return r.outputFiles[0].text;
}

const html = (patched: boolean) =>
  `<!doctype html><meta charset="utf-8"><title>push-client bench</title><script src="/page.js${patched ? '?patched=1' : ''}"></script>`;

export async function run(): Promise<Record<string, any>> {
  if (!haveChromium()) {
    console.log(`\n## Throughput: skipped. ${noBrowserMessage()}\n`);
    return {};
  }
  const pinned = pin();
  try {
    return await measureAll(pinned);
  } finally {
    pinned?.unpin();
  }
}

async function measureAll(pinned: ReturnType<typeof pin>): Promise<Record<string, any>> {
  const where = pinned ? `server on CPU 0, Chromium on CPUs ${pinned.browser} (BENCH_PIN=0: unpinned)` : 'server and Chromium unpinned';
  const pageJs = await bundlePage();
  const pageJsPatched = WHATIF.length ? await bundlePage(true) : pageJs;
  const http = createServer();

  // --- the control channel with the page ---------------------------------------------------------
  let ready = deferred<any>();
  let finished = deferred<void>();
  let runs: RunSpec[] = [];
  const reports = new Map<number, ReturnType<typeof deferred<Report>>>();
  let current: Kind = 'raw-ws';
  let seq = 0;
  const cpuAt = new Map<number, NodeJS.CpuUsage>();

  // --- raw stacks ----------------------------------------------------------------------------------
  let rawWs: WebSocket | null = null;
  let rawSse: ServerResponse | null = null;
  let signalr: WebSocket | null = null;
  const wssRaw = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const wssSignalr = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  wssRaw.on('connection', (ws) => (rawWs = ws));
  wssSignalr.on('connection', (ws) => {
    // SignalR's JSON hub protocol over WebSocket, as far as a server-to-client stream needs it:
    // answer the handshake, ping every 10 s (the client's server timeout is 30 s), ignore the rest.
    const ping = setInterval(() => ws.send('{"type":6}\x1e'), 10_000);
    ws.on('close', () => clearInterval(ping));
    ws.once('message', () => {
      ws.send('{}\x1e');
      signalr = ws;
    });
  });

  http.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    try {
      switch (url.pathname) {
        case '/':
          res.writeHead(200, { 'content-type': 'text/html', 'document-policy': 'js-profiling' });
          return res.end(html(url.searchParams.has('patched')));
        case '/page.js':
          res.writeHead(200, { 'content-type': 'text/javascript' });
          return res.end(url.searchParams.has('patched') ? pageJsPatched : pageJs);
        case '/time':
          return json(res, { now: now() });
        case '/raw-sse':
          req.socket.setNoDelay(true);
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          res.write(': hi\n\n');
          rawSse = res;
          return;
        case '/ready':
          ready.resolve(await readJson(req));
          return json(res, { runs });
        case '/go': {
          const { id } = await readJson(req);
          json(res, {});
          const spec = runs.find((r) => r.id === id)!;
          cpuAt.set(id, process.cpuUsage());
          publishRun(spec).catch((e) => console.error('publish failed', e));
          return;
        }
        case '/report': {
          const r = (await readJson(req)) as Report;
          const d = process.cpuUsage(cpuAt.get(r.id));
          r.serverCpuMs = (d.user + d.system) / 1000;
          json(res, {});
          reports.get(r.id)?.resolve(r);
          return;
        }
        case '/done':
          json(res, {});
          return finished.resolve();
        case '/fail': {
          const { message } = await readJson(req);
          json(res, {});
          const err = new Error('page failed: ' + message);
          ready.reject(err);
          finished.reject(err);
          for (const d of reports.values()) d.reject(err);
          return;
        }
        default:
          res.writeHead(404);
          res.end();
      }
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const p = new URL(req.url!, 'http://x').pathname;
    if (p === '/raw-ws') wssRaw.handleUpgrade(req, socket, head, (ws) => wssRaw.emit('connection', ws, req));
    else if (p === '/signalr') wssSignalr.handleUpgrade(req, socket, head, (ws) => wssSignalr.emit('connection', ws, req));
  });

  // socket.io first, push-client's server last: each takes the request listeners before it into its chain.
  const sio = new SocketIoServer(http, { serveClient: false, destroyUpgrade: false, maxHttpBufferSize: 1e6 });
  let sioSocket: Socket | null = null;
  sio.on('connection', (s) => (sioSocket = s));
  // A long-poll client reads a flood from the history (issue 22: a cursor, not a per-client copy), so
  // the history holds the largest flood, as the 256 MiB per-client buffer did before; with 1,000
  // entries the client's cursor fell out of it and most of each flood was a gap.
  const push = createPushServer({
    server: http,
    path: '/push',
    maxBufferedBytes: 256 << 20,
    history: Math.max(N_SMALL, N_LARGE, WARMUP),
    historyBytes: 256 << 20,
  });

  const port = await listen(http);
  const origin = `http://127.0.0.1:${port}`;

  const small = (r: number, i: number) => ({ r, i, t: now(), sym: 'ACME', px: 101.25 });
  const pad = 'x'.repeat(LARGE_BYTES - 48);
  const large = (r: number, i: number) => ({ r, i, t: now(), p: pad });

  /** Publishes events `from`..`to` of run `r` the way each stack's server does it. */
  function publish(r: number, from: number, to: number, make: (r: number, i: number) => object): void {
    switch (current) {
      case 'raw-ws':
        for (let i = from; i < to; i++) rawWs!.send(JSON.stringify(make(r, i)));
        return;
      case 'raw-ws-batch': {
        const a: object[] = [];
        for (let i = from; i < to; i++) a.push(make(r, i));
        rawWs!.send(JSON.stringify(a));
        return;
      }
      case 'raw-sse': {
        // One write per event-loop turn, as push-client's server does too.
        let s = '';
        for (let i = from; i < to; i++) s += 'data: ' + JSON.stringify(make(r, i)) + '\n\n';
        rawSse!.write(s);
        return;
      }
      case 'raw-sse-ids': {
        // push-client's wire format on a raw EventSource: an id and the event name as a first data line.
        let s = '';
        for (let i = from; i < to; i++) s += `id: x:${++seq}\ndata: ev\ndata: ` + JSON.stringify(make(r, i)) + '\n\n';
        rawSse!.write(s);
        return;
      }
      case 'raw-sse-pc':
      case 'pc-ws':
      case 'pc-sse':
      case 'pc-lp':
        for (let i = from; i < to; i++) void push.publish('ev', make(r, i));
        return;
      case 'sio-ws':
      case 'sio-poll':
        for (let i = from; i < to; i++) sioSocket!.emit('ev', make(r, i));
        return;
      case 'signalr-ws':
        for (let i = from; i < to; i++) signalr!.send(JSON.stringify({ type: 1, target: 'ev', arguments: [make(r, i)] }) + '\x1e');
        return;
    }
  }

  async function publishRun(spec: RunSpec): Promise<void> {
    const make = spec.mode === 'large' ? large : small;
    if (spec.mode !== 'paced') {
      for (let i = 0; i < spec.n; i += CHUNK) {
        publish(spec.id, i, Math.min(spec.n, i + CHUNK), make);
        await tick();
      }
      return;
    }
    const start = now();
    let i = 0;
    while (i < spec.n && now() - start < spec.timeoutMs) {
      const due = Math.min(spec.n, Math.floor(((now() - start) * PACED_RATE) / 1000) + 1);
      if (due > i) publish(spec.id, i, due, make);
      i = Math.max(i, due);
      await sleep(1);
    }
  }

  type Entry = { connectMs: number[]; offset: number[]; rtt: number[]; runs: { round: number; spec: RunSpec; r: Report | null }[]; errors: string[] };
  const results = new Map<string, Entry>();
  const only = process.env.BENCH_CASES?.split(',');
  const ran = CASES.filter((c) => (PROFILE ? c.kind === PROFILE : !only || only.includes(c.kind)));
  for (const c of ran) results.set(c.id, { connectMs: [], offset: [], rtt: [], runs: [], errors: [] });
  const load: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`  round ${round}/${ROUNDS} (load average ${((load[load.length] = os.loadavg()[0])).toFixed(2)})`);
    // Every other round runs the clients in reverse, so that a drift within a round (the server's
    // heap growing, the machine's load) does not always favour the clients that run first.
    for (const c of round % 2 ? ran : [...ran].reverse()) {
      current = c.kind;
      rawWs = rawSse = signalr = sioSocket = null;
      runs = plan();
      ready = deferred();
      finished = deferred();
      reports.clear();
      for (const s of runs) reports.set(s.id, deferred<Report>());
      const entry = results.get(c.id)!;
      let error: string | undefined;
      process.stdout.write(`    ${c.label.padEnd(32)} `);
      let browser: Browser | null = null;
      try {
        browser = launch(`${origin}/?case=${c.kind}${c.patched ? '&patched=1' : ''}`, pinned?.browser);
        const info = await within(ready.promise, 30_000, `${c.label}: page ready`);
        entry.connectMs.push(info.connectMs);
        entry.offset.push(info.offset);
        entry.rtt.push(info.rtt);
        for (const s of runs) {
          let r: Report | null = null;
          try {
            r = await within(reports.get(s.id)!.promise, s.timeoutMs + 10_000, `${c.label}: run ${s.mode}`);
          } catch (e) {
            error = (e as Error).message;
          }
          entry.runs.push({ round, spec: s, r });
          process.stdout.write('.');
          if (!r) break;
        }
        await within(finished.promise, 10_000, `${c.label}: done`).catch(() => {});
      } catch (e) {
        error = (e as Error).message;
      } finally {
        await browser?.kill();
        (rawWs as WebSocket | null)?.terminate();
        (rawSse as ServerResponse | null)?.destroy();
        (signalr as WebSocket | null)?.terminate();
        (sioSocket as Socket | null)?.disconnect(true);
        await sleep(BETWEEN_CASES_MS);
      }
      if (error) entry.errors.push(error);
      process.stdout.write(error ? ` ${error}\n` : ' ok\n');
    }
  }
  await push.close();
  sio.close();
  wssRaw.close();
  wssSignalr.close();
  http.closeAllConnections?.();
  await new Promise<void>((r) => http.close(() => r()));

  if (PROFILE) {
    for (const x of [...results.values()].flatMap((e) => e.runs)) if (x.r?.profile) console.log(JSON.stringify(x.r.profile, null, 1));
    return {};
  }
  // --- tables ------------------------------------------------------------------------------------
  const reportsOf = (k: string, mode: Mode, round?: number) =>
    results
      .get(k)
      ?.runs.filter((x) => x.spec.mode === mode && x.r && (round === undefined || x.round === round))
      .map((x) => x.r!) ?? [];
  const rateOf = (r: Report) => r.got / r.seconds;
  const rate = (k: string, mode: Mode) => median(reportsOf(k, mode).map(rateOf));
  const med = (rs: Report[], f: (r: Report) => number) => median(rs.map(f));
  const lost = (k: string, mode: Mode) =>
    results
      .get(k)
      ?.runs.filter((x) => x.spec.mode === mode)
      .reduce((a, x) => a + (x.r ? x.spec.n - x.r.got : x.spec.n), 0) ?? NaN;
  /** Median over rounds of (this client's rate / the reference's rate in the same round). */
  const ratioTo = (k: string, ref: string, mode: Mode): number => {
    const xs: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const a = reportsOf(k, mode, round)[0];
      const b = reportsOf(ref, mode, round)[0];
      if (a && b) xs.push(rateOf(a) / rateOf(b));
    }
    return median(xs);
  };
  const ratioCell = (c: (typeof CASES)[number], mode: Mode): string => {
    const parts: string[] = [];
    if (c.ref && results.has(c.ref)) parts.push(`${ratioTo(c.id, c.ref, mode).toFixed(2)} vs ${c.ref}`);
    if (c.ref === 'raw-ws' && results.has('raw-ws-batch')) parts.push(`${ratioTo(c.id, 'raw-ws-batch', mode).toFixed(2)} vs raw-ws-batch`);
    if (c.patched && results.has(c.kind)) parts.push(`${ratioTo(c.id, c.kind, mode).toFixed(2)} vs unpatched`);
    return parts.join(', ');
  };
  const cpuPerK = (rs: Report[]) => med(rs, (r) => ((r.serverCpuMs ?? NaN) / r.got) * 1000);

  const out: Record<string, any> = {};
  for (const [mode, title] of [
    ['small', `flood of ${N_SMALL.toLocaleString('en-US')} small JSON events (~60 B)`],
    ['large', `flood of ${N_LARGE.toLocaleString('en-US')} 4 KiB JSON events`],
  ] as const) {
    const rows: Cell[][] = ran.map((c) => {
      const rs = reportsOf(c.id, mode);
      out[`${c.id}.${mode}`] = { rate: rate(c.id, mode), ratio: c.ref ? ratioTo(c.id, c.ref, mode) : 1 };
      return [
        c.label,
        rate(c.id, mode),
        mode === 'large' ? ((rate(c.id, mode) * LARGE_BYTES) / 1e6).toFixed(1) : undefined,
        ratioCell(c, mode),
        med(rs, (r) => r.p50).toFixed(0),
        med(rs, (r) => r.p99).toFixed(0),
        cpuPerK(rs).toFixed(1),
        lost(c.id, mode),
      ];
    });
    console.log(`\n## Throughput in Chromium: ${title}; median of ${ROUNDS} round(s); ${where}\n`);
    console.log(
      table(['client / transport', 'events/s', 'MB/s', 'ratio to raw (same round)', 'p50 ms', 'p99 ms', 'server CPU ms/1k ev', 'lost'], rows, [
        'l',
        'r',
        'r',
        'l',
        'r',
        'r',
        'r',
        'r',
      ]),
    );
  }
  const paced: Cell[][] = ran.map((c) => {
    const rs = reportsOf(c.id, 'paced');
    if (!rs.length) return [c.label, undefined, undefined, undefined, undefined, undefined, undefined, results.get(c.id)!.errors[0] ?? 'no report'];
    const first = med(rs, (r) => r.firstTenth);
    const last = med(rs, (r) => r.lastTenth);
    return [
      c.label,
      med(rs, (r) => r.got),
      med(rs, (r) => r.p50).toFixed(1),
      med(rs, (r) => r.p99).toFixed(1),
      med(rs, (r) => r.max).toFixed(0),
      first.toFixed(1),
      last.toFixed(1),
      last > first + 50 ? 'GROWING' : 'no',
    ];
  });
  console.log(
    `\n## Latency in Chromium at a steady ${PACED_RATE.toLocaleString('en-US')} events/s for ${PACED_SECONDS} s (small JSON); median of ${ROUNDS} round(s); ${where}\n`,
  );
  console.log(
    table(['client / transport', 'delivered', 'p50 ms', 'p99 ms', 'max ms', 'first 10 % ms', 'last 10 % ms', 'backlog'], paced, [
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
      'l',
    ]),
  );
  const conn: Cell[][] = ran.map((c) => {
    const e = results.get(c.id)!;
    return [c.label, median(e.connectMs).toFixed(1), median(e.offset).toFixed(2), median(e.rtt).toFixed(2), e.errors.join('; ')];
  });
  console.log(`\nConnect time (construction to open), clock correction, errors; load average at round starts: ${load.map((l) => l.toFixed(2)).join(', ')}\n`);
  console.log(table(['client / transport', 'connect ms', 'clock offset ms', 'probe rtt ms', 'errors'], conn, ['l', 'r', 'r', 'r', 'l']));

  // The client's own JS per event, without browser, server or sockets: what bounds its ratio to raw.
  const cost = await clientCost(WHATIF);
  const base = cost[0];
  console.log(`\n## push-client's own JavaScript per event (Node ${process.version}, fake transports, CPU time, best of 5; µs per event)\n`);
  console.log(
    table(
      ['path', 'small JSON µs', '× raw', '4 KiB JSON µs', '× raw'],
      cost.map((c) => [c.path, c.small.toFixed(2), (c.small / base.small).toFixed(1), c.large.toFixed(2), (c.large / base.large).toFixed(1)]),
      ['l', 'r', 'r', 'r', 'r'],
    ),
  );
  out.clientCost = cost;
  return out;
}

if (isMain(import.meta.url)) await run();
