import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { QUERY_PARAMS } from '../protocol';
import type { ConnectionDirectory } from './backplane';
import type { Admission, BaseConnection, ConnectionHost } from './connection';
import { LpConnection } from './lp-connection';
import { type ConnectionRecord, RemoteConnection } from './shared';
import { messageOf } from './errors';
import { hookRequest } from './fetch-exchange';
import { abortUpgrade, BodyError, readBody, refuseBody, reply, splitTarget } from './http';
import type { ResolvedOptions } from './options';
import { ConnectionLimits, LIMIT_RETRY_AFTER, type Refusal } from './limits';
import { corsHeaders, preflightHeaders } from './origins';
import type { Connection } from './types';
import { SERVER_TRANSPORTS, type ServerTransport, type TransportContext, type TransportEndpoint } from './transports';

type Conn = BaseConnection<any>;

/** What the endpoints need from the push server: a place to register connections and their messages. */
export interface EndpointHost extends ConnectionHost {
  /** True once the push server is closing: no new connections. */
  readonly closed: boolean;
  /** The connection with this id, during its handshake too. */
  find(id: string): Conn | undefined;
  /** Registers a new connection and runs its handshake (joins, replay, hello). */
  open(c: Conn, lastEventId: string | undefined, channels: string[]): Promise<void>;
  /** Dispatches what a client sent (to a connection here, or held by another process); throws `BAD_FRAME` when it is not valid. */
  receive(c: Conn | RemoteConnection<any>, text: string): void;
  /** The backplane's shared connection records, if it has them: then any process answers any request. */
  readonly directory: ConnectionDirectory | null;
  /** The record of connection `id`, its lifetime renewed; `null` when it has none. */
  locate(id: string): Promise<ConnectionRecord | null>;
  /** Registers a long-poll view of a connection made by another process. */
  adopt(c: Conn, record: ConnectionRecord): void;
  /** Brings a long-poll view's channels up to its record. */
  sync(c: Conn, record: ConnectionRecord): void;
  /** Lets go of this process's part of a connection that ended elsewhere. */
  release(c: Conn): void;
  /** Ends a connection held by other processes. */
  closeShared(id: string): void;
}

/** How a request that names a connection found it: here, or only in the directory. */
type Located = { conn: Conn; record: ConnectionRecord | null; checked: boolean } | { remote: ConnectionRecord };

type Authorized<User> = { user: User } | Refusal;

/** A transport this server serves, with its handler. */
interface Served {
  transport: ServerTransport;
  endpoint: TransportEndpoint;
}

const LIMITED = { 'Retry-After': LIMIT_RETRY_AFTER };

/** The transport that takes upgrades, named when none is enabled. */
const UPGRADER = SERVER_TRANSPORTS.find((t) => t.upgrades)!;

/** The answer to a GET that names no transport. */
const NO_TRANSPORT = `no transport: use ${SERVER_TRANSPORTS.filter((t) => !t.upgrades)
  .map((t) => 't=' + t.tag)
  .join(', ')} or a WebSocket upgrade`;

/** The resume point: the header wins, since a native EventSource keeps the first URL on its reconnects. */
function lastEventIdOf(req: IncomingMessage, q: URLSearchParams): string | undefined {
  const h = req.headers['last-event-id'];
  const id = (typeof h === 'string' && h) || q.get(QUERY_PARAMS.lastEventId);
  return id || undefined;
}

/**
 * The HTTP side: turns requests and upgrades for the push path into connections (after the origin
 * and `authorize` checks), long-polls and sends, and answers everything else with a status and a reason.
 */
export class Endpoints<User> implements TransportContext<User> {
  private readonly limits: ConnectionLimits;
  /** The enabled transports by `t=` tag. */
  private readonly byTag = new Map<string, Served>();
  /** The enabled transport that takes upgrades. */
  private readonly upgrader: Served | undefined;

