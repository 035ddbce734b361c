import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { PushError } from '../protocol';
import { StreamConnection, type Admission, type ConnectionHost } from './connection';
import { HEARTBEAT_BLOCK } from './blocks';

/** Longest close reason the protocol allows is 123 bytes; ours are ASCII and short anyway. */
const reason = (text: string): string => (text.length > 120 ? text.slice(0, 120) : text);

/**
 * A connection over a `ws` WebSocket. `ws` reads the socket (messages, pongs, close) and writes the
 * control frames; our data frames are built once per tick for every connection that gets them
 * (./batch.ts) and written to the socket as they are. `ws` writes each of its frames whole and at
 * once (compression is off, so it never queues one), so ours never land inside one of its.
 */
export class WsConnection<User = unknown> extends StreamConnection<User> {
  /** Cleared at each heartbeat, set by a pong or any message: a socket that stays silent is dead. */
  private alive = true;
  /** Something was written since the last heartbeat, so no `$hb` is needed. */
  private wrote = false;

  constructor(
    host: ConnectionHost,
    id: string,
    admission: Admission<User>,
    private readonly ws: WebSocket,
    /** The socket `ws` took over from the upgrade. */
    private readonly socket: Duplex,
    onText: (conn: WsConnection<User>, text: string) => void,
  ) {
    super(host, id, 'websocket', admission);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.alive = true;
      if (this.closed) return;
      if (isBinary) return this.refuse(1003, 'binary frames are not supported');
      try {
        onText(this, data.toString());
      } catch (err) {
        // Only the message parser throws here (listeners are guarded by the host): text that is
        // not JSON is invalid payload data (1007), a well-formed but wrong message a policy breach.
        const notJson = err instanceof PushError && (err as { cause?: unknown }).cause instanceof SyntaxError;
        this.refuse(notJson ? 1007 : 1008, (err as Error).message);
      }
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    // `ws` closes the socket itself after a protocol error (1002, 1007, 1009); 'close' follows.
    ws.on('error', () => {});
    ws.on('close', () => this.gone());
  }

  heartbeat(): void {
    if (!this.alive) return this.drop();
    this.alive = false;
    this.ws.ping();
    if (!this.wrote) this.push(HEARTBEAT_BLOCK);
    this.wrote = false;
  }

  protected waiting(): number {
    return this.ws.bufferedAmount;
  }

  protected kill(): void {
    // Terminated, not closed: a close frame would queue behind the backlog.
    this.ws.terminate();
  }

  protected write(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.wrote = true;
    // After a close frame (ours or the peer's) no data frame may follow.
    if (this.ws.readyState === this.ws.OPEN) this.socket.write(batch.websocket());
  }

  private refuse(code: number, why: string): void {
    if (this.ended()) this.ws.close(code, reason(why));
  }

  protected end(shutdown: boolean): Promise<void> {
    const ws = this.ws;
    this.write();
    return new Promise((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close(shutdown ? 1001 : 1000, shutdown ? 'server shutting down' : 'closed by server');
      if (shutdown) {
        // Do not wait on a peer that never answers the close frame (`ws` would wait 30 s).
        const t = setTimeout(() => ws.terminate(), 1000);
        ws.once('close', () => clearTimeout(t));
      }
    });
  }
}
