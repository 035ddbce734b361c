/**
 * Child process of `bench/fanout.ts`: one server of the kind named in argv[2], alone on 127.0.0.1
 * (run with --expose-gc), answering the parent over IPC: memory, connection count, one publish.
 *
 * Kinds: `push-websocket`, `push-eventsource`, `push-longpoll` (push-client's server, the raw
 * clients choose the transport); `ws-send` (a bare `ws` server calling `send()` per client);
 * `ws-prebuilt` (a bare `ws` server writing one pre-built frame to every socket); `socket.io`;
 * `sse-prebuilt` and `lp-prebuilt` (a bare `http` server writing the same bytes to every stream or
 * held poll); `sse-chunk` (the same, each event framed once as an HTTP chunk and written to every
 * stream's socket, as push-client does). Each event is the bytes push-client itself sends (`encodeEvent`), so all carry as much.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeEvent } from '../../src/protocol';
import { createPushServer } from '../../src/server/index';
import { listen, now } from './util';

const kind = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;

function memory() {
  for (let k = 0; k < 3; k++) gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

const HELLO = encodeEvent('$hello', JSON.stringify({ cid: 'bare', epoch: 'e', replay: true, hb: 600_000 }));
const SSE_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' };
const eventText = (k: number): string => encodeEvent('ev', JSON.stringify({ k }), String(k));

/** The header of an unmasked, final text frame (RFC 6455 §5.2), for payloads under 64 KiB. */
function textFrame(payload: Buffer): Buffer {
  const head = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([head, payload]);
}

interface Kind {
  /** Publishes event `k` to every client; resolves once every write was issued. */
  publish(k: number): unknown;
  connections(): number;
  close(): unknown;
}

const http = createServer();
http.maxConnections = Infinity;

function make(): Kind {
  if (kind.startsWith('push-')) {
    const push = createPushServer({
      server: http,
      // Heartbeats off for the minutes this runs: the raw clients do not answer pings.
      heartbeatMs: 600_000,
      pollTimeout: 600_000,
      maxConnections: Infinity,
      maxConnectionsPerIp: Infinity,
      onError: () => {},
    });
    return {
      // The publish queues a write on every connection; they go out on the next turn.
      publish: async (k) => {
        await push.publish('ev', { k });
        await new Promise((r) => setImmediate(r));
      },
      connections: () => push.connections.length,
      close: () => push.close(),
    };
  }
  if (kind === 'ws-send' || kind === 'ws-prebuilt') {
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on('connection', (ws) => ws.send(HELLO));
    return {
      publish(k) {
        const text = eventText(k);
        if (kind === 'ws-send') for (const ws of wss.clients) ws.send(text);
        else {
          const frame = textFrame(Buffer.from(text));
          for (const ws of wss.clients) (ws as WebSocket & { _socket: Socket })._socket.write(frame);
        }
      },
      connections: () => wss.clients.size,
      close: () => new Promise((r) => wss.close(r)),
    };
  }
  if (kind === 'socket.io') {
    const io = new SocketIoServer(http, { transports: ['websocket'], perMessageDeflate: false, pingInterval: 600_000, pingTimeout: 600_000 });
    io.on('connection', (socket) => socket.emit('$hello'));
    return {
      publish: (k) => void io.emit('ev', { k }),
      connections: () => io.engine.clientsCount,
      close: () => new Promise((r) => io.close(r)),
    };
  }
  if (kind === 'sse-prebuilt' || kind === 'sse-chunk') {
    const streams = new Set<ServerResponse>();
    http.on('request', (req, res) => {
      req.socket.setNoDelay(true);
      res.writeHead(200, { ...SSE_HEADERS, 'Transfer-Encoding': 'chunked' });
      res.write(HELLO);
      streams.add(res);
      res.on('close', () => streams.delete(res));
    });
    return {
      publish(k) {
        const bytes = Buffer.from(eventText(k));
        if (kind === 'sse-prebuilt') {
          for (const res of streams) res.write(bytes);
          return;
        }
        // The chunk's framing too, built once: one socket write per stream.
        const chunk = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
        for (const res of streams) res.socket?.write(chunk);
      },
      connections: () => streams.size,
      close: () => streams.forEach((res) => res.destroy()),
    };
  }
  if (kind === 'lp-prebuilt') {
    // A poll without cid gets the hello at once; later polls are held until the next event.
    const held = new Set<ServerResponse>();
    let sessions = 0;
    const answer = (res: ServerResponse, body: Buffer) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      res.end(body);
    };
    http.on('request', (req, res) => {
      if (!req.url!.includes('cid=')) {
        sessions++;
        return answer(res, Buffer.from(HELLO));
      }
      held.add(res);
      res.on('close', () => held.delete(res));
    });
    return {
      publish(k) {
        const bytes = Buffer.from(eventText(k));
        const polls = [...held];
        held.clear();
        for (const res of polls) answer(res, bytes);
      },
      connections: () => sessions,
      close: () => held.forEach((res) => res.destroy()),
    };
  }
  throw new Error(`unknown server kind ${kind}`);
}

const server = make();
const port = await listen(http);
const send = (m: unknown) => process.send!(m);

process.on('message', async (m: any) => {
  switch (m.type) {
    case 'memory':
      return send({ type: 'memory', ...memory(), connections: server.connections() });
    case 'publish': {
      const cpu = process.cpuUsage();
      const at = now();
      await server.publish(m.k);
      const d = process.cpuUsage(cpu);
      return send({ type: 'published', at, cpuMs: (d.user + d.system) / 1000 });
    }
    case 'exit':
      await server.close();
      http.closeAllConnections();
      process.exit(0);
  }
});
send({ type: 'ready', port });
