/**
 * A scripted stand-in for a push-client server on 127.0.0.1, for the security tests: it speaks the
 * wire format on SSE, long-poll and WebSocket (hello first), then sends whatever the test scripted,
 * byte for byte, including what a real server never would (broken frames, invalid UTF-8, garbage).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeEvent } from '../../src/protocol';

/** What one SSE stream, long-poll answer or WebSocket connection sends: text, or raw bytes. */
export type Chunk = string | Buffer;

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  chunks: Chunk[];
}

export interface FakeScript {
  /** The n-th SSE request (0-based). Default: hello, then nothing. */
  sse?: (n: number) => Answer;
  /** The n-th long-poll request (0-based; 0 creates the session). Default: hello, then held polls. */
  lp?: (n: number) => Answer | null;
  /** The n-th WebSocket connection: frames to send (a Buffer goes out as one raw text frame, unchecked). */
  ws?: (n: number) => Chunk[];
  /** The n-th POST. Default 204; status 0 cuts the connection instead of answering. */
  post?: (n: number) => Answer;
}

export const hello = (cid = 'c1'): string => encodeEvent('$hello', JSON.stringify({ cid, epoch: 'e', replay: true, hb: 60_000 }));
export const event = (name: string, data: unknown, id?: string): string => encodeEvent(name, JSON.stringify(data), id);

/** A WebSocket text frame, unmasked (server to client), with whatever payload bytes it is given. */
export function rawTextFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

export async function fakePush(script: FakeScript) {
  const counts = { sse: 0, lp: 0, ws: 0, post: 0 };
  const requests: http.IncomingMessage[] = [];
  const open = new Set<http.ServerResponse>();
  const sockets = new Set<WebSocket>();
  const write = (res: http.ServerResponse, a: Answer, type: string, end: boolean) => {
    res.writeHead(a.status ?? 200, { 'Content-Type': type, 'Cache-Control': 'no-store', ...a.headers });
    for (const c of a.chunks) res.write(c);
    if (end) res.end();
  };
  const server = http.createServer((req, res) => {
    requests.push(req);
    const q = new URL(req.url!, 'http://x').searchParams;
    if (req.method === 'DELETE') return void res.writeHead(204).end(); // a long-poll client that stops
    if (req.method === 'POST') {
      const a = script.post?.(counts.post++) ?? { status: 204, chunks: [] };
      if (a.status === 0) return void req.socket.destroy(); // a network failure
      req.resume();
      return write(res, a, 'text/plain', true);
    }
    if (q.get('t') === 'sse') {
      const a = script.sse?.(counts.sse++) ?? { chunks: [hello()] };
      open.add(res);
      res.on('close', () => open.delete(res));
      return write(res, a, 'text/event-stream', (a.status ?? 200) !== 200);
    }
    if (q.get('t') === 'lp') {
      const n = counts.lp++;
      const a = script.lp ? script.lp(n) : n === 0 ? { chunks: [hello()] } : null;
      if (a === null) {
        // Held like a real poll, and answered empty a little later.
        open.add(res);
        const t = setTimeout(() => write(res, { chunks: [] }, 'text/plain; charset=utf-8', true), 300);
        res.on('close', () => (clearTimeout(t), open.delete(res)));
        return;
      }
      return write(res, a, 'text/plain; charset=utf-8', true);
    }
    res.writeHead(404).end('not found');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    requests.push(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => {});
      const frames = script.ws?.(counts.ws++) ?? [hello()];
      for (const f of frames) {
        if (typeof f === 'string') ws.send(f);
        else (ws as unknown as { _socket: import('node:net').Socket })._socket.write(rawTextFrame(f));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/push`,
    port,
    counts,
    requests,
    async close() {
      for (const ws of sockets) ws.terminate();
      for (const res of open) res.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
