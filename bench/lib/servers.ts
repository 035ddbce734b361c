/**
 * Servers for the Node benchmarks (fallback, recovery), each on its own loopback port:
 * push-client's server, socket.io, and raw SSE / raw WebSocket servers for the raw reconnecting
 * clients (the eventsource package, partysocket).
 */
import { createServer, type Server } from 'node:http';
import { Server as SocketIoServer, type ServerOptions } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { createPushServer } from '../../src/server/index';
import type { PushServer, PushServerOptions } from '../../src/server/index';
import { listen } from './util';

export interface Running {
  port: number;
  close(): Promise<void>;
}

function closeHttp(http: Server): Promise<void> {
  http.closeAllConnections?.();
  return new Promise((r) => http.close(() => r()));
}

export async function startPush(options: Omit<PushServerOptions, 'server'> = {}): Promise<Running & { push: PushServer }> {
  const http = createServer();
  const push = createPushServer({ ...options, server: http, onError: () => {} });
  const port = await listen(http);
  return {
    port,
    push,
    async close() {
      await push.close();
      await closeHttp(http);
    },
  };
}

export async function startSocketIo(options: Partial<ServerOptions> = {}): Promise<Running & { io: SocketIoServer }> {
  const http = createServer();
  const io = new SocketIoServer(http, { serveClient: false, ...options });
  const port = await listen(http);
  return {
    port,
    io,
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await closeHttp(http).catch(() => {});
    },
  };
}

/**
 * A plain SSE server at `/sse` that does what a careful hand-written one would: numbered `id:`
 * fields, a history, and resume from the `Last-Event-ID` header. `send` writes to every stream.
 */
export async function startRawSse(history = 10_000): Promise<Running & { send(data: string): void }> {
  const http = createServer();
  const streams = new Set<import('node:http').ServerResponse>();
  const log: string[] = [];
  let seq = 0;
  http.on('request', (req, res) => {
    if (!req.url?.startsWith('/sse')) {
      res.writeHead(404);
      return res.end();
    }
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': open\n\n'); // no retry: field, so a client keeps its own default delay
    const last = Number(req.headers['last-event-id']);
    if (Number.isInteger(last) && last > 0) {
      const from = Math.max(0, log.length - (seq - last));
      if (from < log.length) res.write(log.slice(from).join(''));
    }
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  const port = await listen(http);
  return {
    port,
    send(data) {
      const block = `id: ${++seq}\ndata: ${data}\n\n`;
      log.push(block);
      if (log.length > history) log.shift();
      for (const s of streams) s.write(block);
    },
    async close() {
      for (const s of streams) s.destroy();
      await closeHttp(http);
    },
  };
}

/** A plain WebSocket server; `send` goes to every socket. */
export async function startRawWs(): Promise<Running & { send(data: string): void; onConnect?: (ws: WebSocket) => void }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const out: Running & { send(data: string): void; onConnect?: (ws: WebSocket) => void } = {
    port: await listen(http),
    send(data) {
      for (const ws of wss.clients) ws.send(data);
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closeHttp(http);
    },
  };
  wss.on('connection', (ws) => out.onConnect?.(ws));
  return out;
}

/** A port on which nothing listens (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
