import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 on `port` (default: a free one) and returns the port. */
export function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

/** Closes the server and every connection still open on it. */
export function shut(server: http.Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

/** Runs the cleanups registered during a test, last first. */
export function cleanups() {
  const list: (() => unknown)[] = [];
  return {
    add(f: () => unknown) {
      list.push(f);
    },
    async run() {
      for (const f of list.splice(0).reverse()) await f();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` is true, polling every 5 ms; rejects after `ms`. */
export async function until(cond: () => unknown, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Writes `text` on a raw TCP connection to 127.0.0.1:`port` and resolves with everything read until
 * the peer closes, or `ms` pass. `end` half-closes the connection after writing.
 */
export function rawExchange(port: number, text: string, { end = false, ms = 2000 } = {}): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const sock = net.connect(port, '127.0.0.1', () => (end ? sock.end(text) : sock.write(text)));
    sock.on('data', (d) => (out += d));
    sock.on('close', () => resolve(out));
    sock.on('error', () => resolve(out));
    sock.setTimeout(ms, () => sock.destroy());
  });
}
