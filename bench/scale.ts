/**
 * Server scale on one process (issue 6, point 4). For each transport in turn: a fresh push-client
 * server in a child process (alone, so its memory is its own), and a second child holding up to
 * SCALE_N lightweight raw clients (plain sockets). Measured: connections held, memory per connection
 * (RSS and JS heap + buffers, after GC, minus the idle server), time to fan one event out to all
 * of them (publish to the last client's receipt; median of 5), and server CPU at a steady rate of
 * deliveries. Loopback only; everything is bounded in time and stops by itself.
 *
 *   npm run bench -- scale          (SCALE_N=2000 for a smaller run)
 */
import os from 'node:os';
import { child, perConnection } from './lib/child';
import { byMode, SMOKE } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { sleep } from './lib/util';

const N = +(process.env.SCALE_N || byMode(10_000, 2000, 200));
const FANOUTS = byMode(5, 3, 1);
const RATE_SECONDS = byMode(4, 2, 0.5);
/** Settling time before the memory is read (smoke: its figure means nothing). */
const SETTLE_MS = byMode(500, 500, 0);
/** Deliveries per second aimed at in the CPU measurement (events/s × connections). */
const DELIVERIES = 50_000;
const TRANSPORTS = ['websocket', 'eventsource', 'longpoll'] as const;

interface Result {
  transport: string;
  held: number;
  failed: number;
  openSeconds: number;
  rssPer: number;
  heapPer: number;
  fanoutMs: number[];
  fanoutCpuMs: number[];
  rate?: { perSecond: number; achieved: number; deliveriesPerSecond: number; cpuPercent: number };
  error?: string;
}

async function one(transport: (typeof TRANSPORTS)[number]): Promise<Result> {
  const r: Result = { transport, held: 0, failed: 0, openSeconds: NaN, rssPer: NaN, heapPer: NaN, fanoutMs: [], fanoutCpuMs: [] };
  const server = child('bench/lib/scale-server.ts', ['--expose-gc', '--max-old-space-size=8192']);
  const clients = child('bench/lib/scale-clients.ts', ['--max-old-space-size=8192']);
  try {
    const { port } = await server.next('ready', 30_000);
    await clients.next('ready', 30_000);
    server.send({ type: 'memory' });
    const idle = await server.next('memory', 30_000);
    clients.send({ type: 'open', transport, port, n: N, batch: 200, timeoutMs: 120_000 });
    const opened = await clients.next('opened', 180_000);
    r.failed = opened.failed;
    r.openSeconds = opened.seconds;
    await sleep(SETTLE_MS);
    server.send({ type: 'memory' });
    const full = await server.next('memory', 60_000);
    r.held = full.connections;
    if (r.held > 0) Object.assign(r, perConnection(idle, full, r.held));
    // Fan-out: one event to everyone, timed from the publish call to the last receipt.
    let k = 0;
    for (let f = 0; f < FANOUTS; f++) {
      clients.send({ type: 'expect', count: ++k });
      server.send({ type: 'publish', k });
      const pub = await server.next('published', 30_000);
      try {
        const all = await clients.next('all', 30_000);
        r.fanoutMs.push(all.at - pub.at);
        r.fanoutCpuMs.push(pub.cpuMs);
      } catch {
        clients.send({ type: 'status' });
        const st = await clients.next('status', 5000);
        throw new Error(`fan-out ${f + 1}: ${st.reached} of ${st.open} clients got it within 30 s`);
      }
      await sleep(300);
    }
    // CPU at a steady rate: events/s × connections ≈ DELIVERIES per second.
    const perSecond = Math.max(1, Math.round(DELIVERIES / Math.max(1, r.held)));
    server.send({ type: 'rate', rate: perSecond, seconds: RATE_SECONDS, k0: k + 1 });
    const rated = await server.next('rated', RATE_SECONDS * 1000 + 30_000);
    k += rated.sent;
    clients.send({ type: 'expect', count: k });
    const caughtUp = await clients.next('all', 30_000).then(
      () => true,
      () => false,
    );
    r.rate = {
      perSecond,
      achieved: rated.sent / rated.seconds,
      deliveriesPerSecond: (rated.sent * r.held) / rated.seconds,
      cpuPercent: (100 * rated.cpuMs) / (rated.seconds * 1000),
    };
    if (!caughtUp) r.error = 'clients had not received every event 30 s after the steady-rate run';
  } catch (e) {
    r.error = (e as Error).message;
  } finally {
    // Each child exits when told; one that has not within a second is killed.
    const exited = (c: typeof server) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));
    clients.send?.({ type: 'close' });
    server.send?.({ type: 'exit' });
    await Promise.race([Promise.all([exited(clients), exited(server)]), sleep(1000)]);
    for (const c of [clients, server]) if (c.exitCode === null) c.kill('SIGKILL');
  }
  return r;
}

export async function run(): Promise<Result[]> {
  const results: Result[] = [];
  for (const t of TRANSPORTS) {
    process.stdout.write(`  ${t.padEnd(12)} ${N.toLocaleString('en-US')} clients … `);
    const r = await one(t);
    results.push(r);
    process.stdout.write(r.error ? `${r.error}\n` : `held ${r.held}\n`);
  }
  const rows: Cell[][] = results.map((r) => [
    r.transport,
    `${r.held.toLocaleString('en-US')} / ${N.toLocaleString('en-US')}`,
    r.openSeconds.toFixed(1),
    (r.rssPer / 1024).toFixed(1),
    (r.heapPer / 1024).toFixed(1),
    median(r.fanoutMs).toFixed(1),
    r.fanoutMs.length ? Math.max(...r.fanoutMs).toFixed(1) : undefined,
    median(r.fanoutCpuMs).toFixed(1),
    r.rate ? `${r.rate.achieved.toFixed(1)} of ${r.rate.perSecond} ev/s → ${Math.round(r.rate.deliveriesPerSecond).toLocaleString('en-US')}/s` : undefined,
    r.rate ? r.rate.cpuPercent.toFixed(0) + ' %' : undefined,
    r.rate ? ((r.rate.cpuPercent / r.rate.deliveriesPerSecond) * 1000).toFixed(2) + ' %' : undefined,
    r.error ?? '',
  ]);
  console.log(
    `\n## Server scale: one push-client server process, ${N.toLocaleString('en-US')} raw clients per transport (separate process), loopback; load average ${os.loadavg()[0].toFixed(2)}\n`,
  );
  console.log(
    table(
      [
        'transport',
        'held',
        'connect s',
        'RSS KiB/conn',
        'heap+buffers KiB/conn',
        'fan-out ms (median)',
        'fan-out ms (max)',
        'server CPU ms per fan-out',
        'steady load: events/s published (of aimed) → deliveries/s',
        'server CPU',
        'CPU per 1k deliveries/s',
        'error',
      ],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l'],
    ),
  );
  // Smoke mode is a test (npm test): a row that failed must fail it, not only show in the table.
  const failed = results.filter((r) => r.error);
  if (SMOKE && failed.length) throw new Error(`${failed.length} row(s) failed: ${failed.map((r) => r.error).join('; ')}`);
  return results;
}

if (isMain(import.meta.url)) await run();
