/**
 * Fallback: time from `new PushClient()` to the first event, in Node (the Node client: `ws` for
 * WebSocket, the fetch reader for SSE), on loopback, when the better transports are blocked:
 * WebSocket refused (by the server, by a proxy's 403, or a closed port), WebSocket opening silent,
 * and SSE held by a buffering proxy. The blocking is done by our own TCP proxy (bench/lib/proxy.ts).
 *
 * The first event is ready on the server before the client starts: push-client gets it by resume
 * (it starts from the id just before it), socket.io by an `emit` in the server's `connection`
 * handler, the raw servers on connect. So the time measured is connecting (and falling back) only.
 * Every client runs with transport memory off (`rememberTransport: 0`) except where said.
 *
 *   npm run bench -- fallback
 */
import { io as ioClient } from 'socket.io-client';
import { EventSource as EventSourcePkg } from 'eventsource';
import ReconnectingWebSocket from 'partysocket/ws';
import WebSocket from 'ws';
import { PushClient } from '../src/node';
import type { PushClientOptions, PushUrl } from '../src/node';
import { startProxy, type ProxyModes } from './lib/proxy';
import { closedPort, startPush, startRawSse, startRawWs, startSocketIo } from './lib/servers';
import { byMode } from './lib/mode';
import { isMain, median, table, type Cell } from './lib/table';
import { sleep } from './lib/util';

const SAMPLES = byMode(9, 3, 1);
const SLOW_SAMPLES = byMode(3, 1);
/** connectTimeout used here (the default is 5000 ms; a shorter one keeps the benchmark short). */
const CT = byMode(1000, 1000, 300);
const GIVE_UP = byMode(8000, 8000, 1500);

type Sample = { ms: number; transport?: string } | null;

interface Row {
  client: string;
  scenario: string;
  samples: Sample[];
  target?: { ms: number; text: string };
}

