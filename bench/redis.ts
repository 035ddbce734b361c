/**
 * Redis backplane benchmark: events/s through Redis and the latency it adds, beside the in-memory
 * backplane. Run: `node --import tsx bench/redis.ts` (starts its own redis-server on a free
 * loopback port; or set REDIS_URL to use one that runs). Not part of the test suite.
 *
 * Every push server runs in a child process of its own; the receiving PushClient (WebSocket) runs
 * in this process. Scenarios:
 * - memory:           one process publishes and serves the client (the embedded default);
 * - redis, 1 process: the same through Redis (publish → XADD → XREAD → client);
 * - redis, 2 processes: A publishes, the client is on B.
 * Throughput: `N` events published as fast as the publisher can (`BATCH` in flight), timed from the
 * first publish to the last event at the client. Latency: events published one every ~1 ms,
 * publish-to-handler time of each (both ends read the same wall clock).
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PushClient } from '../src/node';
import { createPushServer, memoryBackplane, redisBackplane } from '../src/server';
import { table } from './lib/table';

const N = Number(process.env.N ?? 20_000);
const BATCH = Number(process.env.BATCH ?? 200);
const LAT_N = Number(process.env.LAT_N ?? 2000);
const PAYLOAD = Number(process.env.PAYLOAD ?? 64);
const RUNS = Number(process.env.RUNS ?? 3);

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const median = (xs: number[]) => quantile(xs, 0.5);

interface ServerConfig {
  backplane: 'memory' | 'redis';
  url?: string;
  stream?: string;
}

// ---------------------------------------------------------------- child: one push server process
async function serve(cfg: ServerConfig): Promise<void> {
  const push = createPushServer({
    backplane: cfg.backplane === 'redis' ? redisBackplane({ url: cfg.url!, stream: cfg.stream!, maxLen: 100_000 }) : memoryBackplane({ history: 1000 }),
    heartbeatMs: 60_000,
  });
  const server = http.createServer((req, res) => void (push.handleRequest(req, res) || res.writeHead(404).end()));
  server.on('upgrade', (req, socket, head) => void (push.handleUpgrade(req, socket, head) || socket.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pad = 'x'.repeat(PAYLOAD);
  process.on('message', async (m: { op: string; count: number; batch: number; spacingMs: number }) => {
    if (m.op === 'stop') {
      await push.close();
      server.closeAllConnections();
      server.close(() => process.exit(0));
      return;
    }
    // op 'run': publish `count` events, `batch` in flight, `spacingMs` between batches.
    const t0 = now();
    for (let i = 0; i < m.count; i += m.batch) {
      const ps: Promise<string>[] = [];
      for (let k = i; k < Math.min(i + m.batch, m.count); k++) ps.push(push.publish('b', { i: k, t: now(), p: pad }));
      await Promise.all(ps);
      if (m.spacingMs) await sleep(m.spacingMs);
    }
    process.send!({ published: m.count, ms: now() - t0 });
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ port: (server.address() as AddressInfo).port });
}

// ---------------------------------------------------------------- parent
interface Proc {
  port: number;
  run(count: number, batch: number, spacingMs: number): Promise<{ ms: number }>;
  stop(): Promise<void>;
}

async function spawnServer(cfg: ServerConfig): Promise<Proc> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', JSON.stringify(cfg)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () => new Promise<any>((r) => child.once('message', r));
  const { port } = await next();
  return {
    port,
    async run(count, batch, spacingMs) {
      const done = next();
      child.send({ op: 'run', count, batch, spacingMs });
      return done;
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ op: 'stop' });
      await exited;
    },
  };
}

async function receiver(port: number) {
  const c = new PushClient(`http://127.0.0.1:${port}/push`, { transports: ['websocket'] });
  let count = 0;
  let last = 0;
  let lat: number[] = [];
  let want = Infinity;
  let done: () => void = () => {};
  c.on('b', (d: { t: number }) => {
    const at = now();
    lat.push(at - d.t);
    last = at;
    if (++count >= want) done();
  });
  await new Promise<void>((r) => c.lifecycle.on('open', () => r()));
  return {
    expect(n: number) {
      count = 0;
      lat = [];
      want = n;
      return new Promise<{ lat: number[]; last: number }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`received ${count} of ${n}`)), 120_000);
        done = () => {
          clearTimeout(t);
          resolve({ lat, last });
        };
      });
    },
    close: () => c.close(),
  };
}

interface Row {
  name: string;
  eps: number[];
  pubEps: number[];
  p50: number[];
  p99: number[];
}

async function scenario(name: string, publisher: Proc, serving: Proc): Promise<Row> {
  const r = await receiver(serving.port);
  const row: Row = { name, eps: [], pubEps: [], p50: [], p99: [] };
  // Warm-up (JIT, connections).
  let got = r.expect(2000);
  await publisher.run(2000, BATCH, 0);
  await got;
  for (let run = 0; run < RUNS; run++) {
    got = r.expect(N);
    const t0 = now();
    const pub = await publisher.run(N, BATCH, 0);
    const { last } = await got;
    row.eps.push(N / ((last - t0) / 1000));
    row.pubEps.push(N / (pub.ms / 1000));
    await sleep(200);
    got = r.expect(LAT_N);
    await publisher.run(LAT_N, 1, 1);
    const { lat } = await got;
    row.p50.push(quantile(lat, 0.5));
    row.p99.push(quantile(lat, 0.99));
    await sleep(200);
  }
  r.close();
  return row;
}

async function main(): Promise<void> {
  let url = process.env.REDIS_URL;
  let stopRedis = async () => {};
  if (!url) {
    const { startRedis } = await import('../test/helpers/redis');
    const redis = await startRedis();
    url = redis.url;
    stopRedis = () => redis.stop();
  }
  const stream = `bench-${process.pid}`;
  const rows: Row[] = [];

  const mem = await spawnServer({ backplane: 'memory' });
  rows.push(await scenario('memory, 1 process', mem, mem));
  await mem.stop();

  const a = await spawnServer({ backplane: 'redis', url, stream });
  rows.push(await scenario('redis, 1 process', a, a));
  const b = await spawnServer({ backplane: 'redis', url, stream });
  rows.push(await scenario('redis, publish on A, client on B', a, b));
  await a.stop();
  await b.stop();
  await stopRedis();

  const base = rows[0];
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(
    `\nRedis backplane: ${N} events of ~${PAYLOAD + 30} B JSON for throughput (${BATCH} publishes in flight), ` +
      `${LAT_N} events ~1 ms apart for latency; median of ${RUNS} runs; WebSocket client (Node) in the bench process, ` +
      `each server in its own process; node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`,
  );
  console.log(
    table(
      ['backplane', 'delivered events/s', 'publish resolved/s', 'latency p50 ms', 'latency p99 ms', 'added p50 ms', 'added p99 ms'],
      rows.map((r) => [
        r.name,
        f(median(r.eps)),
        f(median(r.pubEps)),
        f(median(r.p50), 2),
        f(median(r.p99), 2),
        r === base ? '–' : f(median(r.p50) - median(base.p50), 2),
        r === base ? '–' : f(median(r.p99) - median(base.p99), 2),
      ]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
}

if (process.argv[2] === '--serve') {
  serve(JSON.parse(process.argv[3]) as ServerConfig).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
