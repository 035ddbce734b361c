/**
 * A TCP proxy on 127.0.0.1 (plain `net`) that plays the middleboxes the fallback benchmarks need:
 * - `ws403`: answers every WebSocket upgrade with 403, as corporate proxies do;
 * - `wsSilent`: accepts every WebSocket upgrade (a valid 101) and then passes nothing;
 * - `sseBuffer`: passes an SSE response's headers, then holds its body forever (a buffering proxy);
 * and `cut()` destroys every open connection at once (a server or network drop).
 * Everything else is piped through unchanged. Decisions are per TCP connection, on its first request.
 */
import { createHash } from 'node:crypto';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface ProxyModes {
  ws403?: boolean;
  wsSilent?: boolean;
  sseBuffer?: boolean;
}

export interface Proxy {
  port: number;
  modes: ProxyModes;
  /** Destroys every open connection (both sides). Returns how many client connections were cut. */
  cut(): number;
  close(): Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startProxy(target: number, modes: ProxyModes = {}): Promise<Proxy> {
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
  };
  const server = net.createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < 16384) return;
      client.off('data', onData);
      decide(head.subarray(0, end < 0 ? head.length : end).toString('latin1'), head);
    };
    client.on('data', onData);

    function decide(headers: string, first: Buffer) {
      const upgrade = /^upgrade:\s*websocket/im.test(headers);
      const sse = /^accept:.*text\/event-stream/im.test(headers) || /[?&]t=sse(&|\s|$)/.test(headers.split('\r\n')[0]);
      if (upgrade && proxy.modes.ws403) {
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden');
        return;
      }
      if (upgrade && proxy.modes.wsSilent) {
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(headers)?.[1] ?? '';
        const accept = createHash('sha1')
          .update(key + GUID)
          .digest('base64');
        client.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        client.on('data', () => {}); // swallow whatever the client sends; answer nothing, ever
        return;
      }
      const end = first.indexOf('\r\n\r\n');
      if (!upgrade && end >= 0) {
        // One request per connection: a kept-alive connection would carry later requests (an SSE
        // request after a long-poll one) past the decision, which is made on the first request only.
        const head = first
          .subarray(0, end)
          .toString('latin1')
          .replace(/\r\nconnection:[^\r]*/gi, '');
        first = Buffer.concat([Buffer.from(head + '\r\nConnection: close', 'latin1'), first.subarray(end)]);
      }
      const upstream = net.connect(target, '127.0.0.1');
      track(upstream);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      upstream.write(first);
      client.pipe(upstream);
      if (sse && proxy.modes.sseBuffer) {
        // Pass the status line and headers, hold the body.
        let seen = Buffer.alloc(0);
        let passed = false;
        upstream.on('data', (chunk: Buffer) => {
          if (passed) return;
          seen = Buffer.concat([seen, chunk]);
          const end = seen.indexOf('\r\n\r\n');
          if (end >= 0) {
            passed = true;
            client.write(seen.subarray(0, end + 4));
          }
        });
      } else upstream.pipe(client);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy: Proxy = {
    port: (server.address() as AddressInfo).port,
    modes,
    cut() {
      let n = 0;
      for (const s of open) {
        s.destroy();
        n++;
      }
      open.clear();
      return n;
    },
    close() {
      proxy.cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
  return proxy;
}
