import { Batch } from './batch';
import type { BaseConnection } from './connection';

/**
 * One flush per tick for every connection that got blocks: a burst becomes one write each. A
 * connection whose flush throws is reported and closed; the others still flush.
 */
export class TickFlusher {
  private dirty: BaseConnection<any>[] = [];
  private immediate: NodeJS.Immediate | null = null;
  private root: Batch | null = null;

  constructor(private readonly onError: (error: unknown) => void) {}

  /** Flushes `conn` at the end of this tick. */
  schedule(conn: BaseConnection<any>): void {
    this.dirty.push(conn);
    this.immediate ??= setImmediate(this.flush);
  }

  /**
   * The root of this tick's batches: connections that get the same blocks this tick share the node
   * they end on, and the bytes built for it. A new root each tick lets the last one's nodes go.
   */
  batchRoot(): Batch {
    if (this.root) return this.root;
    // The root goes at the end of the turn even when nothing is flushed (long-poll sessions with no
    // poll held), so that it never keeps the blocks of past turns.
    this.immediate ??= setImmediate(this.flush);
    return (this.root = new Batch());
  }

  /** Flushes now what this tick queued. */
  readonly flush = (): void => {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    // Blocks pushed while flushing (a flush that fails closes its connection) start the next tick.
    this.root = null;
    const list = this.dirty;
    this.dirty = [];
    for (const c of list) {
      try {
        c.flush();
      } catch (err) {
        this.onError(err);
        c.close();
      }
    }
  };

  /** Forgets what is queued and the pending flush (the push server closed). */
  stop(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.dirty = [];
    this.root = null;
  }
}
