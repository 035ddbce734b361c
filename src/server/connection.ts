import { encodeEvent, PushError } from '../protocol';
import type { Batch } from './batch';
import type { Page } from './cursor';
import type { Connection, TransportName } from './types';

/** What a connection needs from the push server that owns it. */
export interface ConnectionHost {
  /** Flushes `conn` on the next tick (once per tick however many blocks it got). */
  schedule(conn: BaseConnection): void;
  /** The root of this tick's batches, shared by every connection so that equal batches are one. */
  batchRoot(): Batch;
  /** Forgets a connection that ended, for whatever reason. */
  detach(conn: BaseConnection): void;
  /** Publishes a targeted entry to one connection through the backplane. */
  sendTo(id: string, event: string, data: unknown): Promise<void>;
  /** Publishes a control event (an `$ack`), already serialized, to one connection through the backplane. */
  sendControl(id: string, event: string, data: string): Promise<void>;
  /**
   * Long-poll: what `conn` may see after `cursor`, read from the history; `null` when the cursor is
   * not in it. Live entries up to the page's end are dropped for `conn` from then on (a networked
   * backplane's feed may bring them late).
   */
  page(conn: BaseConnection, cursor: string): Page | null | Promise<Page | null>;
  /** Orders two ids as the backplane does. */
  compareIds(a: string, b: string): number;
  /** Reports an error that has no caller to go to (`onError`). */
  reportError(error: unknown): void;
  readonly maxBufferedBytes: number;
}

/** What the endpoints learnt when they admitted a connection (limits, then `authorize`). */
export interface Admission<User = unknown> {
  /** What `authorize` returned (`undefined` without it). */
  user: User;
  /** `identify(user)`, kept when `authorize` is set, to check the requests that name this connection. */
  identity?: string;
  /** Gives the slot under the connection limits back (idempotent); called when the connection ends. */
  release: () => void;
}

/**
 * State and output queue shared by every transport. The transport subclasses decide how queued
 * blocks reach the wire (`flush`) and how the underlying socket or request is ended (`end`).
 */
export abstract class BaseConnection<User = unknown> implements Connection<User> {
  readonly channels = new Set<string>();
  readonly user: User;
  /** `identify(user)` when `authorize` is set, to check the requests that name this connection. */
  readonly identity: string | undefined;
  closed = false;
  /** Blocks queued since the last flush; `null` when none. */
  protected pending: Batch | null = null;
  /** Already in the host's flush list for this tick. */
  dirty = false;
  /** Gives back this connection's slot under the connection limits. */
  private readonly freeSlot: () => void;

  constructor(
    protected readonly host: ConnectionHost,
    readonly id: string,
    readonly transport: TransportName,
    admission: Admission<User>,
  ) {
    this.user = admission.user;
    this.identity = admission.identity;
    this.freeSlot = admission.release;
  }

  send(event: string, data: unknown): Promise<void> {
    if (this.closed) {
      const p = Promise.reject(new PushError('CLOSED', 'connection closed'));
      p.catch(() => {}); // callers may fire and forget
      return p;
    }
    return this.host.sendTo(this.id, event, data);
  }

  close(): void {
    if (this.ended()) void this.end(false);
  }

  /** Ends the connection because the whole push server closes; resolves once its socket is released. */
  shutdown(): Promise<void> {
    return this.ended() ? this.end(true) : Promise.resolve();
  }

  /**
   * Queues one encoded block (and its SSE batch line, when it has one) for the next flush.
   * `position`, for a block that carries no id (a targeted event), is its entry's place in the
   * history: only long-poll uses it.
   */
  push(block: string, line?: string, _position?: string): void {
    this.pending = (this.pending ?? this.host.batchRoot()).followedBy(block, line);
    if (!this.dirty) {
      this.dirty = true;
      this.host.schedule(this);
    }
  }

  /**
   * Sends a control event (`$ack`) to this connection. A stream writes it; long-poll, which keeps
   * nothing between polls, overrides this to put it in the history.
   */
  pushControl(event: string, data: string): void {
    this.push(encodeEvent(event, data));
  }

  /** The handshake tells where the client's stream starts (its resume point); only long-poll keeps it. */
  resumesAt(_id: string | undefined): void {}

  /**
   * Where this connection's stream starts, told to it by the handshake before the hello: `replay`
   * whether the client's id could be resumed, `lastEventId` the client's, `last` the server's newest
   * when the client sent none, `head` reads the newest now. Only long-poll, which answers each poll
   * from that point on, needs it.
   */
  async locateStart(_start: {
    replay: boolean;
    lastEventId?: string;
    last?: string;
    head?: () => string | undefined | Promise<string | undefined>;
  }): Promise<void> {}

  /** The heartbeat interval the hello announces: how often this transport hears from the server at the latest. */
  helloInterval(options: { heartbeatMs: number; pollTimeout: number }): number {
    return options.heartbeatMs;
  }

  /**
   * True when its end ends the connection for every process (its record goes): a stream's end does.
   * A long-poll session's ends only when ended on purpose; a view of it reaped or cut here does not.
   */
  endsEverywhere(): boolean {
    return true;
  }

  /** Called when the transport ended by itself (socket closed, session expired). */
  protected gone(): void {
    this.ended();
  }

  /**
   * Marks the connection closed, forgets it and gives its slot back: `false` when it had already
   * ended, so each way out (close, shutdown, the peer going, a refusal) runs this once.
   */
  protected ended(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.host.detach(this);
    this.freeSlot();
    return true;
  }

  /** Writes what was queued this tick. */
  abstract flush(): void;
  /** Called every heartbeat interval while open. */
  abstract heartbeat(): void;
  /**
   * Ends the transport after writing what is queued; `shutdown` when the whole push server closes.
   * Resolves once the underlying socket or request is released.
   */
  protected abstract end(shutdown: boolean): Promise<void>;
}

/**
 * A connection that writes queued blocks straight to a stream (SSE response, WebSocket): the
 * transport only says how to write, how many bytes still wait for the peer, and how to drop it.
 */
export abstract class StreamConnection<User = unknown> extends BaseConnection<User> {
  flush(): void {
    this.dirty = false;
    if (this.closed) {
      this.pending = null;
      return;
    }
    this.write();
    if (this.waiting() > this.host.maxBufferedBytes) {
      // A client that cannot keep up would make us hold its backlog forever. Dropping it is safe:
      // it reconnects and resumes from history.
      this.drop();
    }
  }

  /** Ends a peer that is dead or too slow, at once; the client reconnects and resumes from history. */
  protected drop(): void {
    this.gone();
    this.kill();
  }

  /** Writes the blocks in `pending`, if any, and clears it. */
  protected abstract write(): void;
  /** Bytes written but not yet passed on to the peer. */
  protected abstract waiting(): number;
  /** Drops the underlying socket at once, without writing anything more. */
  protected abstract kill(): void;
}
