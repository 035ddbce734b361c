import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { Q, T } from '../protocol';
import type { BaseConnection, ConnectionHost } from './connection';
import { messageOf } from './errors';
import { abortUpgrade, BodyError, readBody, refuseBody, reply, splitTarget } from './http';
import { newConnectionId } from './ids';
import { LpConnection } from './lp-connection';
import type { ResolvedOptions } from './options';
import { ConnectionLimits, LIMIT_RETRY_AFTER, type Refusal } from './limits';
import { corsHeaders, preflightHeaders } from './origins';
import { SseConnection } from './sse-connection';
import { WsConnection } from './ws-connection';

type Conn = BaseConnection<any>;

/** What the endpoints need from the push server: a place to register connections and their messages. */
export interface EndpointHost extends ConnectionHost {
  /** True once the push server is closing: no new connections. */
  readonly closed: boolean;
  /** The connection with this id, during its handshake too. */
  find(id: string): Conn | undefined;
  /** Registers a new connection and runs its handshake (joins, replay, hello). */
  open(c: Conn, lastEventId: string | undefined, channels: string[]): Promise<void>;
  /** Dispatches what a client sent; throws `BAD_FRAME` when it is not valid. */
  receive(c: Conn, text: string): void;
}

type Admission<User> = { user: User } | Refusal;

/** A new connection that passed the limits and `authorize`. */
interface Admitted<User> {
  user: User;
  identity?: string;
  /** Gives the slot back under the connection limits; the connection calls it when it ends. */
  release: () => void;
}

const LIMITED = { 'Retry-After': LIMIT_RETRY_AFTER };

/** The resume point: the header wins, since a native EventSource keeps the first URL on its reconnects. */
function lastEventIdOf(req: IncomingMessage, q: URLSearchParams): string | undefined {
  const h = req.headers['last-event-id'];
  const id = (typeof h === 'string' && h) || q.get(Q.lastEventId);
  return id || undefined;
}

/**
 * The HTTP side: turns requests and upgrades for the push path into connections (after the origin
 * and `authorize` checks), long-polls and sends, and answers everything else with a status and a reason.
 */
export class Endpoints<User> {
  private readonly wss: WebSocketServer | null;
  private readonly limits: ConnectionLimits;

  constructor(
    private readonly hub: EndpointHost,
    private readonly o: ResolvedOptions<User>,
  ) {
    this.wss = o.websocket
      ? new WebSocketServer({
          noServer: true,
          clientTracking: false,
          maxPayload: o.maxMessageSize,
          // Compression costs CPU per connection and opens the door to compression bombs.
          perMessageDeflate: false,
        })
      : null;
    this.limits = new ConnectionLimits(o.maxConnections, o.maxConnectionsPerIp);
  }

  /** Connections counted under the limits now. */
  get counted(): number {
    return this.limits.size;
  }

  private readonly receiveWs = (c: Conn, text: string): void => this.hub.receive(c, text);

  private async authorize(req: IncomingMessage, conn?: Conn): Promise<Admission<User>> {
    const fn = this.o.authorize;
    if (!fn) return { user: undefined as User };
    try {
      const user = await fn(req, conn);
      return user === false ? { status: 401, reason: 'unauthorized' } : { user };
    } catch (err) {
      const s = (err as { status?: unknown } | null)?.status;
      if (typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599) {
        return { status: s, reason: messageOf(err) || STATUS_CODES[s] || 'refused' };
      }
      return { status: 401, reason: 'unauthorized' };
    }
  }

  private clientIp(req: IncomingMessage): string {
    try {
      return String(this.o.clientIp(req));
    } catch (err) {
      this.o.onError(err);
      return req.socket.remoteAddress ?? '';
    }
  }

