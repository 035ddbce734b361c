import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamConnection, type Admission, type ConnectionHost } from './connection';
import { HEARTBEAT_BLOCK } from './blocks';

/** Headers that keep proxies from caching, transforming or buffering the stream. */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

/**
 * The same, saying the body is chunked: an HTTP/1.1 stream is anyway, and then each tick's batch can
 * go to the socket as one chunk built for every stream (see `write`).
 */
const SSE_HEADERS_CHUNKED = { ...SSE_HEADERS, 'Transfer-Encoding': 'chunked' };

/** A connection over a Server-Sent Events response. */
export class SseConnection<User = unknown> extends StreamConnection<User> {
  private wrote = false;
  /** The body is chunked (HTTP/1.1), so its chunks may be written below `ServerResponse`. */
  private readonly chunked: boolean;
  /** Bytes the socket had passed to the kernel at the last heartbeat if some were waiting then, else -1. */
  private flushed = -1;

  constructor(
    host: ConnectionHost,
    id: string,
    admission: Admission<User>,
    req: IncomingMessage,
    private readonly res: ServerResponse,
    retryMs: number,
  ) {
    super(host, id, 'eventsource', admission);
    // Each flush is one write of a whole batch, so Nagle's delay would only add latency.
    req.socket.setNoDelay(true);
    this.chunked = req.httpVersion === '1.1';
    res.writeHead(200, this.chunked ? SSE_HEADERS_CHUNKED : SSE_HEADERS);
    // Sent at once, before the handshake, so the client sees the stream open without waiting on onJoin.
    res.write(`retry: ${retryMs}\n\n`);
    res.on('close', () => this.gone());
  }

  heartbeat(): void {
    // A peer that read nothing for a whole heartbeat interval while bytes were waiting for it is
    // dead or stuck (a network that dropped it silently, a frozen process): drop it, as a WebSocket
    // without pong is dropped. The client reconnects and resumes from history.
    const socket = this.res.socket;
    if (socket) {
      const waiting = socket.writableLength;
      const flushed = socket.bytesWritten - waiting;
      if (waiting > 0 && flushed === this.flushed) {
        this.drop();
        return;
      }
      this.flushed = waiting > 0 ? flushed : -1;
    }
    if (!this.wrote) this.push(HEARTBEAT_BLOCK);
    this.wrote = false;
  }

  protected waiting(): number {
    return this.res.writableLength;
  }

  protected kill(): void {
    this.res.destroy();
  }

  protected write(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.wrote = true;
    const socket = this.res.socket;
    // Built once for every connection that got the same blocks this tick. `res.write` would frame
    // each stream's chunk on its own (four writes and a cork per stream); a fan-out to 10,000
    // streams writes the one prebuilt chunk instead. Only while the response has its socket (not
    // while queued behind another response on a pipelined one) and holds back none of its output:
    // the chunk must not pass what the response has yet to write.
    if (this.chunked && socket?.writable && this.res.writableLength === socket.writableLength) socket.write(batch.eventSourceChunk());
    else this.res.write(batch.eventSource());
  }

  protected end(shutdown: boolean): Promise<void> {
    const res = this.res;
    this.write();
    return new Promise((resolve) => {
      const socket = res.socket;
      if (res.writableEnded || !socket || socket.destroyed) {
        res.end();
        return resolve();
      }
      socket.once('close', () => resolve());
      // On shutdown the socket goes too: an idle keep-alive socket would otherwise outlive us.
      res.end(() => (shutdown ? socket.destroy() : resolve()));
    });
  }
}
