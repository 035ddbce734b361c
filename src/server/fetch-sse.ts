import { HEARTBEAT_BLOCK } from './blocks';
import { StreamConnection, type Admission, type ConnectionHost } from './connection';
import type { FetchResponse } from './fetch-exchange';

/** As on the Node path, less what a fetch host frames itself (`Connection`, chunking). */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

const utf8 = new TextEncoder();

/**
 * A connection over a Server-Sent Events response on the fetch path: a `Response` whose body is a
 * `ReadableStream` this connection feeds. Each tick's batch is the same `Batch.eventSource()` bytes
 * the Node path writes, enqueued as they are (a default stream neither copies nor transfers them,
 * so one Buffer serves every stream).
 *
 * The stream's queue is what waits for the peer: its strategy counts bytes with a high-water mark of
 * 0, so `desiredSize` is minus the bytes the host has not taken yet. That bounds a slow peer at
 * `maxBufferedBytes` and tells a dead one (nothing taken for a heartbeat interval while bytes wait).
 */
export class FetchSseConnection<User = unknown> extends StreamConnection<User> {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** The stream takes no more chunks (closed, errored or cancelled). */
  private finished = false;
  private wrote = false;
  /** Bytes enqueued since the stream opened. */
  private enqueued = 0;
  /** Bytes the host had taken at the last heartbeat if some were waiting then, else -1. */
  private takenAtBeat = -1;

  constructor(host: ConnectionHost, id: string, admission: Admission<User>, res: FetchResponse, retryMs: number) {
    super(host, id, 'eventsource', admission);
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        // The host cancels the body when the client goes away.
        cancel: () => {
          this.finished = true;
          this.gone();
        },
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
    // Sent at once, before the handshake, so the client sees the stream open without waiting on onJoin.
    this.enqueue(utf8.encode(`retry: ${retryMs}\n\n`));
    res.stream(200, SSE_HEADERS, body);
  }

  private enqueue(chunk: Uint8Array): void {
    if (this.finished) return;
    this.enqueued += chunk.byteLength;
    this.controller.enqueue(chunk);
  }

  heartbeat(): void {
    // As on the Node path: a peer that took nothing for a whole interval while bytes waited is dead
    // or stuck; dropping it makes the client reconnect and resume from history.
    const waiting = this.waiting();
    const taken = this.enqueued - waiting;
    if (waiting > 0 && taken === this.takenAtBeat) return this.drop();
    this.takenAtBeat = waiting > 0 ? taken : -1;
    if (!this.wrote) this.push(HEARTBEAT_BLOCK);
    this.wrote = false;
  }

  protected waiting(): number {
    return this.finished ? 0 : Math.max(0, -(this.controller.desiredSize ?? 0));
  }

  protected kill(): void {
    if (this.finished) return;
    this.finished = true;
    // An errored body makes the host cut the response: the client sees the stream fail and reconnects.
    this.controller.error(new Error('push connection dropped'));
  }

  protected write(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.wrote = true;
    this.enqueue(batch.eventSource());
  }

  protected end(): Promise<void> {
    this.write();
    if (!this.finished) {
      this.finished = true;
      this.controller.close();
    }
    return Promise.resolve();
  }
}
