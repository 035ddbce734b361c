/**
 * An HTTP reverse proxy with no affinity: each request goes to the next backend in turn (round
 * robin), whatever connection it came on, as a Kubernetes Service or a serverless platform spreads
 * requests. With `cutMs`, every response still open that long is cut (its socket destroyed), as a
 * platform's maximum request duration ends it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  port: number;
  url(path?: string): string;
  /** Requests sent to each backend so far, by port. */
  readonly sent: Map<number, number>;
  /** Responses cut at `cutMs` so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: number[], opts: { cutMs?: number } = {}): Promise<RoundRobinProxy> {
  let next = 0;
  let cuts = 0;
  const sent = new Map<number, number>();
  // No keep-alive upstream: every request is on its own, nothing ties it to the backend of the last one.
  const agent = new http.Agent({ keepAlive: false });
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const port = backends[next++ % backends.length];
    sent.set(port, (sent.get(port) ?? 0) + 1);
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer), timers.delete(timer);
      up.destroy();
    };
    if (opts.cutMs !== undefined) {
      timer = setTimeout(() => {
        timers.delete(timer!);
        if (res.writableEnded) return;
        cuts++;
        res.destroy();
        up.destroy();
      }, opts.cutMs);
      timers.add(timer);
    }
    up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('backend unreachable')));
    res.on('close', done);
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/push') => `http://127.0.0.1:${port}${path}`,
    sent,
    get cuts() {
      return cuts;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      agent.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
