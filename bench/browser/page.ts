/**
 * The page that Chromium runs for `bench/throughput.ts`. It connects with one client (chosen by
 * `?case=`), then for each run the server announces: asks the server to start, records the arrival
 * of every event in a preallocated array, and posts its figures back. No DevTools client is attached
 * to the browser, so nothing but this page's own code sits between the network and the handler.
 *
 * Every event's data is `{ r: run, i: index, t: publish time (server clock, ms) }` plus padding.
 */
import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { io } from 'socket.io-client';
import { PushClient } from '../../src/index';

type Data = { r: number; i: number; t: number };
type Sink = (d: Data) => void;
type Close = () => void;

const origin = location.origin;
const wsOrigin = origin.replace(/^http/, 'ws');

function pushClient(transport: 'websocket' | 'eventsource' | 'longpoll') {
  return (sink: Sink) =>
    new Promise<Close>((resolve, reject) => {
      const c = new PushClient<{ ev: Data }>(origin + '/push', { transports: [transport], pollWhenHidden: true });
      c.on('ev', sink);
      const off = c.subscribe((s) => {
        if (s.state === 'open') {
          queueMicrotask(() => off());
          resolve(() => c.close());
        } else if (s.state === 'closed') reject(new Error('closed: ' + s.error?.message));
      });
    });
}

function socketIo(transport: 'websocket' | 'polling') {
  return (sink: Sink) =>
    new Promise<Close>((resolve, reject) => {
      const s = io(origin, { transports: [transport], reconnection: false });
      s.on('ev', sink);
      s.on('connect', () => resolve(() => s.close()));
      s.on('connect_error', reject);
    });
}

const CASES: Record<string, (sink: Sink) => Promise<Close>> = {
  'raw-ws': (sink) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(wsOrigin + '/raw-ws');
      ws.onmessage = (m) => sink(JSON.parse(m.data));
      ws.onopen = () => resolve(() => ws.close());
      ws.onerror = () => reject(new Error('raw WebSocket error'));
    }),
  'raw-ws-batch': (sink) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(wsOrigin + '/raw-ws');
      ws.onmessage = (m) => {
        for (const d of JSON.parse(m.data)) sink(d);
      };
      ws.onopen = () => resolve(() => ws.close());
      ws.onerror = () => reject(new Error('raw WebSocket error'));
    }),
  'raw-sse': (sink) =>
    new Promise((resolve, reject) => {
      const es = new EventSource(origin + '/raw-sse');
      es.onmessage = (m) => sink(JSON.parse(m.data));
      es.onopen = () => resolve(() => es.close());
      es.onerror = () => reject(new Error('raw EventSource error'));
    }),
  'raw-sse-ids': (sink) =>
    new Promise((resolve, reject) => {
      const es = new EventSource(origin + '/raw-sse');
      es.onmessage = (m) => {
        // What push-client's transport reads from each event: type, id and data.
        const e = { event: m.type, id: m.lastEventId, data: m.data };
        sink(JSON.parse(e.data.slice(e.data.indexOf('\n') + 1)));
      };
      es.onopen = () => resolve(() => es.close());
      es.onerror = () => reject(new Error('raw EventSource error'));
    }),
  'raw-sse-pc': (sink) =>
    new Promise((resolve, reject) => {
      // push-client's server read as raw-sse-ids reads its wire: what the client library adds is then the difference to pc-sse.
      const es = new EventSource(origin + '/push?t=sse');
      es.onmessage = (m) => {
        const data: string = m.data;
        if (data.startsWith('$batch\n')) {
          for (const line of data.slice(7).split('\n')) sink(JSON.parse(line.slice(line.indexOf('\t', line.indexOf('\t', line.indexOf('\t') + 1) + 1) + 1)));
        } else if (data[0] !== '$') sink(JSON.parse(data.slice(data.indexOf('\n') + 1)));
      };
      es.onopen = () => resolve(() => es.close());
      es.onerror = () => reject(new Error('raw EventSource error'));
    }),
  'pc-ws': pushClient('websocket'),
  'pc-sse': pushClient('eventsource'),
  'pc-lp': pushClient('longpoll'),
  'sio-ws': socketIo('websocket'),
  'sio-poll': socketIo('polling'),
  'signalr-ws': async (sink) => {
    const c = new HubConnectionBuilder()
      .withUrl(origin + '/signalr', { skipNegotiation: true, transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None)
      .build();
    c.on('ev', sink);
    await c.start();
    return () => void c.stop();
  },
};

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}

