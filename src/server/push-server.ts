import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ACK,
  encodeEvent,
  HEARTBEAT,
  HELLO,
  isChannelName,
  isEventName,
  JOIN,
  LEAVE,
  parseClientMessages,
  PushError,
  type Ack,
  type ClientMessage,
  type Hello,
} from '../protocol';
import { messageOf } from './errors';
import { attach } from './attach';
import type { Backplane, BackplaneEntry } from './backplane';
import type { BaseConnection } from './connection';
import { Endpoints, type EndpointHost } from './endpoints';
import { resolveOptions, type ResolvedOptions } from './options';
import type { Connection, MessageListener, PublishOptions, PushServer, PushServerOptions } from './types';

type Conn = BaseConnection<any>;

/**
 * Creates the server side of push-client: WebSocket, SSE and long-poll on one path, with channels,
 * targeted sends and resume by last-event-id.
 *
 * @example
 * ```ts
 * const push = createPushServer({ server: httpServer, path: '/push' });
 * await push.publish('price', { symbol: 'ACME', px: 1 });
 * ```
 */
export function createPushServer<User = unknown>(options: PushServerOptions<User> = {}): PushServer<User> {
  return new Hub<User>(options);
}

const noop = (): void => {};

/** Why a join past `maxChannels` is refused. */
const TOO_MANY_CHANNELS = 'too many channels';

/** True when an entry may reach `c`: broadcast or one of its channels, not excluded, not targeted elsewhere. */
const visible = (c: Conn, e: BackplaneEntry): boolean =>
  e.target === undefined && (e.channel === undefined || c.channels.has(e.channel)) && e.except !== c.id;

function serialize(data: unknown): string {
  try {
    return JSON.stringify(data) ?? 'null';
  } catch (cause) {
    throw new PushError('BAD_OPTION', 'data is not JSON-serializable', { cause });
  }
}

class Hub<User> implements PushServer<User>, EndpointHost {
  private readonly o: ResolvedOptions<User>;
  private readonly bp: Backplane;
  readonly maxBufferedBytes: number;
  /** Every connection, from registration (handshake running) until it ends. */
  private readonly byId = new Map<string, Conn>();
  /** Connections whose hello went out. */
  private readonly live = new Set<Conn>();
  /** `connections`, built on demand; `null` whenever `live` changed since. */
  private snapshot: ReadonlyArray<Conn> | null = null;
  /** Connections whose handshake is running; they hold live entries until it ends. */
  private readonly opening = new Set<Conn>();
  /** Live members of each channel, so a channel publish does not scan every connection. */
  private readonly rooms = new Map<string, Set<Conn>>();
  private readonly listeners = new Set<MessageListener<User>>();
  private readonly endpoints: Endpoints<User>;
  private dirty: Conn[] = [];
  private immediate: NodeJS.Immediate | null = null;
  private readonly beat: NodeJS.Timeout;
  /** Pending until the backplane has started; `null` after. */
  private ready: Promise<void> | null = null;
  private startError: unknown = null;
  private readonly detach_: (() => void) | null;
  private closing: Promise<void> | null = null;

  get closed(): boolean {
    return this.closing !== null;
  }

  find(id: string): Conn | undefined {
    return this.byId.get(id);
  }

  constructor(options: PushServerOptions<User>) {
    const o = (this.o = resolveOptions(options));
    this.bp = o.backplane;
    this.maxBufferedBytes = o.maxBufferedBytes;
    this.endpoints = new Endpoints<User>(this, o);
    const started = this.bp.start(this.fanOut);
    if (started) {
      this.ready = started.then(
        () => {
          this.ready = null;
        },
        (err: unknown) => {
          this.ready = null;
          this.startError = err;
          o.onError(err);
        },
      );
    }
    this.beat = setInterval(() => {
      for (const c of this.live) c.heartbeat();
    }, o.heartbeatMs);
    this.beat.unref();
    this.detach_ = options.server ? attach(options.server, this) : null;
  }

  get connections(): ReadonlyArray<Connection<User>> {
    return (this.snapshot ??= Object.freeze([...this.live]));
  }

  connection(id: string): Connection<User> | undefined {
    const c = this.byId.get(id);
    return c && c.held === null ? c : undefined;
  }

