/**
 * Recovery: every connection is dropped at once (our TCP proxy destroys every socket between client
 * and server, as a crashed load balancer or a network blip would) while the server publishes a
 * numbered stream (one event every 2 ms). Measured per drop, with a fresh client each time: time from
 * the drop to the first delivered event that was published after it (so it came over a new
 * connection), and the events lost (numbers never delivered) and
 * duplicated. Node clients on loopback; median over SAMPLES drops.
 *
 *   npm run bench -- recovery
 */
import { io as ioClient } from 'socket.io-client';
import { EventSource as EventSourcePkg } from 'eventsource';
import ReconnectingWebSocket from 'partysocket/ws';
import WebSocket from 'ws';
import { PushClient } from '../src/node';
import type { TransportName } from '../src/node';
import { startProxy } from './lib/proxy';
import { startPush, startRawSse, startRawWs, startSocketIo, type Running } from './lib/servers';
import { byMode } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { sleep } from './lib/util';

const SAMPLES = byMode(7, 3, 1);
const INTERVAL = 2;
const GIVE_UP = 10_000;

interface Case {
  client: string;
  note: string;
  start(): Promise<Running & { publish(seq: number): void }>;
  connect(port: number, onSeq: (n: number) => void): () => void;
  target?: boolean;
}

function pushCase(transports: TransportName[] | undefined, retryMs?: number): Case {
  return {
    client: `push-client ${transports ? transports.join(', ') : '(all three)'}`,
    note: retryMs === undefined ? 'defaults (server retryMs 500)' : `server retryMs ${retryMs}`,
    target: true,
    async start() {
      const s = await startPush({ history: 10_000, ...(retryMs === undefined ? {} : { retryMs }) });
      return { ...s, publish: (n) => void s.push.publish('ev', n) };
    },
    connect(port, onSeq) {
      const c = new PushClient<{ ev: number }>(`http://127.0.0.1:${port}/push`, { transports, rememberTransport: 0 });
      c.on('ev', onSeq);
      return () => c.close();
    },
  };
}

function sioCase(transports: string[], recovery: boolean): Case {
  return {
    client: `socket.io-client ${transports.join(', ')}`,
    note: recovery ? 'server connectionStateRecovery on' : 'defaults',
    async start() {
      const s = await startSocketIo(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true } } : {});
      return { ...s, publish: (n) => void s.io.emit('ev', n) };
    },
    connect(port, onSeq) {
      const s = ioClient(`http://127.0.0.1:${port}`, { transports, forceNew: true });
      s.on('ev', onSeq);
      return () => s.close();
    },
  };
}

const CASES: Case[] = [
  pushCase(['websocket']),
  pushCase(['eventsource']),
  pushCase(['longpoll']),
  pushCase(undefined),
  pushCase(['websocket'], 1000), // the default until it moved to 500
  sioCase(['websocket'], false),
  sioCase(['polling'], false),
  sioCase(['websocket'], true),
  {
    client: 'eventsource 5 (raw SSE server)',
    note: 'defaults; server resumes by Last-Event-ID',
    async start() {
      const s = await startRawSse();
      return { ...s, publish: (n) => s.send(String(n)) };
    },
    connect(port, onSeq) {
      const es = new EventSourcePkg(`http://127.0.0.1:${port}/sse`);
      es.onmessage = (m) => onSeq(+m.data);
      return () => es.close();
    },
  },
  {
    client: 'partysocket (raw WS server)',
    note: 'defaults',
    async start() {
      const s = await startRawWs();
      return { ...s, publish: (n) => s.send(String(n)) };
    },
    connect(port, onSeq) {
      const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, [], { WebSocket });
      ws.onmessage = (m) => onSeq(+m.data);
      return () => ws.close();
    },
  },
];

interface Drop {
  ms: number | null;
  lost: number;
  dup: number;
}

