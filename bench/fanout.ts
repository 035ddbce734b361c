/**
 * Fan-out of one small event to many clients on one server process (issue 15): push-client's server
 * against bare servers that do the least a server can, measured in one run, ratios within the run.
 *
 * WebSocket: push-client; a bare `ws` server calling `send()` per client; a bare `ws` server writing
 * one pre-built frame to every socket; a socket.io server. SSE and long-poll: push-client against a
 * bare `http` server writing the same pre-built bytes to every stream or held poll (and for SSE, one
 * writing a pre-built chunk to every socket, which push-client does too). Each server is a
 * child process of its own (so its memory is its own); the FANOUT_N clients are plain sockets in one
 * more child (bench/lib/scale-clients.ts). Timed: from the publish call to the last client's receipt,
 * median of the rounds. Loopback only; every wait is bounded and every child is stopped.
 *
 *   npm run bench -- fanout        (FANOUT_N=2000 for a smaller run; BENCH_QUICK=1: 200 clients;
 *                                   FANOUT_SERVERS=ws-prebuilt,push-websocket for some servers only;
 *                                   FANOUT_PASSES=n passes over the servers, default 4;
 *                                   BENCH_PIN=0: server and clients unpinned, see SPLIT)
 */
import os from 'node:os';
import { child, perConnection } from './lib/child';
import { cpuSplit } from './lib/cpus';
import { byMode, SMOKE } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { sleep } from './lib/util';

const QUICK = byMode(false, true);
const N = +(process.env.FANOUT_N || byMode(10_000, 200, 50));
const ROUNDS = byMode(5, 3, 1);
/** Passes over every server (odd ones in reverse order); their rounds are pooled. */
const PASSES = +(process.env.FANOUT_PASSES || (QUICK ? 1 : 4));
/** Longest wait for one round's event to reach every client. */
const ROUND_MS = QUICK ? 10_000 : 30_000;
/**
 * The server on CPU 0 and the clients on the others, as on two machines: on two cores, unpinned,
 * the 10,000 clients' reads took turns with the server's writes, and one run's ratio swung from
 * 0.94× to 1.19×. BENCH_PIN=0 runs them unpinned.
 */
const SPLIT = cpuSplit();

type Transport = 'websocket' | 'eventsource' | 'longpoll';

interface Server {
  /** Server kind (argv of bench/lib/fanout-server.ts). */
  kind: string;
  label: string;
  transport: Transport;
  /** The baseline of its transport: ratios are to it. */
  baseline?: boolean;
  /** What the raw clients send and count, when not push-client's. */
  open?: { path?: string; token?: string; socketio?: boolean };
}

const SERVERS: Server[] = [
  { kind: 'ws-prebuilt', label: 'bare ws, one pre-built frame written to every socket', transport: 'websocket', baseline: true },
  { kind: 'push-websocket', label: 'push-client', transport: 'websocket' },
  { kind: 'ws-send', label: 'bare ws, send() per client', transport: 'websocket' },
  {
    kind: 'socket.io',
    label: 'socket.io',
    transport: 'websocket',
    open: { path: '/socket.io/?EIO=4&transport=websocket', token: '42["ev"', socketio: true },
  },
  { kind: 'sse-prebuilt', label: 'bare http, the same bytes written to every stream', transport: 'eventsource', baseline: true },
  { kind: 'push-eventsource', label: 'push-client', transport: 'eventsource' },
  { kind: 'sse-chunk', label: 'bare http, one pre-built chunk written to every socket', transport: 'eventsource' },
  { kind: 'lp-prebuilt', label: 'bare http, the same bytes to every held poll', transport: 'longpoll', baseline: true },
  { kind: 'push-longpoll', label: 'push-client', transport: 'longpoll' },
];

interface Result {
  server: Server;
  held: number;
  rssPer: number;
  heapPer: number;
  fanoutMs: number[];
  cpuMs: number[];
  error?: string;
}

type Child = ReturnType<typeof child>;

/** Stops a child: asks it to exit, kills it if it has not within 5 s. */
async function stop(c: Child, message: { type: string }): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.send?.(message);
  await Promise.race([exited, sleep(5000)]);
  if (c.exitCode === null) c.kill('SIGKILL');
}