  constructor(
    private readonly hub: EndpointHost,
    readonly options: ResolvedOptions<User>,
  ) {
    this.limits = new ConnectionLimits(options.maxConnections, options.maxConnectionsPerIp);
    let upgrader: Served | undefined;
    for (const transport of SERVER_TRANSPORTS) {
      if (!options.transports.has(transport.name)) continue;
      const served = { transport, endpoint: transport.endpoint<User>(this) };
      this.byTag.set(transport.tag, served);
      if (transport.upgrades) upgrader ??= served;
    }
    this.upgrader = upgrader;
  }

  get host(): ConnectionHost {
    return this.hub;
  }

  get closed(): boolean {
    return this.hub.closed;
  }

  find(id: string): Conn | undefined {
    return this.hub.find(id);
  }

  receive(conn: Conn, text: string): void {
    this.hub.receive(conn, text);
  }

  sync(c: Conn, record: ConnectionRecord): void {
    this.hub.sync(c, record);
  }

  /** Connections counted under the limits now. */
  get counted(): number {
    return this.limits.size;
  }

  private async authorize(req: IncomingMessage, conn?: Connection<User>): Promise<Authorized<User>> {
    const fn = this.options.authorize;
    if (!fn) return { user: undefined as User };
    try {
      const user = await fn(hookRequest(req), conn);
      return user === false ? { status: 401, reason: 'unauthorized' } : { user };
    } catch (err) {
      const s = (err as { status?: unknown } | null)?.status;
      if (typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599) {
        return { status: s, reason: messageOf(err) || STATUS_CODES[s] || 'refused' };
      }
      return { status: 401, reason: 'unauthorized' };
    }
  }

  /** The address counted under `maxConnectionsPerIp`; `null` when unknown (a fetch host that gave none). */
  private clientIp(req: IncomingMessage): string | null {
    const custom = this.options.clientIp;
    if (custom) {
      try {
        return String(custom(hookRequest(req)));
      } catch (err) {
        this.options.onError(err);
      }
    }
    return req.socket.remoteAddress ?? null;
  }

  /**
   * Admits a new connection: a slot under the connection limits (taken first, so that a flood is
   * refused without running `authorize`), then `authorize`. On refusal it answers through `refuse`
   * and resolves `null`.
   */
  async admit(req: IncomingMessage, refuse: (status: number, reason: string, headers?: Record<string, string>) => void): Promise<Admission<User> | null> {
    const slot = this.limits.take(this.clientIp(req));
    if (typeof slot !== 'function') {
      refuse(slot.status, slot.reason, LIMITED);
      return null;
    }
    try {
      const a = await this.authorize(req);
      if ('status' in a) refuse(a.status, a.reason);
      else if (this.hub.closed) refuse(503, 'server closing');
      else return { user: a.user, identity: this.options.authorize ? String(this.options.identify(a.user)) : undefined, release: slot };
    } catch (err) {
      slot();
      throw err;
    }
    slot();
    return null;
  }

  /**
   * With `authorize` set, a request that names an existing connection (a poll, a send) must pass it
   * too, as the same identity: `null` when it does, else the refusal.
   */
  async recheck(req: IncomingMessage, c: Conn): Promise<Refusal | null> {
    const a = await this.authorize(req, c);
    if ('status' in a) return a;
    return String(this.options.identify(a.user)) === c.identity ? null : { status: 403, reason: 'connection belongs to another identity' };
  }

