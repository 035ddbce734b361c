import type { BackplaneEntry } from './backplane';
import type { BaseConnection } from './connection';

/** A live entry that arrived while the connection's handshake was still running. */
export interface HeldEntry {
  entry: BackplaneEntry;
  block: string;
  /** The block's SSE batch line, when it has one. */
  line: string | undefined;
}

/**
 * What the push server keeps about one connection of its own, beside the connection itself: the
 * handshake's held entries, the resume floor and the order of its join/leave requests. Only the
 * hub's modules see it; the connection stays a transport's business.
 */
export class Session {
  /**
   * While the handshake runs (onJoin, replay), live entries wait here so that nothing published in
   * the meantime is lost; `null` once the connection is open.
   */
  held: HeldEntry[] | null = [];
  /** Characters in `held`, bounded by `maxBufferedBytes`. */
  private heldChars = 0;
  /**
   * The newest id the client has after its replay. A backplane's live feed may lag behind its
   * history (Redis), so live entries up to this id can still arrive; they are dropped. Cleared at
   * the first newer entry, after which every later one is newer too.
   */
  floor: string | null = null;
  /** Serializes join/leave so that a leave cannot overtake the join before it. */
  control: Promise<void> = Promise.resolve();

  constructor(readonly conn: BaseConnection<any>) {}

  /**
   * Keeps a live entry for a connection whose handshake runs. A handshake that never ends (an
   * `onJoin` or backplane that hangs) would keep them all: past `max` characters the connection is closed.
   */
  hold(entry: BackplaneEntry, block: string, line: string | undefined, max: number): void {
    this.held!.push({ entry, block, line });
    if ((this.heldChars += block.length) > max) this.conn.close();
  }

  /**
   * True when the client already has `id` (it is at or below the floor). The first newer id lifts
   * the floor, as every later one is newer too.
   */
  covers(id: string, compareIds: (a: string, b: string) => number): boolean {
    if (this.floor === null) return false;
    if (compareIds(id, this.floor) <= 0) return true;
    this.floor = null;
    return false;
  }
}