async function measure(c: Case): Promise<Drop[]> {
  const server = await c.start();
  const proxy = await startProxy(server.port);
  let seq = 0;
  const timer = setInterval(() => server.publish(++seq), INTERVAL);
  const drops: Drop[] = [];
  try {
    for (let k = 0; k < SAMPLES; k++) {
      const got = new Map<number, number>();
      let onEvent: ((n: number) => void) | null = null;
      const close = c.connect(proxy.port, (n) => {
        got.set(n, (got.get(n) ?? 0) + 1);
        onEvent?.(n);
      });
      try {
        // Let the stream settle: 100 events in.
        const t0 = performance.now();
        while (got.size < 100 && performance.now() - t0 < GIVE_UP) await sleep(5);
        if (got.size < 100) {
          drops.push({ ms: null, lost: NaN, dup: NaN });
          continue;
        }
        const cutAt = performance.now();
        const seqAtCut = seq;
        const firstBefore = Math.min(...got.keys());
        proxy.cut();
        // Back when an event published after the cut arrives: only a new connection can bring it
        // (what was already in the client's buffers may still be delivered after the cut).
        const back = await new Promise<number | null>((resolve) => {
          const t = setTimeout(() => resolve(null), GIVE_UP);
          onEvent = (n) => {
            if (n <= seqAtCut) return;
            clearTimeout(t);
            onEvent = null;
            resolve(performance.now() - cutAt);
          };
        });
        // Then let it run long enough for every event published before recovery to be due.
        const until = seq + 100;
        const t1 = performance.now();
        while (back !== null && Math.max(...got.keys()) < until && performance.now() - t1 < 3000) await sleep(10);
        const last = Math.max(...got.keys());
        let lost = 0;
        let dup = 0;
        for (let n = firstBefore; n <= last; n++) {
          const x = got.get(n) ?? 0;
          if (x === 0) lost++;
          else dup += x - 1;
        }
        drops.push({ ms: back, lost: back === null ? NaN : lost, dup });
      } finally {
        close();
        await sleep(50);
        proxy.cut();
        // Let every client library notice the sockets just cut: Node's fetch would otherwise hand
        // the next client a dead pooled keep-alive socket, fail its first connect, and so double
        // its next backoff (the connection has not been up for reconnect.minUptime yet).
        await sleep(300);
      }
      process.stdout.write('.');
    }
  } finally {
    clearInterval(timer);
    await proxy.close();
    await server.close();
  }
  return drops;
}

export async function run(): Promise<Record<string, unknown>> {
  const rows: Cell[][] = [];
  const out: Record<string, unknown> = {};
  for (const c of CASES) {
    process.stdout.write(`  ${(c.client + ', ' + c.note).padEnd(64)} `);
    const drops = await measure(c);
    process.stdout.write('\n');
    const ok = drops.filter((d) => d.ms !== null);
    const med = median(ok.map((d) => d.ms!));
    const lost = median(ok.map((d) => d.lost));
    out[c.client + ' / ' + c.note] = { median: med, lost };
    rows.push([
      c.client,
      c.note,
      ok.length ? med.toFixed(0) : `none in ${GIVE_UP / 1000} s`,
      ok.length ? Math.min(...ok.map((d) => d.ms!)).toFixed(0) + '–' + Math.max(...ok.map((d) => d.ms!)).toFixed(0) : '',
      `${ok.length}/${drops.length}`,
      ok.length ? lost : undefined,
      ok.length ? ok.reduce((a, d) => a + d.dup, 0) : undefined,
      c.target ? (med <= 600 && ok.every((d) => d.lost === 0) ? 'met' : `MISSED${med > 600 ? ' (time)' : ''}${ok.some((d) => d.lost) ? ' (lost)' : ''}`) : '',
    ]);
  }
  console.log(`\n## Recovery after every connection is cut (Node, loopback; one event every ${INTERVAL} ms; ${SAMPLES} drops each)\n`);
  console.log(
    table(
      ['client', 'setup', 'median ms to next event', 'range ms', 'recovered', 'lost (median/drop)', 'duplicates (total)', 'target ≤ 600 ms, 0 lost'],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  return out;
}

if (isMain(import.meta.url)) await run();
