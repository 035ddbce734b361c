/**
 * Child process of `bench/scale.ts`: push-client's server alone on 127.0.0.1 (run with --expose-gc),
 * answering the parent over IPC: memory, connection count, one publish, or a steady publish rate.
 */
import { createServer } from 'node:http';
import { createPushServer } from '../../src/server/index';
import { listen, now, sleep } from './util';

const gc = (globalThis as { gc?: () => void }).gc;

function memory() {
  for (let k = 0; k < 3; k++) gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

const http = createServer();
http.maxConnections = Infinity;
const push = createPushServer({
  server: http,
  path: '/push',
  // Heartbeats off for the few minutes this runs: the raw clients do not answer pings.
  heartbeatMs: 600_000,
  pollTimeout: 600_000,
  // Every raw client comes from 127.0.0.1, by the thousand: no connection limits here.
  maxConnections: Infinity,
  maxConnectionsPerIp: Infinity,
  onError: () => {},
});
const port = await listen(http);
const send = (m: unknown) => process.send!(m);
/** Connections whose hello went out (`push.connections` is a snapshot array; once it was a Set). */
const connected = (): number => {
  const c = push.connections as unknown as { length?: number; size?: number };
  return c.length ?? c.size ?? 0;
};

process.on('message', async (m: any) => {
  switch (m.type) {
    case 'memory':
      return send({ type: 'memory', ...memory(), connections: connected() });
    case 'count':
      return send({ type: 'count', connections: connected() });
    case 'publish': {
      const cpu = process.cpuUsage();
      const at = now();
      await push.publish('ev', { k: m.k });
      // The publish queues a write on every connection; they go out on the next turn.
      await new Promise((r) => setImmediate(r));
      const d = process.cpuUsage(cpu);
      return send({ type: 'published', at, cpuMs: (d.user + d.system) / 1000 });
    }
    case 'rate': {
      // Publishes `rate` events/s for `seconds`, one tick every 10 ms, and reports the CPU it took.
      const cpu = process.cpuUsage();
      const start = now();
      let sent = 0;
      while (now() - start < m.seconds * 1000) {
        const due = Math.floor(((now() - start) / 1000) * m.rate);
        while (sent < due) void push.publish('ev', { k: m.k0 + sent++ });
        await sleep(10);
      }
      const d = process.cpuUsage(cpu);
      return send({ type: 'rated', sent, seconds: (now() - start) / 1000, cpuMs: (d.user + d.system) / 1000 });
    }
    case 'exit':
      await push.close();
      process.exit(0);
  }
});
send({ type: 'ready', port });
