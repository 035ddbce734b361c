import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isChannelName, isEventName, JOIN, LEAVE, parseClientMessages, PushError } from '../protocol';
import { attach } from './attach';
import type { Backplane, BackplaneEntry, ConnectionDirectory } from './backplane';
import type { Batch } from './batch';
import { Channels } from './channels';
import type { BaseConnection } from './connection';
import type { Session } from './session';
import { readPage, type Page } from './cursor';
import { Endpoints, type EndpointHost } from './endpoints';
import { FanOut } from './fan-out';
import { FetchHandler } from './fetch';
import { bunWebSocketHandlers, type BunWebSocketHandlers } from './fetch-websocket';
import { handshake, type HandshakeDeps } from './handshake';
import { resolveOptions, type ResolvedOptions } from './options';
import { ConnectionRegistry } from './registry';
import { CONTROL, type ConnectionRecord, parseRecord, RemoteConnection, recordOf } from './shared';
import { TickFlusher } from './tick';
import type { Connection, FetchHost, MessageListener, PublishOptions, PushRequest, PushServer, PushServerOptions } from './types';

type Conn = BaseConnection<any>;

/**
 * Creates the server side of push-client: WebSocket, SSE and long-poll on one path, with channels,
 * targeted sends and resume by last-event-id. With `server` it attaches to a Node HTTP server;
 * without, serve Node requests with `handleRequest` / `handleUpgrade`, or WHATWG requests with
 * `push.fetch` (Bun, Deno, Hono, Next.js).
 *
 * @example
 * ```ts
 * const push = createPushServer({ server: httpServer, path: '/push' });
 * await push.publish('price', { symbol: 'ACME', px: 1 });
 * ```
 * @example
 * ```ts
 * const push = createPushServer({ path: '/push', authorize: (req: Request) => req.headers.get('authorization') === token });
 * Bun.serve({ fetch: push.fetch, websocket: push.websocket });
 * ```
 */
export function createPushServer<User = unknown, Req extends PushRequest = IncomingMessage>(options: PushServerOptions<User, Req> = {}): PushServer<User> {
  return new Hub<User>(options);
}

const noop = (): void => {};

/** How long the record of an SSE stream that ended still admits the sends its client posted before it saw the end. */
const ENDED_STREAM_GRACE_MS = 10_000;

function serialize(data: unknown): string {
  try {
    return JSON.stringify(data) ?? 'null';
  } catch (cause) {
    throw new PushError('BAD_OPTION', 'data is not JSON-serializable', { cause });
  }
}

/**
 * The push server: the public API, wired from parts that each do one job: the connection registry,
 * channel membership, the fan-out of backplane entries, the per-tick flush, the handshake and the
 * HTTP endpoints (one per transport).
 */
class Hub<User> implements PushServer<User>, EndpointHost {
  private readonly options: ResolvedOptions<User>;
  private readonly backplane: Backplane;
  readonly maxBufferedBytes: number;
  private readonly registry = new ConnectionRegistry();
  private readonly channels: Channels;
  private readonly fanOut: FanOut;
  private readonly flusher: TickFlusher;
  private readonly handshakes: HandshakeDeps;
  private readonly listeners = new Set<MessageListener<User>>();
  private readonly endpoints: Endpoints<User>;
  private readonly fetchHandler: FetchHandler<User>;
  readonly websocket: BunWebSocketHandlers;
  private readonly beat: NodeJS.Timeout;
  /** Pending until the backplane has started; `null` after. */
  private ready: Promise<void> | null = null;
  private startError: unknown = null;
  private readonly detachFromServer: (() => void) | null;
  private closing: Promise<void> | null = null;
  /** The backplane's shared connection records, when it has them (Redis): any process answers any request. */
  readonly directory: ConnectionDirectory | null;
  /** Connections let go of because another process said so, or their record is gone: nothing to tell anyone. */
  private readonly letGo = new WeakSet<Conn>();

  get closed(): boolean {
    return this.closing !== null;
  }

  find(id: string): Conn | undefined {
    return this.registry.session(id)?.conn;
  }