export async function run(): Promise<Row[]> {
  const push = await startPush({ history: 100_000 });
  const pushNoWs = await startPush({ history: 100_000, transports: ['eventsource', 'longpoll'] });
  const sio = await startSocketIo();
  sio.io.on('connection', (s) => s.emit('first', 1));
  const rawSse = await startRawSse();
  const rawWs = await startRawWs();
  rawWs.onConnect = (ws) => ws.send('first');
  const dead = await closedPort();
  const rows: Row[] = [];

  /** One push-client sample: the event `first` waits in history right after `lastEventId`. */
  async function pc(server: typeof push, url: (port: number) => PushUrl, opts: PushClientOptions = {}): Promise<Sample> {
    const id0 = await server.push.publish('warm', 0);
    await server.push.publish('first', 1);
    const t0 = performance.now();
    const c = new PushClient(url(server.port), { lastEventId: id0, rememberTransport: 0, connectTimeout: CT, ...opts });
    try {
      return await new Promise<Sample>((resolve) => {
        const t = setTimeout(() => resolve(null), GIVE_UP);
        c.on('first', (_d, meta) => {
          clearTimeout(t);
          resolve({ ms: performance.now() - t0, transport: meta.transport });
        });
      });
    } finally {
      c.close();
    }
  }

  async function sample(n: number, f: () => Promise<Sample>): Promise<Sample[]> {
    await f(); // warm-up (module loading, first fetch), not counted
    const out: Sample[] = [];
    for (let k = 0; k < n; k++) {
      out.push(await f());
      await sleep(20);
    }
    return out;
  }

  async function viaProxy<T>(target: number, modes: ProxyModes, f: (port: number) => Promise<T>): Promise<T> {
    const p = await startProxy(target, modes);
    try {
      return await f(p.port);
    } finally {
      await p.close();
    }
  }

  const http = (port: number) => `http://127.0.0.1:${port}/push`;
  const refusedTarget = { ms: 50, text: '≤ 50 ms' };
  const slowTarget = (timeouts: number) => ({ ms: timeouts * CT + 100, text: `≤ ${timeouts} × connectTimeout + one poll` });

  process.stdout.write('  push-client ');
  rows.push({ client: 'push-client', scenario: 'WebSocket works (reference)', samples: await sample(SAMPLES, () => pc(push, http)) });
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket refused by the server (400)',
    samples: await sample(SAMPLES, () => pc(pushNoWs, http)),
    target: refusedTarget,
  });
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket refused by a proxy (403)',
    samples: await viaProxy(push.port, { ws403: true }, (port) => sample(SAMPLES, () => pc({ ...push, port }, http))),
    target: refusedTarget,
  });
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket port closed (ECONNREFUSED)',
    samples: await sample(SAMPLES, () => pc(push, (port) => ({ websocket: `ws://127.0.0.1:${dead}/push`, eventsource: http(port), longpoll: http(port) }))),
    target: refusedTarget,
  });
  process.stdout.write('.');
  rows.push({
    client: 'push-client',
    scenario: `WebSocket opens silent (connectTimeout ${CT})`,
    samples: await viaProxy(push.port, { wsSilent: true }, (port) => sample(SLOW_SAMPLES, () => pc({ ...push, port }, http))),
    target: { ms: CT + 100, text: `≤ connectTimeout + SSE connect` },
  });
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket 403 + SSE buffered',
    samples: await viaProxy(push.port, { ws403: true, sseBuffer: true }, (port) => sample(SLOW_SAMPLES, () => pc({ ...push, port }, http))),
    target: slowTarget(1),
  });
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket silent + SSE buffered',
    samples: await viaProxy(push.port, { wsSilent: true, sseBuffer: true }, (port) => sample(SLOW_SAMPLES, () => pc({ ...push, port }, http))),
    target: slowTarget(2),
  });
  // Transport memory: a second client on the same URL after one fell back starts where it will succeed.
  rows.push({
    client: 'push-client',
    scenario: 'WebSocket silent, 2nd client (transport memory on)',
    samples: await viaProxy(push.port, { wsSilent: true }, async (port) => {
      await pc({ ...push, port }, http, { rememberTransport: 60_000 });
      return sample(SAMPLES, () => pc({ ...push, port }, http, { rememberTransport: 60_000 }));
    }),
    target: refusedTarget,
  });
  process.stdout.write('. socket.io-client ');

  /** socket.io: the server emits `first` in its connection handler. */
  async function sioSample(port: number, opts: Record<string, unknown>): Promise<Sample> {
    const t0 = performance.now();
    const s = ioClient(`http://127.0.0.1:${port}`, { reconnection: true, forceNew: true, ...opts });
    try {
      return await new Promise<Sample>((resolve) => {
        const t = setTimeout(() => resolve(null), GIVE_UP);
        s.on('first', () => {
          clearTimeout(t);
          resolve({ ms: performance.now() - t0, transport: s.io.engine?.transport?.name });
        });
      });
    } finally {
      s.close();
    }
  }
  rows.push({
    client: 'socket.io-client (default: polling, then upgrade)',
    scenario: 'WebSocket works (reference)',
    samples: await sample(SAMPLES, () => sioSample(sio.port, {})),
  });
  rows.push({
    client: 'socket.io-client (default: polling, then upgrade)',
    scenario: 'WebSocket refused by a proxy (403)',
    samples: await viaProxy(sio.port, { ws403: true }, (port) => sample(SAMPLES, () => sioSample(port, {}))),
  });
  rows.push({
    client: 'socket.io-client (websocket first, tryAllTransports)',
    scenario: 'WebSocket works (reference)',
    samples: await sample(SAMPLES, () => sioSample(sio.port, { transports: ['websocket', 'polling'], tryAllTransports: true })),
  });
  rows.push({
    client: 'socket.io-client (websocket first, tryAllTransports)',
    scenario: 'WebSocket refused by a proxy (403)',
    samples: await viaProxy(sio.port, { ws403: true }, (port) =>
      sample(SAMPLES, () => sioSample(port, { transports: ['websocket', 'polling'], tryAllTransports: true })),
    ),
  });
  rows.push({
    client: 'socket.io-client (websocket first, tryAllTransports)',
    scenario: 'WebSocket opens silent',
    samples: await viaProxy(sio.port, { wsSilent: true }, (port) =>
      sample(SLOW_SAMPLES, () => sioSample(port, { transports: ['websocket', 'polling'], tryAllTransports: true })),
    ),
  });
  process.stdout.write('. eventsource, partysocket ');

  async function esSample(port: number): Promise<Sample> {
    const t0 = performance.now();
    const es = new EventSourcePkg(`http://127.0.0.1:${port}/sse`);
    try {
      return await new Promise<Sample>((resolve) => {
        const t = setTimeout(() => resolve(null), GIVE_UP);
        es.onmessage = () => {
          clearTimeout(t);
          resolve({ ms: performance.now() - t0, transport: 'eventsource' });
        };
        es.onopen = () => rawSse.send('first');
      });
    } finally {
      es.close();
    }
  }
  rows.push({ client: 'eventsource 5 (raw SSE server)', scenario: 'SSE works (reference)', samples: await sample(SAMPLES, () => esSample(rawSse.port)) });
  rows.push({
    client: 'eventsource 5 (raw SSE server)',
    scenario: 'SSE buffered',
    samples: await viaProxy(rawSse.port, { sseBuffer: true }, (port) => sample(SLOW_SAMPLES, () => esSample(port))),
  });

  async function psSample(port: number): Promise<Sample> {
    const t0 = performance.now();
    const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, [], { WebSocket, maxRetries: 10 });
    try {
      return await new Promise<Sample>((resolve) => {
        const t = setTimeout(() => resolve(null), GIVE_UP);
        ws.onmessage = () => {
          clearTimeout(t);
          resolve({ ms: performance.now() - t0, transport: 'websocket' });
        };
      });
    } finally {
      ws.close();
    }
  }
  rows.push({ client: 'partysocket (raw WS server)', scenario: 'WebSocket works (reference)', samples: await sample(SAMPLES, () => psSample(rawWs.port)) });
  rows.push({
    client: 'partysocket (raw WS server)',
    scenario: 'WebSocket opens silent',
    samples: await viaProxy(rawWs.port, { wsSilent: true }, (port) => sample(SLOW_SAMPLES, () => psSample(port))),
  });
  process.stdout.write('.\n');

  await Promise.all([push.close(), pushNoWs.close(), sio.close(), rawSse.close(), rawWs.close()]);

  const cells: Cell[][] = rows.map((r) => {
    const ok = r.samples.filter((s): s is NonNullable<Sample> => s !== null);
    const med = median(ok.map((s) => s.ms));
    const transports = [...new Set(ok.map((s) => s.transport))].join(', ');
    const verdict = !r.target ? '' : !ok.length ? 'MISSED (no event)' : med <= r.target.ms ? `met (${r.target.text})` : `MISSED (${r.target.text})`;
    return [
      r.client,
      r.scenario,
      ok.length ? med.toFixed(1) : `none in ${GIVE_UP / 1000} s`,
      ok.length ? Math.max(...ok.map((s) => s.ms)).toFixed(1) : '',
      `${ok.length}/${r.samples.length}`,
      transports,
      verdict,
    ];
  });
  console.log(`\n## Fallback in Node on loopback: construction to first event (connectTimeout ${CT} ms; median of ${SAMPLES}, slow cases ${SLOW_SAMPLES})\n`);
  console.log(table(['client', 'scenario', 'median ms', 'max ms', 'got event', 'first event over', 'target'], cells, ['l', 'l', 'r', 'r', 'r', 'l', 'l']));
  return rows;
}

if (isMain(import.meta.url)) await run();
