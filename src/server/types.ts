import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Backplane } from './backplane';
import type { BunWebSocketHandlers } from './fetch-websocket';
import type { AllowOrigins } from './origins';
import type { SERVER_TRANSPORTS } from './transports';

/** The transports the server speaks: `'websocket' | 'eventsource' | 'longpoll'`, read from its registry. */
export type TransportName = (typeof SERVER_TRANSPORTS)[number]['name'];

/** One connected client, as the application sees it. */
export interface Connection<User = unknown> {
  /** Connection id, also sent to the client in its hello. */
  readonly id: string;
  readonly transport: TransportName;
  /** Channels this connection is a member of. */
  readonly channels: ReadonlySet<string>;
  /** What `authorize` returned for this connection (`undefined` without `authorize`). */
  readonly user: User;
  /**
   * Sends an event to this connection only. Targeted events get no id and are not replayed after a
   * reconnect. The promise settles once the backplane took the event; ignoring it is safe.
   */
  send(event: string, data: unknown): Promise<void>;
  /** Ends the connection. The client will normally reconnect. */
  close(): void;
}

/** Options of `publish`. */
export interface PublishOptions {
  /** Only members of this channel receive the event. */
  channel?: string;
  /** A connection (or its id) that must not receive it, typically the sender. */
  except?: Connection<any> | string;
}

/** Called for every application message a client sends; `data` is already JSON-parsed. */
export type MessageListener<User = unknown> = (event: string, data: unknown, conn: Connection<User>) => void;

/**
 * The request a hook (`authorize`, `clientIp`, an `allowOrigins` function) is given: Node's
 * `IncomingMessage` on the Node path (`server`, `handleRequest`, `handleUpgrade`), the WHATWG
 * `Request` on {@link PushServer.fetch}. A hook written for one path types its parameter as that
 * one (`createPushServer` infers the type from it); a server serving both types it `PushRequest`
 * and reads headers with `requestHeader`.
 */
export type PushRequest = IncomingMessage | Request;

/**
 * What a fetch host passes beside the request (`Bun.serve`'s server, `Deno.serve`'s handler info,
 * @hono/node-server's `c.env`), as far as {@link PushServer.fetch} reads it: the client's address
 * and, on Bun, WebSocket upgrades. Anything else is ignored.
 */
export interface FetchHost {
  /** Bun's server: the client's address. */
  requestIP?(request: Request): { address: string } | null;
  /** Bun's server: upgrades the request to a WebSocket served by {@link PushServer.websocket}. */
  upgrade?(request: Request, options: { data: unknown }): boolean;
  /** `Deno.serve`'s handler info: the client's address. */
  remoteAddr?: { hostname?: string };
  /** @hono/node-server's `c.env`: the Node request, for the client's address. */
  incoming?: { socket?: { remoteAddress?: string } };
}

/**
 * Options of `createPushServer`. `Req` is the request type the hooks are given (see
 * {@link PushRequest}): `IncomingMessage` unless a hook's parameter says otherwise.
 */