  constructor(options: PushServerOptions<User, any>) {
    const resolved = (this.options = resolveOptions(options));
    const backplane = (this.backplane = resolved.backplane);
    this.maxBufferedBytes = resolved.maxBufferedBytes;
    this.directory = backplane.directory ?? null;
    this.channels = new Channels(resolved, (conn) => this.announce(conn));
    this.fanOut = new FanOut(
      this.registry,
      this.channels,
      (first, second) => backplane.compareIds(first, second),
      resolved.maxBufferedBytes,
      (session, entry) => this.control(session, entry),
    );
    this.flusher = new TickFlusher(resolved.onError);
    this.handshakes = {
      options: resolved,
      backplane,
      registry: this.registry,
      channels: this.channels,
      started: () => {
        if (this.ready) return this.ready.then(() => this.started());
        return this.started();
      },
      announce: (c) => this.announce(c),
    };
    this.endpoints = new Endpoints<User>(this, resolved);
    this.fetchHandler = new FetchHandler<User>(this.endpoints, () => this.closed);
    this.websocket = bunWebSocketHandlers(resolved.maxMessageSize);
    const started = backplane.start(this.fanOut.deliver);
    if (started) {
      this.ready = started.then(
        () => {
          this.ready = null;
        },
        (err: unknown) => {
          this.ready = null;
          this.startError = err;
          resolved.onError(err);
        },
      );
    }
    this.beat = setInterval(() => {
      for (const session of this.registry.live) session.conn.heartbeat();
      if (this.directory) this.renewStreams();
    }, resolved.heartbeatMs);
    this.beat.unref();
    this.detachFromServer = options.server ? attach(options.server, this) : null;
  }

  /** Throws the backplane's start error, if it failed to start. */
  private started(): void {
    if (this.startError) throw this.startError;
  }

  get connections(): ReadonlyArray<Connection<User>> {
    return this.registry.connections;
  }

  connection(id: string): Connection<User> | undefined {
    const s = this.registry.session(id);
    return s && s.held === null ? s.conn : undefined;
  }