  /**
   * Admits a new connection: a slot under the connection limits (taken first, so that a flood is
   * refused without running `authorize`), then `authorize`. On refusal it answers through `refuse`
   * and resolves `null`.
   */
  private async admit(
    req: IncomingMessage,
    refuse: (status: number, reason: string, headers?: Record<string, string>) => void,
  ): Promise<Admitted<User> | null> {
    const slot = this.limits.take(this.clientIp(req));
    if (typeof slot !== 'function') {
      refuse(slot.status, slot.reason, LIMITED);
      return null;
    }
    try {
      const a = await this.authorize(req);
      if ('status' in a) refuse(a.status, a.reason);
      else if (this.hub.closed) refuse(503, 'server closing');
      else return { user: a.user, identity: this.o.authorize ? String(this.o.identify(a.user)) : undefined, release: slot };
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
  private async recheck(req: IncomingMessage, c: Conn): Promise<Refusal | null> {
    const a = await this.authorize(req, c);
    if ('status' in a) return a;
    return String(this.o.identify(a.user)) === c.identity ? null : { status: 403, reason: 'connection belongs to another identity' };
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.hub.closed) return false;
    const target = splitTarget(req.url);
    if (!target || target.pathname !== this.o.path) return false;
    const fail = (err: unknown): void => {
      this.o.onError(err);
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
    const o = this.o;
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
    if (req.method === 'DELETE') return this.remove(req, res, q.get(Q.connection));
    if (req.method !== 'GET') return reply(res, 405, 'method not allowed', { Allow: 'GET, POST, DELETE' });
    const t = q.get(Q.transport);
    if (t === T.longpoll) {
      if (!o.longpoll) return reply(res, 404, 'long-poll transport not enabled');
      const cid = q.get(Q.connection);
      if (cid !== null) return this.poll(req, res, cid, q.get(Q.ack));
      return this.connectHttp(req, res, q, (user) => new LpConnection(this.hub, newConnectionId(), user, res, o));
    }
    if (t === T.eventsource || (t === null && /text\/event-stream/i.test(req.headers.accept ?? ''))) {
      if (!o.eventsource) return reply(res, 404, 'eventsource transport not enabled');
      return this.connectHttp(req, res, q, (user) => new SseConnection(this.hub, newConnectionId(), user, req, res, o.retryMs));
    }
    if (t === T.websocket) {
      if (!o.websocket) return reply(res, 404, 'websocket transport not enabled');
      return reply(res, 426, 'WebSocket upgrade required', { Upgrade: 'websocket', Connection: 'Upgrade' });
    }
    return reply(res, 400, t === null ? 'no transport: use t=sse, t=lp or a WebSocket upgrade' : 'unknown transport');
  }

  /** A new SSE or long-poll connection: admitted, then made by `make` and opened. */
  private async connectHttp(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, make: (user: User) => Conn): Promise<void> {
    const a = await this.admit(req, (status, reason, headers) => reply(res, status, reason, headers));
    if (!a) return;
    if (req.socket.destroyed) return a.release();
    return this.start(make(a.user), a, req, q);
  }

  /** Opens an admitted connection: it keeps the identity later requests are checked against, and gives its slot back when it ends. */
  private start(c: Conn, a: Admitted<User>, req: IncomingMessage, q: URLSearchParams): Promise<void> {
    c.identity = a.identity;
    c.freeSlot = a.release;
    return this.hub.open(c, lastEventIdOf(req, q), q.getAll(Q.channel));
  }

  private async poll(req: IncomingMessage, res: ServerResponse, cid: string, ack: string | null): Promise<void> {
    const c = this.hub.find(cid);
    if (!c || c.closed) return reply(res, 404, 'unknown or expired connection');
    if (!(c instanceof LpConnection)) return reply(res, 400, 'not a long-poll connection');
    if (ack === null || !/^\d{1,15}$/.test(ack)) return reply(res, 400, 'ack must be a non-negative integer');
    if (this.o.authorize) {
      const refused = await this.recheck(req, c);
      if (refused) return reply(res, refused.status, refused.reason);
      if (c.closed) return reply(res, 404, 'unknown or expired connection');
      if (req.socket.destroyed) return;
    }
    c.onPoll(res, +ack);
  }

  /** Handles `DELETE ?cid=..`: a long-poll client that stops says so, since between polls nothing else shows it. */
  private async remove(req: IncomingMessage, res: ServerResponse, cid: string | null): Promise<void> {
    const c = cid ? this.hub.find(cid) : undefined;
    if (!c || c.closed) return reply(res, 404, 'unknown or expired connection');
    if (this.o.authorize) {
      const refused = await this.recheck(req, c);
      if (refused) return reply(res, refused.status, refused.reason);
    }
    c.close();
    res.writeHead(204);
    res.end();
  }

  private async post(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const cid = q.get(Q.connection);
    if (!cid) return reply(res, 400, 'missing cid');
    // A cross-site form cannot send this type, so it cannot forge sends (no CORS preflight is skipped).
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return reply(res, 415, 'Content-Type must be application/json');
    }
    const claimed = this.hub.find(cid);
    if (!claimed) return refuseBody(res, 404, 'unknown or expired connection');
    if (this.o.authorize) {
      const refused = await this.recheck(req, claimed);
      if (refused) return refuseBody(res, refused.status, refused.reason);
    }
    let text: string;
    try {
      text = await readBody(req, this.o.maxBodySize);
    } catch (err) {
      if (err instanceof BodyError) return refuseBody(res, err.status, err.message);
      throw err;
    }
    const c = this.hub.find(cid);
    if (!c || c.closed || c !== claimed) return reply(res, 404, 'unknown or expired connection');
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
    if (!target || target.pathname !== this.o.path) return false;
    if (!this.wss) {
      abortUpgrade(socket, 400, 'websocket transport not enabled');
      return true;
    }
    // Browsers send no preflight for WebSocket, so this is the only guard against other sites' pages.
    if (this.o.origin?.(req) === 'refused') {
      abortUpgrade(socket, 403, 'origin not allowed');
      return true;
    }
    // Until `ws` takes the socket over, an error on it (a reset while authorize runs) would have no
    // listener and crash the process.
    const onError = (): void => void socket.destroy();
    socket.on('error', onError);
    this.upgrade(req, socket, head, target.query, onError).catch((err: unknown) => {
      this.o.onError(err);
      socket.destroy();
    });
    return true;
  }

  private async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    q: URLSearchParams,
    onError: () => void,
  ): Promise<void> {
    const a = await this.admit(req, (status, reason, headers) => abortUpgrade(socket, status, reason, headers));
    if (!a) return;
    if (socket.destroyed) return a.release();
    // `ws` may refuse the handshake itself (a bad key or version) and never call back: the slot
    // goes back when the socket closes, whoever closes it.
    socket.once('close', a.release);
    this.wss!.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onError);
      if (this.hub.closed) return void ws.terminate();
      this.start(new WsConnection(this.hub, newConnectionId(), a.user, ws, this.receiveWs), a, req, q).catch(this.o.onError);
    });
  }

  close(): void {
    this.wss?.close();
  }
}