async function one(server: Server, clients: Child): Promise<Result> {
  const r: Result = { server, held: 0, rssPer: NaN, heapPer: NaN, fanoutMs: [], cpuMs: [] };
  const s = child(
    'bench/lib/fanout-server.ts',
    ['--expose-gc', '--max-old-space-size=8192', ...(process.env.FANOUT_SERVER_NODE_ARGS?.split(' ') ?? [])],
    [server.kind],
    SPLIT?.server,
  );
  try {
    const { port } = await s.next('ready', 30_000);
    s.send({ type: 'memory' });
    const idle = await s.next('memory', 30_000);
    clients.send({ type: 'open', transport: server.transport, port, n: N, batch: 200, timeoutMs: 120_000, ...server.open });
    const opened = await clients.next('opened', 180_000);
    await sleep(QUICK ? 100 : 500);
    s.send({ type: 'memory' });
    const full = await s.next('memory', 60_000);
    r.held = opened.open;
    if (r.held > 0) Object.assign(r, perConnection(idle, full, r.held));
    if (opened.failed) throw new Error(`${opened.failed} of ${N} clients could not connect`);
    for (let k = 1; k <= ROUNDS; k++) {
      clients.send({ type: 'expect', count: k });
      s.send({ type: 'publish', k });
      const pub = await s.next('published', 30_000);
      try {
        const all = await clients.next('all', ROUND_MS);
        r.fanoutMs.push(all.at - pub.at);
        r.cpuMs.push(pub.cpuMs);
      } catch {
        clients.send({ type: 'status' });
        const st = await clients.next('status', 5000);
        throw new Error(`round ${k}: ${st.reached} of ${st.open} clients got the event within ${ROUND_MS / 1000} s`);
      }
      await sleep(QUICK ? 50 : 300);
    }
  } catch (e) {
    r.error = (e as Error).message;
  } finally {
    clients.send({ type: 'reset' });
    await clients.next('reset', 30_000).catch(() => {});
    await stop(s, { type: 'exit' });
  }
  return r;
}

export async function run(): Promise<Result[]> {
  const results: Result[] = [];
  const clients = child('bench/lib/scale-clients.ts', ['--max-old-space-size=8192'], [], SPLIT?.clients);
  try {
    await clients.next('ready', 30_000);
    const only = process.env.FANOUT_SERVERS?.split(',');
    const chosen = SERVERS.filter((x) => !only || only.includes(x.kind));
    for (let pass = 0; pass < PASSES; pass++) {
      // Every other pass runs in reverse order, so that a load that drifts during the run weighs on all alike.
      for (const server of pass % 2 ? [...chosen].reverse() : chosen) {
        process.stdout.write(`  pass ${pass + 1} ${server.transport.padEnd(12)} ${server.kind.padEnd(17)} ${N.toLocaleString('en-US')} clients … `);
        const r = await one(server, clients);
        process.stdout.write(r.error ? `${r.error}\n` : `${median(r.fanoutMs).toFixed(1)} ms\n`);
        const before = results.find((x) => x.server === server);
        if (!before) results.push(r);
        else {
          before.fanoutMs.push(...r.fanoutMs);
          before.cpuMs.push(...r.cpuMs);
          before.error ??= r.error;
        }
      }
    }
    results.sort((a, b) => SERVERS.indexOf(a.server) - SERVERS.indexOf(b.server));
  } finally {
    await stop(clients, { type: 'close' });
  }
  const baseline = (t: Transport) => results.find((r) => r.server.transport === t && r.server.baseline);
  const rows: Cell[][] = results.map((r) => {
    const base = baseline(r.server.transport);
    const ratio = base && !base.error && !r.error ? median(r.fanoutMs) / median(base.fanoutMs) : NaN;
    return [
      r.server.transport,
      r.server.label,
      `${r.held.toLocaleString('en-US')} / ${N.toLocaleString('en-US')}`,
      median(r.fanoutMs).toFixed(1),
      r.fanoutMs.length ? `${Math.min(...r.fanoutMs).toFixed(1)}–${Math.max(...r.fanoutMs).toFixed(1)}` : undefined,
      r.server.baseline ? '1.00× (baseline)' : Number.isNaN(ratio) ? undefined : ratio.toFixed(2) + '×',
      median(r.cpuMs).toFixed(1),
      (r.rssPer / 1024).toFixed(1),
      (r.heapPer / 1024).toFixed(1),
      r.error ?? '',
    ];
  });
  console.log(
    `\n## Fan-out of one event to ${N.toLocaleString('en-US')} clients, one server process each, clients in another, loopback; ` +
      `median of ${ROUNDS} rounds × ${PASSES} passes; ${SPLIT ? `server on CPU ${SPLIT.server}, clients on CPUs ${SPLIT.clients}` : 'unpinned'}; ` +
      `load average ${os.loadavg()[0].toFixed(2)}\n`,
  );
  console.log(
    table(
      [
        'transport',
        'server',
        'held',
        'fan-out ms (median)',
        'min–max',
        'ratio to the pre-built-bytes server',
        'server CPU ms per publish',
        'RSS KiB/conn',
        'heap+buffers KiB/conn',
        'error',
      ],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  // Smoke mode is a test (npm test): a row that failed must fail it, not only show in the table.
  const failed = results.filter((r) => r.error);
  if (SMOKE && failed.length) throw new Error(`${failed.length} row(s) failed: ${failed.map((r) => r.error).join('; ')}`);
  return results;
}

if (isMain(import.meta.url)) await run();