  onMessage(listener: MessageListener<User>): () => void {
    // Wrapped so that adding the same function twice yields two independent subscriptions.
    const l: MessageListener<User> = (e, d, c) => listener(e, d, c);
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  /** Throws unless an event named `event` may be published now. */
  private checkPublish(event: string): void {
    if (this.closing) throw new PushError('CLOSED', 'push server closed');
    if (!isEventName(event)) throw new PushError('BAD_OPTION', 'invalid event name');
  }

  publish(event: string, data: unknown, options?: PublishOptions): Promise<string> {
    try {
      this.checkPublish(event);
      let channel: string | undefined;
      let except: string | undefined;
      if (options) {
        channel = options.channel;
        if (channel !== undefined && !isChannelName(channel)) throw new PushError('BAD_OPTION', 'invalid channel name');
        const x = options.except;
        except = x === undefined || typeof x === 'string' ? x : x.id;
      }
      return this.toBackplane({ event, data: serialize(data), channel, except });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  sendTo(id: string, event: string, data: unknown): Promise<void> {
    let p: Promise<void>;
    try {
      this.checkPublish(event);
      p = this.toBackplane({ event, data: serialize(data), target: id }).then(noop);
    } catch (err) {
      p = Promise.reject(err);
    }
    // `conn.send` is often fire-and-forget; a failure must not become an unhandled rejection.
    p.catch(noop);
    return p;
  }

  sendControl(id: string, event: string, data: string): Promise<void> {
    if (this.closing) return Promise.reject(new PushError('CLOSED', 'push server closed'));
    return this.toBackplane({ event, data, target: id }).then(noop);
  }

  page(c: Conn, cursor: string): Page | null | Promise<Page | null> {
    const session = this.registry.session(c.id);
    if (!session) return null;
    // Live entries up to the cursor are the client's already; the page's end moves it on.
    session.floor = cursor;
    const lift = (page: Page | null): Page | null => {
      if (page && page.last !== cursor) session.floor = page.last;
      return page;
    };
    const page = readPage(this.backplane, session, cursor);
    return page instanceof Promise ? page.then(lift) : lift(page);
  }

  compareIds(a: string, b: string): number {
    return this.backplane.compareIds(a, b);
  }

  reportError(error: unknown): void {
    this.options.onError(error);
  }

  private toBackplane(entry: BackplaneEntry): Promise<string> {
    return this.ready ? this.ready.then(() => this.backplane.publish(entry)) : this.backplane.publish(entry);
  }

  schedule(c: Conn): void {
    this.flusher.schedule(c);
  }

  batchRoot(): Batch {
    return this.flusher.batchRoot();
  }

  detach(c: Conn): void {
    const session = this.registry.remove(c);
    if (session) this.channels.exit(session);
    // With a directory, a stream that ended, or a long-poll session ended on purpose (not a view of it
    // let go here), ends everywhere: its record goes, and other processes' views of it with it.
    if (!this.directory || c.transport === 'websocket' || this.letGo.has(c) || !c.endsEverywhere()) return;
    if (c.transport === 'longpoll') {
      this.directory.drop(c.id).catch(this.quietError);
      this.toBackplane({ event: CONTROL.close, data: '', target: c.id }).catch(this.quietError);
    } else {
      // A stream's sends that were on their way when it ended (a cut: the client has not seen it
      // yet) are still taken, by whichever process they reach, for a short while.
      this.directory.touch([c.id], ENDED_STREAM_GRACE_MS).catch(this.quietError);
    }
  }

  /** Reports a failure of shared state, unless the server is closing (its backplane may be gone first). */
  private readonly quietError = (err: unknown): void => {
    if (!this.closing) this.options.onError(err);
  };

  /** Stores the record of a connection that takes HTTP requests, when there is a directory. */
  announce(c: Conn): Promise<void> | void {
    if (!this.directory || c.transport === 'websocket' || c.closed) return;
    return this.directory.save(c.id, recordOf(c), this.options.sessionTimeout);
  }

  /** Renews the records of the SSE streams held here: a record outlives its stream by at most sessionTimeout. */
  private renewStreams(): void {
    const ids: string[] = [];
    for (const s of this.registry.live) if (s.conn.transport === 'eventsource') ids.push(s.conn.id);
    if (ids.length) this.directory!.touch(ids, this.options.sessionTimeout).catch(this.quietError);
  }

  /** The record of connection `id`, its lifetime renewed; `null` when it has none (ended, expired, never was). */
  async locate(id: string): Promise<ConnectionRecord | null> {
    return parseRecord(await this.directory!.load(id, this.options.sessionTimeout));
  }

  /** Registers a long-poll view of a connection another process made (from its record): live at once, no handshake. */
  adopt(c: Conn, record: ConnectionRecord): void {
    const session = this.registry.register(c);
    this.registry.open(session);
    this.channels.reset(session, record.c);
  }

  /** Brings a long-poll view's channels up to its record (a join through another process). */
  sync(c: Conn, record: ConnectionRecord): void {
    const session = this.registry.session(c.id);
    if (session && session.held === null) this.channels.reset(session, record.c);
  }

  /** Lets go of this process's part of a connection that ended elsewhere, telling no one. */
  release(c: Conn): void {
    this.letGo.add(c);
    c.close();
  }

  /** Ends a connection held by another process (or several: long-poll views): its record goes, its holders let go. */
  closeShared(id: string): void {
    if (!this.directory) return;
    this.directory.drop(id).catch(this.quietError);
    this.toBackplane({ event: CONTROL.close, data: '', target: id }).catch(this.quietError);
  }

  /** A request another process sent through the backplane to a connection held here. */
  private control(session: Session, e: BackplaneEntry): void {
    const c = session.conn;
    if (e.event === CONTROL.close) return this.release(c);
    // A join or leave sent over HTTP to another process, for a stream held here. (Long-poll ones are
    // run where they arrive: every process may hold a view of the session.)
    if (c.transport === 'longpoll') return;
    try {
      const [m] = parseClientMessages(e.data);
      if (m.e === JOIN || m.e === LEAVE) this.channels.request(session, m);
    } catch (err) {
      this.options.onError(err);
    }
  }

  open(c: Conn, lastEventId: string | undefined, requested: string[]): Promise<void> {
    return handshake(this.handshakes, c, lastEventId, requested);
  }

  /**
   * Dispatches what a client sent. Throws `BAD_FRAME` when the text is not valid, before acting on
   * any of it. For a connection held by another process (`RemoteConnection`), joins and leaves go to
   * it through the backplane; messages reach this process's listeners.
   */
  receive(c: Conn | RemoteConnection<User>, text: string): void {
    const messages = parseClientMessages(text);
    const session = this.registry.session(c.id);
    const remote = c instanceof RemoteConnection;
    for (const m of messages) {
      if (!remote && c.closed) return;
      if (m.e === JOIN || m.e === LEAVE) {
        if (remote) this.toBackplane({ event: m.e, data: JSON.stringify(m), target: c.id }).catch(this.options.onError);
        else if (session) this.channels.request(session, m);
      } else {
        for (const l of this.listeners) {
          try {
            // An async listener's rejection would otherwise be unhandled and end the process.
            const r: unknown = l(m.e, m.d, c);
            if (r instanceof Promise) r.catch(this.options.onError);
          } catch (err) {
            this.options.onError(err);
          }
        }
      }
    }
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.endpoints.handleRequest(req, res);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.endpoints.handleUpgrade(req, socket, head);
  }

  /** Bound, so that hosts can be handed `push.fetch` as it is. */
  readonly fetch = (request: Request, host?: FetchHost): Promise<Response> => this.fetchHandler.handle(request, host);

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.beat);
    this.detachFromServer?.();
    // Write what this tick queued before the connections go.
    this.flusher.flush();
    await Promise.all(this.registry.all().map((c) => c.shutdown()));
    this.listeners.clear();
    this.flusher.stop();
    await this.backplane.close();
    this.endpoints.close();
  }
}