  /**
   * Finds the connection a request names (a poll, a send, a DELETE): here, or, with a directory, by
   * its record, making a long-poll view of it here when `adopt`. Answers the request itself and
   * resolves `null` when it is unknown, refused, or the directory cannot be read. `checked` says
   * `authorize` already ran for this request (a new view is admitted like a new connection).
   */
  async locate(
    req: IncomingMessage,
    cid: string,
    refuse: (status: number, reason: string, headers?: Record<string, string>) => void,
    adopt: boolean,
  ): Promise<Located | null> {
    const here = this.hub.find(cid);
    const dir = this.hub.directory;
    if (!dir) {
      if (!here || here.closed) return (refuse(404, 'unknown or expired connection'), null);
      return { conn: here, record: null, checked: false };
    }
    let record: ConnectionRecord | null;
    try {
      record = await this.hub.locate(cid);
    } catch (err) {
      this.options.onError(err);
      return (refuse(503, 'connection directory unavailable', LIMITED), null);
    }
    const now = this.hub.find(cid);
    if (!record) {
      // Ended elsewhere, or expired: this process's part of it goes too.
      if (now && !now.closed && now.transport !== 'websocket') this.hub.release(now);
      return (refuse(404, 'unknown or expired connection'), null);
    }
    if (now && !now.closed) return { conn: now, record, checked: false };
    if (record.t !== 'longpoll' || !adopt) return { remote: record };
    const a = await this.admit(req, refuse);
    if (!a) return null;
    if (a.identity !== record.i) {
      a.release();
      return (refuse(403, 'connection belongs to another identity'), null);
    }
    // Another request for it may have made the view meanwhile.
    const raced = this.hub.find(cid);
    if (raced && !raced.closed) {
      a.release();
      return { conn: raced, record, checked: true };
    }
    const view = new LpConnection(this.hub, cid, a, null, this.options);
    this.hub.adopt(view, record);
    return { conn: view, record, checked: true };
  }

