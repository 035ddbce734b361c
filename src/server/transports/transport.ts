import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Admission, BaseConnection, ConnectionHost } from '../connection';
import type { Refusal } from '../limits';
import type { ResolvedOptions } from '../options';
import type { ConnectionRecord } from '../shared';

type Conn = BaseConnection<any>;

/** What a transport's endpoint may use of the push server's HTTP side. */
export interface TransportContext<User> {
  readonly options: ResolvedOptions<User>;
  /** What the transport's connections report to (scheduling, detaching, sends). */
  readonly host: ConnectionHost;
  /** The connection with this id, during its handshake too. */
  find(id: string): Conn | undefined;
  /** Dispatches what a client sent; throws `BAD_FRAME` when it is not valid. */
  receive(conn: Conn, text: string): void;
  /** True once the push server is closing: no new connections. */
  readonly closed: boolean;
  /**
   * Admits a new connection: a slot under the connection limits, then `authorize`. On refusal it
   * answers through `refuse` and resolves `null`.
   */
  admit(req: IncomingMessage, refuse: (status: number, reason: string, headers?: Record<string, string>) => void): Promise<Admission<User> | null>;
  /** Admits a new connection on a plain request (answering a refusal on `res`), makes it with `make` and opens it. */
  connect(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, make: (admission: Admission<User>) => Conn): Promise<void>;
  /** Runs the handshake of an admitted connection (joins, replay, hello). */
  start(conn: Conn, req: IncomingMessage, q: URLSearchParams): Promise<void>;
  /** With `authorize` set, checks that `req`, naming `conn`, comes from the same identity: `null` when it does. */
  recheck(req: IncomingMessage, conn: Conn): Promise<Refusal | null>;
  /**
   * Finds the connection a request names: here, or, with a directory, by its record (making a
   * long-poll view of it here when `adopt`). Answers through `refuse` and resolves `null` when it
   * is unknown, refused or the directory cannot be read.
   */
  locate(
    req: IncomingMessage,
    cid: string,
    refuse: (status: number, reason: string, headers?: Record<string, string>) => void,
    adopt: boolean,
  ): Promise<{ conn: Conn; record: ConnectionRecord | null; checked: boolean } | { remote: ConnectionRecord } | null>;
  /** Brings a long-poll view's channels up to its record. */
  sync(conn: Conn, record: ConnectionRecord): void;
}

/** One push server's handler for a transport, made by {@link ServerTransport.endpoint}. */
export interface TransportEndpoint {
  /** Handles a GET on the push path for this transport (its `t=` tag, or claimed by {@link ServerTransport.claims}). */
  request?(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> | void;
  /** Handles an upgrade on the push path (the origin check passed). */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, q: URLSearchParams): Promise<void>;
  /** Releases what the endpoint holds when the push server closes. */
  close?(): void;
}

/**
 * A transport on the server side: one value per transport module, listed in the registry
 * (./index.ts). The route chain and the `transports` option read the registry, so a new transport is
 * one module and one line there.
 */
export interface ServerTransport<Name extends string = string> {
  /** The name in the `transports` option and in `conn.transport`. */
  readonly name: Name;
  /** The `t=` query value of its requests (`TRANSPORT_TAGS` in protocol/frames.ts; each client transport carries its own). */
  readonly tag: string;
  /** How answers name it: `<label> transport not enabled`. */
  readonly label: string;
  /** True for a GET without `t=` that is this transport's anyway (a native EventSource cannot add it on its own). */
  claims?(req: IncomingMessage): boolean;
  /** True when it takes HTTP upgrades (a WebSocket). */
  readonly upgrades?: boolean;
  /** Makes the handler for one push server; called once, only when the transport is enabled. */
  endpoint<User>(context: TransportContext<User>): TransportEndpoint;
}
