/**
 * `npm run bench -- sse`: the EventSources push-client can read SSE with in Node, side by side, to
 * choose the Node default: events per second through a local server (one stream of small events
 * written in large chunks, as a busy server's would arrive), and the bytes each adds to a browser
 * bundle (minified, gzip). Loopback only; every loop is bounded; each reader is closed after its run.
 */
import http from 'node:http';
import { EventSourcePolyfill } from 'event-source-polyfill';
import { EventSource as EventSource5 } from 'eventsource';
import EventSource2 from 'eventsource-v2';
import { EventSource as EventSource4 } from 'eventsource-v4';
import { FetchEventSource } from '../src/transports/fetch-event-source';
import { byMode } from './lib/mode';
import { measure } from './lib/size';
import { median, table } from './lib/table';
import { listen } from './lib/util';

const EVENTS = byMode(100_000, 20_000, 2_000);
const RUNS = byMode(5, 1);
/** Events per write: the server writes in chunks of about 64 KiB. */
const PER_WRITE = 800;

type Source = { onmessage: ((m: MessageEvent) => void) | null; close(): void };
const readers: { name: string; make: (url: string) => Source; bundle?: string; share?: number }[] = [
  {
    name: 'FetchEventSource (push-client)',
    make: (url) => new FetchEventSource(url),
    bundle: `export { FetchEventSource } from './src/transports/fetch-event-source.ts';`,
  },
  { name: 'eventsource 5', make: (url) => new EventSource5(url) as Source, bundle: `export { EventSource } from 'eventsource';` },
  { name: 'eventsource 4', make: (url) => new EventSource4(url) as Source, bundle: `export { EventSource } from 'eventsource-v4';` },
  // Its buffer handling is quadratic in the chunk size: a tenth of the events, or it takes minutes.
  { name: 'eventsource 2', make: (url) => new EventSource2(url) as unknown as Source, share: 0.1 },
  {
    name: 'event-source-polyfill',
    make: (url) => new EventSourcePolyfill(url) as unknown as Source,
    bundle: `export { EventSourcePolyfill } from 'event-source-polyfill';`,
  },
];

/** Events per second of wall time, and CPU µs per event (this process: reader and server alike; steadier than wall time on a shared machine). */
async function eventsPerSecond(make: (url: string) => Source, EVENTS: number): Promise<[perSecond: number, cpuMicros: number]> {
  const block = Array.from({ length: PER_WRITE }, (_, i) => `id: ${i}\ndata: {"price":${i},"symbol":"ACME","ts":1700000000000}\n\n`).join('');
  const server = http.createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let sent = 0; sent < EVENTS && !res.destroyed; sent += PER_WRITE) {
      if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
    }
  });
  const port = await listen(server);
  try {
    return await new Promise((resolve, reject) => {
      let count = 0;
      const start = performance.now();
      const cpu = process.cpuUsage();
      const source = make(`http://127.0.0.1:${port}/`);
      const timer = setTimeout(() => (source.close(), reject(new Error(`only ${count} events in 60 s`))), 60_000);
      source.onmessage = () => {
        if (++count < EVENTS) return;
        clearTimeout(timer);
        source.close();
        const used = process.cpuUsage(cpu);
        resolve([(count / (performance.now() - start)) * 1000, (used.user + used.system) / count]);
      };
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

export async function run(): Promise<void> {
  const events = (r: (typeof readers)[number]) => Math.round(EVENTS * (r.share ?? 1));
  // Round after round, every reader once per round: on a busy machine no reader gets all the quiet moments.
  for (const r of readers) await eventsPerSecond(r.make, events(r)).catch(() => undefined); // warm-up (fetch and the JIT), not counted
  const runs = readers.map((): [number, number][] => []);
  for (let i = 0; i < RUNS; i++) for (const [k, r] of readers.entries()) runs[k].push(await eventsPerSecond(r.make, events(r)));
  const rows = [];
  for (const [k, r] of readers.entries()) {
    const size = r.bundle ? await measure({ contents: r.bundle }) : undefined;
    const name = r.name + (r.share ? ` (${events(r).toLocaleString('en-US')} events)` : '');
    rows.push([name, Math.round(median(runs[k].map((x) => x[0]))), median(runs[k].map((x) => x[1])).toFixed(1), size?.min, size?.gzip]);
  }
  console.log(
    `\n${EVENTS.toLocaleString('en-US')} events of ~70 B in one stream, median of ${RUNS} rounds after a warm-up; bundle bytes for a browser (eventsource 2 is Node-only)\n`,
  );
  console.log(table(['reader', 'events/s', 'CPU µs/event', 'min B', 'gzip B'], rows));
}
