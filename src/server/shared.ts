import type { BaseConnection } from './connection';
import type { Connection, TransportName } from './types';

/**
 * What every process knows of a connection that takes HTTP requests (long-poll, SSE): kept in the
 * backplane's directory, so that a poll, a send or a DELETE that reaches another process than the
 * one that made the connection is checked and served there.
 */
export interface ConnectionRecord {
  /** Its transport. */
  t: TransportName;
  /** `identify(user)` when `authorize` is set: requests naming it must come from the same identity. */
  i?: string;
  /** Its channels. */
  c: string[];
}

/** The record of `conn` as stored. */
export function recordOf(conn: BaseConnection<any>): string {
  const r: ConnectionRecord = { t: conn.transport, c: [...conn.channels] };
  if (conn.identity !== undefined) r.i = conn.identity;
  return JSON.stringify(r);
}

/** A stored record, or `null` when the text is not one of ours. */
export function parseRecord(text: string | null): ConnectionRecord | null {
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as ConnectionRecord;
    if (typeof r !== 'object' || r === null || typeof r.t !== 'string' || !Array.isArray(r.c)) return null;
    if (r.i !== undefined && typeof r.i !== 'string') return null;
    return r;
  } catch {
    return null;
  }
}

/** Requests a process sends, through the backplane, to the one holding a connection (targeted entries). */
export const CONTROL = {
  /** A join or leave the client sent over HTTP to another process: the data is the client message. */
  join: '$join',
  leave: '$leave',
  /** `conn.close()` called on another process: every process lets go of its part of the connection. */
  close: '$close',
} as const;

/** True for a targeted entry that is a request to the holder, never delivered to the client. */
export const isControlRequest = (event: string): boolean => event === CONTROL.join || event === CONTROL.leave || event === CONTROL.close;

/** What a remote connection needs from the push server. */
export interface RemoteHost {
  sendTo(id: string, event: string, data: unknown): Promise<void>;
  /** Ends the connection wherever it is held. */
  closeShared(id: string): void;
}

/**
 * A connection held by another process (an SSE stream), as a send that reached this process shows
 * it to `onMessage` listeners: its id, transport, channels and identity come from its record, its
 * `user` from `authorize` on this request; `send` and `close` go to it through the backplane.
 */
export class RemoteConnection<User = unknown> implements Connection<User> {
  readonly channels: ReadonlySet<string>;
  readonly transport: TransportName;

  constructor(
    private readonly host: RemoteHost,
    readonly id: string,
    record: ConnectionRecord,
    readonly user: User,
  ) {
    this.channels = new Set(record.c);
    this.transport = record.t;
  }

  send(event: string, data: unknown): Promise<void> {
    return this.host.sendTo(this.id, event, data);
  }

  close(): void {
    this.host.closeShared(this.id);
  }
}