  onMessage(listener: MessageListener<User>): () => void {
    // Wrapped so that adding the same function twice yields two independent subscriptions.
    const l: MessageListener<User> = (e, d, c) => listener(e, d, c);
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  publish(event: string, data: unknown, options?: PublishOptions): Promise<string> {
    try {
      if (this.closing) throw new PushError('CLOSED', 'push server closed');
      if (!isEventName(event)) throw new PushError('BAD_OPTION', 'invalid event name');
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
      if (this.closing) throw new PushError('CLOSED', 'push server closed');
      if (!isEventName(event)) throw new PushError('BAD_OPTION', 'invalid event name');
      p = this.toBackplane({ event, data: serialize(data), target: id }).then(noop);
    } catch (err) {
      p = Promise.reject(err);
    }
    // `conn.send` is often fire-and-forget; a failure must not become an unhandled rejection.
    p.catch(noop);
    return p;
  }

  private toBackplane(entry: BackplaneEntry): Promise<string> {
    return this.ready ? this.ready.then(() => this.bp.publish(entry)) : this.bp.publish(entry);
  }

  /** Every entry of every process arrives here, in order. Each is encoded once for all recipients. */
  private readonly fanOut = (e: BackplaneEntry): void => {
    if (e.target !== undefined) {
      const c = this.byId.get(e.target);
      if (!c) return;
      const block = encodeEvent(e.event, e.data, undefined, e.channel);
      if (c.held) this.hold(c, e, block);
      else c.push(block);
      return;
    }
    const members = e.channel === undefined ? this.live : this.rooms.get(e.channel);
    if (!members?.size && !this.opening.size) return;
    const block = encodeEvent(e.event, e.data, e.id, e.channel);
    for (const c of this.opening) this.hold(c, e, block);
    if (!members) return;
    const except = e.except;
    let skip: string | undefined;
    for (const c of members) {
      if (c.floor !== null) {
        if (this.bp.compareIds(e.id!, c.floor) <= 0) continue;
        c.floor = null;
      }
      // The sender gets the id alone, so that its resume point passes the event: else it would be
      // replayed to it after a reconnect (its new connection has another id).
      c.push(c.id === except ? (skip ??= encodeEvent(HEARTBEAT, '', e.id)) : block);
    }
  };

  /**
   * Keeps a live entry for a connection whose handshake runs. A handshake that never ends (an
   * `onJoin` or backplane that hangs) would keep them all: past `maxBufferedBytes` it is dropped.
   */
  private hold(c: Conn, entry: BackplaneEntry, block: string): void {
    c.held!.push({ entry, block });
    if ((c.heldBytes += block.length) > this.maxBufferedBytes) c.close();
  }

  schedule(c: Conn): void {
    this.dirty.push(c);
    this.immediate ??= setImmediate(this.flush);
  }

  /** One flush per tick for every connection that got blocks: a burst becomes one write each. */
  private readonly flush = (): void => {
    this.immediate = null;
    const list = this.dirty;
    this.dirty = [];
    for (const c of list) {
      try {
        c.flush();
      } catch (err) {
        this.o.onError(err);
        c.close();
      }
    }
  };

  detach(c: Conn): void {
    c.freeSlot?.();
    c.freeSlot = undefined;
    this.byId.delete(c.id);
    this.opening.delete(c);
    if (this.live.delete(c)) this.snapshot = null;
    for (const ch of c.channels) this.leaveRoom(c, ch);
    c.held = null;
  }

  private leaveRoom(c: Conn, ch: string): void {
    const room = this.rooms.get(ch);
    if (room?.delete(c) && room.size === 0) this.rooms.delete(ch);
  }

  private joinRoom(c: Conn, ch: string): void {
    let room = this.rooms.get(ch);
    if (!room) this.rooms.set(ch, (room = new Set()));
    room.add(c);
  }

  /**
   * The handshake: joins, replay, hello, then what arrived meanwhile. The connection is registered
   * first and holds live entries, so nothing published while `onJoin` or the replay runs is lost.
   */
  async open(c: Conn, lastEventId: string | undefined, requested: string[]): Promise<void> {
    this.byId.set(c.id, c);
    this.opening.add(c);
    // join/leave requests that arrive during the handshake wait for it: their acks follow the hello.
    let opened = noop;
    c.control = new Promise<void>((resolve) => (opened = resolve));
    try {
      if (this.ready) await this.ready;
      if (this.startError) throw this.startError;
      const channels = [...new Set(requested)];
      const max = this.o.maxChannels;
      const reasons = await Promise.all(channels.map((ch, i) => (i < max ? this.admit(c, ch) : TOO_MANY_CHANNELS)));
      if (c.closed) return;
      let refused: Record<string, string> | undefined;
      reasons.forEach((why, i) => {
        if (why === null) c.channels.add(channels[i]);
        else (refused ??= {})[channels[i]] = why;
      });

      let replay = true;
      let entries: BackplaneEntry[] = [];
      // A client with no id yet starts from the newest entry; live entries up to it are dropped below.
      const last = lastEventId === undefined ? await this.bp.head?.() : undefined;
      if (c.closed) return;
      if (lastEventId !== undefined) {
        const r = await this.bp.replay(lastEventId, (e) => visible(c, e));
        if (c.closed) return;
        if (r === null) replay = false;
        else entries = r;
      }

      const hello: Hello = {
        cid: c.id,
        epoch: this.bp.epoch,
        replay,
        hb: c.transport === 'longpoll' ? this.o.pollTimeout : this.o.heartbeatMs,
        retry: this.o.retryMs,
      };
      if (refused) hello.refused = refused;
      if (last !== undefined) hello.last = c.floor = last;
      c.push(encodeEvent(HELLO, JSON.stringify(hello)));
      for (const e of entries) c.push(encodeEvent(e.event, e.data, e.id, e.channel));
      // What the client has now ends at the last replayed id, or at its own id if nothing was missed.
      if (replay && lastEventId !== undefined) c.floor = entries.length ? entries[entries.length - 1].id! : lastEventId;
      const held = c.held!;
      c.held = null;
      this.opening.delete(c);
      for (const { entry, block } of held) {
        if (entry.target === undefined) {
          if (!visible(c, entry)) continue;
          if (c.floor !== null) {
            if (this.bp.compareIds(entry.id!, c.floor) <= 0) continue;
            c.floor = null;
          }
        }
        c.push(block);
      }
      this.live.add(c);
      this.snapshot = null;
      for (const ch of c.channels) this.joinRoom(c, ch);
      opened();
    } catch (err) {
      this.o.onError(err);
      c.close();
    }
  }

  /** `null` when `c` may join `ch`, else the reason it may not. */
  private async admit(c: Conn, ch: string): Promise<string | null> {
    if (!isChannelName(ch)) return 'invalid channel name';
    const onJoin = this.o.onJoin;
    if (!onJoin) return null;
    try {
      return (await onJoin(c, ch)) === false ? 'refused' : null;
    } catch (err) {
      return messageOf(err) || 'refused';
    }
  }

  /** Dispatches what a client sent. Throws `BAD_FRAME` when the text is not valid, before acting on any of it. */
  receive(c: Conn, text: string): void {
    const messages = parseClientMessages(text);
    for (const m of messages) {
      if (c.closed) return;
      if (m.e === JOIN || m.e === LEAVE) this.control(c, m);
      else {
        for (const l of this.listeners) {
          try {
            // An async listener's rejection would otherwise be unhandled and end the process.
            const r: unknown = l(m.e, m.d, c);
            if (r instanceof Promise) r.catch(this.o.onError);
          } catch (err) {
            this.o.onError(err);
          }
        }
      }
    }
  }

  private control(c: Conn, m: ClientMessage): void {
    c.control = c.control.then(() => this.runControl(c, m)).catch(this.o.onError);
  }

  private async runControl(c: Conn, m: ClientMessage): Promise<void> {
    const ch = m.d;
    let error: string | null = null;
    if (!isChannelName(ch)) error = 'invalid channel name';
    else if (m.e === LEAVE) {
      c.channels.delete(ch);
      this.leaveRoom(c, ch);
    } else if (!c.channels.has(ch)) {
      // Joins run one at a time per connection (`c.control`), so the count cannot be overtaken.
      error = c.channels.size >= this.o.maxChannels ? TOO_MANY_CHANNELS : await this.admit(c, ch);
      if (c.closed) return;
      if (error === null) {
        c.channels.add(ch);
        this.joinRoom(c, ch);
      }
    }
    if (m.r === undefined || c.closed) return;
    const ack: Ack = { r: m.r, ok: error === null };
    if (error !== null) ack.error = error;
    c.push(encodeEvent(ACK, JSON.stringify(ack)));
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.endpoints.handleRequest(req, res);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.endpoints.handleUpgrade(req, socket, head);
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.beat);
    this.detach_?.();
    // Write what this tick queued before the connections go.
    if (this.immediate) clearImmediate(this.immediate);
    this.flush();
    const all = [...this.byId.values()];
    await Promise.all(all.map((c) => c.shutdown()));
    this.listeners.clear();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    this.dirty = [];
    await this.bp.close();
    this.endpoints.close();
  }
}