export interface PushServerOptions<User = unknown, Req extends PushRequest = IncomingMessage> {
  /**
   * An HTTP(S) server to attach to. The push server then answers requests and upgrades for `path`
   * and passes every other request to the server's existing `request` listeners, in order.
   * Without it, call `handleRequest` / `handleUpgrade` yourself, or serve WHATWG requests with
   * `push.fetch` (Bun, Deno, Hono, Next.js route handlers).
   */
  server?: HttpServer | HttpsServer;
  /** Exact pathname served. Default `/push`. */
  path?: string;
  /**
   * Published entries kept for resume and long-poll by the default in-memory backplane (and as many
   * targeted sends beside them). Default 10000. Long-poll clients read from it (each poll names
   * where it is), so it bounds how far one may fall behind.
   */
  history?: number;
  /** Characters of event data the default in-memory backplane keeps at most. Default 32 MiB. */
  historyBytes?: number;
  /** Heartbeat interval for WebSocket and SSE connections, in ms. Default 15000. */
  heartbeatMs?: number;
  /** Reconnect base delay sent to clients (SSE `retry:` and the hello), in ms. Default 500. */
  retryMs?: number;
  /** Transports served; requests for others get 404 (a WebSocket upgrade 400). Default all three. */
  transports?: readonly TransportName[];
  /** How long a long-poll request is held when there is nothing to send, in ms. Default 25000. */
  pollTimeout?: number;
  /** A long-poll session with no poll for this long is dropped, in ms. Default 2 × pollTimeout + 5000. */
  sessionTimeout?: number;
  /** Largest HTTP send body in bytes (413 above). Default 65536. */
  maxBodySize?: number;
  /** Largest WebSocket message from a client in bytes (close 1009 above). Default 65536. */
  maxMessageSize?: number;
  /**
   * Bytes a WebSocket or SSE connection may have waiting to be written before it is dropped as too
   * slow. The client then reconnects and resumes from history. Default 16 MiB. (A long-poll client
   * has nothing waiting: each poll is answered from the history.)
   */
  maxBufferedBytes?: number;
  /** Where published entries travel and history lives. Default `memoryBackplane({ history, historyBytes })`. */
  backplane?: Backplane;
  /**
   * Browser origins (`https://app.example.com`, or `'*'`) whose pages may connect and send, or a
   * function deciding it. Requests from any other site's page get 403 on every transport (checked on
   * the WebSocket upgrade too, where browsers send no preflight); allowed ones get CORS headers,
   * credentials included, and preflights are answered. Requests without an `Origin` (not from a
   * page) and same-origin ones always pass. Default: no check and no CORS headers.
   */
  allowOrigins?: AllowOrigins<Req>;
  /**
   * Decides whether a request may connect, before any stream starts, on every transport. Returning
   * `false` or throwing refuses with 401 (or the thrown error's `status`, with its message as the
   * reason). Any other result becomes `conn.user`.
   *
   * It runs again on every request that names an existing connection by its id: each long-poll poll
   * and each HTTP send (SSE and long-poll clients send with `POST ?cid=`). There `conn` is that
   * connection, a refusal answers with the same status, and the result must have the same
   * {@link PushServerOptions.identify | identity} as `conn.user`, else the request gets 403: a
   * connection id that leaked (logs, a shared link) is useless without the credentials of the user
   * it belongs to. The client sends the same query and headers on polls and sends as on its connect
   * (they are refreshed on reconnect), so a check of a short-lived token may accept an expired one
   * when `conn` is given and it matches `conn.user`.
   */
  authorize?: (req: Req, conn?: Connection<User>) => User | false | Promise<User | false>;
  /**
   * The identity of what `authorize` returned, compared on polls and sends (see `authorize`). Return
   * a stable key of the principal, e.g. `(user) => user.id`. Default: `JSON.stringify(user)`, which
   * suits plain objects whose fields do not change between requests.
   */
  identify?: (user: User) => string;
  /**
   * Connections held at once by this process, over all transports (the handshake included). One
   * more is refused with 503 and `Retry-After`; a WebSocket upgrade is refused with that status.
   * Default 10000; `Infinity` turns the limit off.
   */
  maxConnections?: number;
  /**
   * Connections held at once from one client address (see `clientIp`). One more is refused with
   * 429 and `Retry-After`. Default 1000, which leaves room for offices and mobile carriers behind one
   * NAT address; `Infinity` turns the limit off. Behind a reverse proxy, set `clientIp`, or every
   * client shares the proxy's address and this limit.
   */
  maxConnectionsPerIp?: number;
  /**
   * Channels one connection may be a member of at once; more joins are refused with the reason
   * `too many channels` (at connect, in the hello's `refused`). Without it a client could make the
   * server keep any number of channels. Default 1000; `Infinity` turns the limit off.
   */
  maxChannels?: number;
  /**
   * The client address that `maxConnectionsPerIp` counts. Default: the socket's remote address; on
   * `push.fetch`, the address the host passed beside the request (Bun's server, Deno's handler info,
   * @hono/node-server's `env`), and where it passed none (a Next.js route handler) the connection
   * counts under `maxConnections` only.
   * Behind a reverse proxy of yours, read the address it adds, e.g.
   * `(req) => String(req.headers['x-real-ip'] ?? req.socket.remoteAddress)`; never trust such a
   * header without a proxy that sets it, since clients can send it themselves.
   */
  clientIp?: (req: Req) => string;
  /**
   * Decides whether a connection may join a channel (at connect or later). Returning `false` or
   * throwing refuses (the thrown error's message is sent to the client as the reason). Default: allow.
   */
  onJoin?: (conn: Connection<User>, channel: string) => boolean | Promise<boolean>;
  /**
   * Errors that have no caller to go to: a message listener that threw, a failed backplane.
   * Default: `console.error`.
   */
  onError?: (error: unknown) => void;
}

/** The server side of push-client. */
export interface PushServer<User = unknown> {
  /** Publishes an event to every connection, or a channel's members; resolves with the event id. */
  publish(event: string, data: unknown, options?: PublishOptions): Promise<string>;
  /** Adds a listener for client messages; returns a function that removes it. */
  onMessage(listener: MessageListener<User>): () => void;
  /** The open connection with this id, if it is on this process. */
  connection(id: string): Connection<User> | undefined;
  /**
   * Sends an event to the connection with this id on whichever process holds it (through the
   * backplane): `conn.send` for a connection that is not on this process. No id, never replayed.
   */
  sendTo(id: string, event: string, data: unknown): Promise<void>;
  /**
   * The open connections of this process (those whose hello went out). A frozen snapshot, rebuilt
   * on the first read after a connection came or went, so reading it repeatedly costs nothing.
   */
  readonly connections: ReadonlyArray<Connection<User>>;
  /** Handles an HTTP request for `path`; returns `false` (and touches nothing) for other requests. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Handles an HTTP upgrade for `path`; returns `false` (and touches nothing) for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Serves a WHATWG `Request` (the shape of `Bun.serve({ fetch })`, `Deno.serve`, Hono's `app.fetch`
   * and Next.js route handlers): SSE as a streamed `Response`, long-poll, sends and `DELETE`, with
   * the same checks and limits as the Node path; the hooks are given the `Request`. A request for
   * another path gets 404. A WebSocket upgrade is served where the host offers one: Bun (pass the
   * server as `host`, and {@link websocket} to `Bun.serve`) and Deno (`Deno.upgradeWebSocket`);
   * elsewhere it gets 501, and on Node `handleUpgrade` serves it. It is bound: pass it as it is.
   *
   * @param host What the host passes beside the request (see {@link FetchHost}), for the client's
   * address and Bun's upgrade: `Bun.serve`'s second argument, `Deno.serve`'s, Hono's `c.env`.
   * @returns The answer; rejects with `BAD_OPTION` only when `request` is not a `Request`.
   *
   * @example
   * ```ts
   * Bun.serve({ fetch: push.fetch, websocket: push.websocket });
   * Deno.serve(push.fetch);
   * app.all('/push', (c) => push.fetch(c.req.raw, c.env)); // Hono
   * ```
   */
  readonly fetch: (request: Request, host?: FetchHost) => Promise<Response>;
  /** `Bun.serve`'s `websocket` handlers for the WebSockets {@link fetch} upgraded on Bun. */
  readonly websocket: BunWebSocketHandlers;
  /** Ends every connection and removes every listener and timer the push server added. */
  close(): Promise<void>;
}