/** Offset to add to `performance.timeOrigin + performance.now()` to get the server's clock. */
async function clockOffset(): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let k = 0; k < 15; k++) {
    const t0 = performance.timeOrigin + performance.now();
    const { now } = await (await fetch('/time', { cache: 'no-store' })).json();
    const t1 = performance.timeOrigin + performance.now();
    if (t1 - t0 < best.rtt) best = { offset: now - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

function quantile(sorted: Float64Array, q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(xs: Float64Array): number {
  return quantile(Float64Array.from(xs).sort(), 0.5);
}

interface Run {
  id: number;
  n: number;
  timeoutMs: number;
  /** Sample this run with the JS Self-Profiling API (no DevTools) and report the hottest functions. */
  profile?: boolean;
}

interface Trace {
  frames: { name: string; resourceId?: number; line?: number; column?: number }[];
  stacks: { frameId: number; parentId?: number }[];
  samples: { timestamp: number; stackId?: number }[];
}

/** Self and inclusive sample counts per function, top 25 of each. */
function summarize(t: Trace) {
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const name = (f: number) => {
    const fr = t.frames[f];
    return `${fr.name || '(anonymous)'}:${fr.line ?? ''}`;
  };
  let idle = 0;
  for (const s of t.samples) {
    if (s.stackId === undefined) {
      idle++;
      continue;
    }
    const seen = new Set<string>();
    let st: number | undefined = s.stackId;
    const top = name(t.stacks[st].frameId);
    self.set(top, (self.get(top) ?? 0) + 1);
    while (st !== undefined) {
      const n = name(t.stacks[st].frameId);
      if (!seen.has(n)) incl.set(n, (incl.get(n) ?? 0) + 1);
      seen.add(n);
      st = t.stacks[st].parentId;
    }
  }
  const top = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return { samples: t.samples.length, idle, self: top(self), inclusive: top(incl) };
}

async function main() {
  const name = new URLSearchParams(location.search).get('case')!;
  const open = CASES[name];
  if (!open) throw new Error('unknown case ' + name);
  const { offset, rtt } = await clockOffset();
  const base = performance.timeOrigin + offset;

  let cur = -1;
  let recv = new Float64Array(0);
  let sent = new Float64Array(0);
  let got = 0;
  let dup = 0;
  let stray = 0;
  let done: (() => void) | null = null;

  const sink: Sink = (d) => {
    const now = performance.now();
    if (d.r !== cur) return void stray++;
    const k = d.i;
    if (recv[k] !== 0) return void dup++;
    recv[k] = now;
    sent[k] = d.t;
    if (++got === recv.length) done?.();
  };

  const t0 = performance.now();
  const close = await open(sink);
  const connectMs = performance.now() - t0;
  const { runs } = (await post('/ready', { case: name, offset, rtt, connectMs, hidden: document.hidden })) as { runs: Run[] };

  for (const run of runs) {
    cur = run.id;
    recv = new Float64Array(run.n);
    sent = new Float64Array(run.n);
    got = dup = stray = 0;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
      setTimeout(resolve, run.timeoutMs);
    });
    const P = (globalThis as any).Profiler;
    const profiler = run.profile && P ? new P({ sampleInterval: 1, maxBufferSize: 1e6 }) : null;
    await post('/go', { id: run.id });
    await finished;
    done = null;
    const profile = profiler ? summarize(await profiler.stop()) : run.profile ? 'no Profiler (Document-Policy: js-profiling?)' : undefined;
    // Latency of each event: arrival (server clock) minus its publish time.
    const lat = new Float64Array(got);
    let firstSent = Infinity;
    let lastRecv = 0;
    let j = 0;
    for (let k = 0; k < run.n; k++) {
      if (recv[k] === 0) continue;
      const at = base + recv[k];
      lat[j++] = at - sent[k];
      if (sent[k] < firstSent) firstSent = sent[k];
      if (at > lastRecv) lastRecv = at;
    }
    const tenth = Math.max(1, Math.floor(got / 10));
    const sorted = Float64Array.from(lat).sort();
    await post('/report', {
      id: run.id,
      got,
      dup,
      stray,
      seconds: (lastRecv - firstSent) / 1000,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1],
      // Backlog check: latency at the start of the run against latency at its end.
      firstTenth: median(lat.subarray(0, tenth)),
      lastTenth: median(lat.subarray(got - tenth)),
      profile,
    });
  }
  close();
  await post('/done', {});
}

main().catch((e) => post('/fail', { message: String(e?.stack || e) }));