  /** A connection held by another process, as this request's listeners see it (after `authorize`, as the same identity). */
  private async remote(req: IncomingMessage, cid: string, record: ConnectionRecord): Promise<RemoteConnection<User> | Refusal> {
    let user = undefined as User;
    if (this.options.authorize) {
      const a = await this.authorize(req, new RemoteConnection<User>(this.hub, cid, record, undefined as User));
      if ('status' in a) return a;
      if (String(this.options.identify(a.user)) !== record.i) return { status: 403, reason: 'connection belongs to another identity' };
      user = a.user;
    }
    return new RemoteConnection<User>(this.hub, cid, record, user);
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.hub.closed) return false;
    const target = splitTarget(req.url);
    if (!target || target.pathname !== this.options.path) return false;
    const fail = (err: unknown): void => {
      this.options.onError(err);
      if (!res.headersSent) reply(res, 500, 'internal error');
      else res.destroy();
    };
    try {
      const p = this.route(req, res, target.query);
      if (p) p.catch(fail);
    } catch (err) {
      fail(err);
    }
    return true;
  }

  private route(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> | void {
    const o = this.options;
    if (o.origin) {
      const verdict = o.origin(req);
      if (verdict === 'refused') return reply(res, 403, 'origin not allowed');
      if (verdict === 'cors') {
        if (req.method === 'OPTIONS') {
          res.writeHead(204, preflightHeaders(req));
          return void res.end();
        }
        // Set now, so that whichever answer follows (stream, poll, 4xx) carries them.
        for (const [k, v] of Object.entries(corsHeaders(req.headers.origin!))) res.setHeader(k, v!);
      }
    }
    if (req.method === 'POST') return this.post(req, res, q);
    if (req.method === 'DELETE') return this.remove(req, res, q.get(QUERY_PARAMS.connection));
    if (req.method !== 'GET') return reply(res, 405, 'method not allowed', { Allow: 'GET, POST, DELETE' });
    const t = q.get(QUERY_PARAMS.transport);
    const transport = t === null ? SERVER_TRANSPORTS.find((x) => x.claims?.(req)) : SERVER_TRANSPORTS.find((x) => x.tag === t);
    if (!transport) return reply(res, 400, t === null ? NO_TRANSPORT : 'unknown transport');
    const served = this.byTag.get(transport.tag);
    if (!served?.endpoint.request) return reply(res, 404, `${transport.label} transport not enabled`);
    return served.endpoint.request(req, res, q);
  }

  /** A new connection on a plain request: admitted, then made by `make` and opened. */
  async connect(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, make: (admission: Admission<User>) => Conn): Promise<void> {
    const a = await this.admit(req, (status, reason, headers) => reply(res, status, reason, headers));
    if (!a) return;
    if (req.socket.destroyed) return a.release();
    return this.start(make(a), req, q);
  }

  /** Runs the handshake of an admitted connection. */
  start(c: Conn, req: IncomingMessage, q: URLSearchParams): Promise<void> {
    return this.hub.open(c, lastEventIdOf(req, q), q.getAll(QUERY_PARAMS.channel));
  }

  /** Handles `DELETE ?cid=..`: a long-poll client that stops says so, since between polls nothing else shows it. */
  private async remove(req: IncomingMessage, res: ServerResponse, cid: string | null): Promise<void> {
    if (!cid) return reply(res, 404, 'unknown or expired connection');
    const found = await this.locate(req, cid, (status, reason, headers) => reply(res, status, reason, headers), false);
    if (!found) return;
    if ('remote' in found) {
      const view = await this.remote(req, cid, found.remote);
      if (!(view instanceof RemoteConnection)) return reply(res, view.status, view.reason);
      view.close();
    } else {
      const c = found.conn;
      if (this.options.authorize) {
        const refused = await this.recheck(req, c);
        if (refused) return reply(res, refused.status, refused.reason);
      }
      c.close();
    }
    res.writeHead(204);
    res.end();
  }

  private async post(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const cid = q.get(QUERY_PARAMS.connection);
    if (!cid) return reply(res, 400, 'missing cid');
    // A cross-site form cannot send this type, so it cannot forge sends (no CORS preflight is skipped).
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return reply(res, 415, 'Content-Type must be application/json');
    }
    const found = await this.locate(req, cid, (status, reason, headers) => refuseBody(res, status, reason, headers), true);
    if (!found) return;
    let claimed: Conn | RemoteConnection<User>;
    if ('remote' in found) {
      // Held by another process (an SSE stream): its messages are dispatched here, its joins go to it.
      const view = await this.remote(req, cid, found.remote);
      if (!(view instanceof RemoteConnection)) return refuseBody(res, view.status, view.reason);
      claimed = view;
    } else {
      claimed = found.conn;
      if (this.options.authorize && !found.checked) {
        const refused = await this.recheck(req, claimed);
        if (refused) return refuseBody(res, refused.status, refused.reason);
      }
      if (found.record) this.hub.sync(claimed, found.record);
    }
    let text: string;
    try {
      text = await readBody(req, this.options.maxBodySize);
    } catch (err) {
      if (err instanceof BodyError) return refuseBody(res, err.status, err.message);
      throw err;
    }
    const c = claimed instanceof RemoteConnection ? claimed : this.hub.find(cid);
    if (!c || c !== claimed || (!(c instanceof RemoteConnection) && c.closed)) return reply(res, 404, 'unknown or expired connection');
    try {
      this.hub.receive(c, text);
    } catch (err) {
      return reply(res, 400, messageOf(err) || 'bad request');
    }
    res.writeHead(204);
    res.end();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (this.hub.closed) return false;
    const target = splitTarget(req.url);
    if (!target || target.pathname !== this.options.path) return false;
    const upgrade = this.upgrader?.endpoint.upgrade;
    if (!upgrade) {
      abortUpgrade(socket, 400, `${UPGRADER.label} transport not enabled`);
      return true;
    }
    // Browsers send no preflight for WebSocket, so this is the only guard against other sites' pages.
    if (this.options.origin?.(req) === 'refused') {
      abortUpgrade(socket, 403, 'origin not allowed');
      return true;
    }
    void upgrade(req, socket, head, target.query);
    return true;
  }

  close(): void {
    for (const { endpoint } of this.byTag.values()) endpoint.close?.();
  }
}
