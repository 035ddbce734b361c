import type { PushError } from '../protocol';

/** `idle` before `connect()`, `closed` after `close()` or a fatal error; docs/client.md draws how it moves (`idle → connecting → open ⇄ reconnecting → closed`). */
export type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** An immutable snapshot, replaced (never mutated) on every change of state or transport. */
export interface Status {
  readonly state: State;
  /** The transport in use, or `null` while none is open. */
  readonly transport: string | null;
  /** Failed attempts in a row; 0 once a connection has stayed up. */
  readonly attempt: number;
  /** The last delivered event id as of this snapshot (`client.lastEventId` is always current). */
  readonly lastEventId?: string;
  /** Why the client is reconnecting or closed. */
  readonly error?: PushError;
  /** With `share`: whether this tab holds the group's connection, and how many tabs share it (0 while a follower does not know). */
  readonly share?: { readonly leader: boolean; readonly tabs: number };
}

/** What a handler learns besides the data. */
export interface Meta {
  event: string;
  id?: string;
  transport: string;
  /** The channel the event was published to; absent for broadcasts and direct sends. */
  channel?: string;
}

/**
 * Lifecycle notifications, on `client.lifecycle` (a mitt emitter), apart from server events so that
 * no event name a server may use can collide with them.
 */
export type Lifecycle = {
  /** A transport delivered its hello (or, from a plain server, its first event). */
  open: { transport: string; resumed: boolean };
  /**
   * One attempt at a transport ended: it `open`ed (delivered its first message within
   * `connectTimeout`) or `failed`, and `error` says why (its `status` an HTTP status, its `cause`
   * what the runtime said). `probe`: an upgrade probe, tried while another transport stays open.
   */
  attempt: { transport: string; outcome: 'open' | 'failed'; error?: PushError; probe: boolean };
  /**
   * The transport in use changed (fallback, reconnect onto another, or upgrade back). `reason`: why
   * the attempt before this one failed, when one did (undefined for an upgrade).
   */
  transport: { from: string | null; to: string; reason?: PushError };
  /** The connection was lost or failed; the next attempt follows in `delay` ms. */
  reconnecting: { attempt: number; delay: number; error?: PushError };
  /** The server could not replay from our last-event-id: events may have been missed. */
  gap: { lastEventId?: string };
  /**
   * Something went wrong (bad frame, a handler, the reconnect policy or a transport's code threw).
   * The client goes on, except after a reconnect policy that threw: then `close` follows.
   */
  error: PushError;
  /** The client stopped: `close()` was called, or a fatal error (then `error` says which). */
  close: { error?: PushError };
};
