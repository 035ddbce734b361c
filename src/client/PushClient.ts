import mitt, { type Emitter } from 'mitt';
import {
  ACK,
  HEARTBEAT,
  HELLO,
  JOIN,
  LEAVE,
  PushError,
  T,
  decodeFrame,
  isChannelName,
  isEventName,
  type Ack,
  type Frame,
  type Hello,
  type SseEvent,
} from '../protocol';
import { EventSourceTransport } from '../transports/eventsource';
import { LongPollTransport } from '../transports/longpoll';
import type { Transport, TransportName } from '../transports/transport';
import { WebSocketTransport } from '../transports/websocket';
import { backoffDelay } from './backoff';
import { recall, remember } from './memory';
import { resolveOptions, type PushClientOptions, type PushUrl, type Resolved } from './options';
import { watchPage } from './page';
import type { Lifecycle, Meta, State, Status } from './state';

const TRANSPORTS = { websocket: WebSocketTransport, eventsource: EventSourceTransport, longpoll: LongPollTransport };

/** Recent event ids kept to drop duplicates a peer replays. */
const RECENT = 256;

type Handler = (data: any, meta: Meta) => void;
type Pending = { event: string; data: unknown; resolve: () => void; reject: (e: PushError) => void };
type Waiter = { resolve: () => void; reject: (e: PushError) => void };

function defaultDecode(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/**
 * One typed client over WebSocket, Server-Sent Events and HTTP long-poll: the same events, one
 * reconnect policy and one last-event-id whichever transport the network allows.
 *
 * @typeParam E - map of event name to the type of its data, e.g. `{ price: { px: number } }`.
 * @typeParam S - map of the events the client sends to the type of their data; the same as `E` unless given.
 */
export class PushClient<E extends Record<string, any> = Record<string, any>, S extends Record<string, any> = E> {
  /** Lifecycle notifications (`open`, `transport`, `reconnecting`, `gap`, `error`, `close`). */
  readonly lifecycle: Emitter<Lifecycle> = mitt<Lifecycle>();
  /** The current snapshot; see {@link PushClient.subscribe}. */
  status: Status = Object.freeze({ state: 'idle', transport: null, attempt: 0 });
  /** Id of the last event delivered; sent on every reconnect so the server resumes after it. */
  lastEventId?: string;

  private o: Resolved;
  /** Where the transport that worked is remembered: the URLs, whatever the query adds per connect. */
  private key: string;
  private handlers = new Map<string, Set<Handler>>();
  private any = new Set<(event: string, data: any, meta: Meta) => void>();
  private subs = new Set<(s: Status) => void>();
  private chans: Set<string>;
  private recent = new Set<string>();
  private queue: Pending[] = [];
  private waiting = new Map<string, Waiter>();
  private acks = new Map<number, string>();
  private reqs = 0;
  /** The open transport and what it is; `plain` is undefined until its first message. */
  private t?: Transport;
  private name: TransportName | null = null;
  private plain?: boolean;
  private sentId?: string;
  private skipUntil?: string;
  /** Transports being tried (connect or upgrade probe) and their connect timers, stopped on close. */
  private trying = new Map<Transport, ReturnType<typeof setTimeout>>();
  private best = 0;
  private attempt = 0;
  private floor = 0;
  private lastSeen = 0;
  private openedAt = 0;
  private gen = 0;
  private query?: Record<string, string>;
  private headers?: Record<string, string>;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private hbTimer?: ReturnType<typeof setTimeout>;
  private upTimer?: ReturnType<typeof setTimeout>;
  private unwatch?: () => void;

  /**
   * @param url - one http(s) or ws(s) URL served by `push-client/server` (the others are derived), or
   *   an object of per-transport URLs (`{ websocket, eventsource, longpoll }`) for plain servers.
   * @throws PushError `BAD_OPTION` naming the option, for any invalid URL or option.
   */
  constructor(url: PushUrl, options?: PushClientOptions) {
    this.o = resolveOptions(url, options);
    this.lastEventId = this.o.lastEventId;
    this.chans = new Set(this.o.channels);
    for (const c of this.chans) if (!isChannelName(c)) throw new PushError('BAD_OPTION', `push-client: option "channels" has an invalid name`);
    const known = recall((this.key = JSON.stringify(this.o.urls)));
    this.best = Math.max(0, known ? this.o.transports.indexOf(known) : 0);
    if (this.o.autoConnect) this.connect();
  }

  /** Channels joined (or being joined); re-joined by themselves after every reconnect. */
  get channels(): string[] {
    return [...this.chans];
  }

  /** Calls `fn(data, meta)` for every event named `name`; returns a function that removes it. */
  on<K extends keyof E & string>(name: K, fn: (data: E[K], meta: Meta) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(fn);
    return () => this.off(name, fn);
  }

  /** Like {@link PushClient.on}, for the next event only. */
  once<K extends keyof E & string>(name: K, fn: (data: E[K], meta: Meta) => void): () => void {
    const off = this.on(name, (d, m) => {
      off();
      fn(d, m);
    });
    return off;
  }

  off<K extends keyof E & string>(name: K, fn: (data: E[K], meta: Meta) => void): void {
    this.handlers.get(name)?.delete(fn);
  }

  /** Calls `fn(event, data, meta)` for every event, whatever its name; returns a function that removes it. */
  onAny(fn: (event: string, data: any, meta: Meta) => void): () => void {
    this.any.add(fn);
    return () => this.any.delete(fn);
  }

  /**
   * Calls `fn(status)` now and on every change; returns the unsubscribe function. This is the Svelte
   * store contract, and what React's `useSyncExternalStore` needs.
   */
  subscribe(fn: (s: Status) => void): () => void {
    this.subs.add(fn);
    fn(this.status);
    return () => this.subs.delete(fn);
  }

  /** Starts connecting (done by the constructor unless `autoConnect: false`); after `close()` starts afresh. */
  connect(): void {
    const s = this.status.state;
    if (s !== 'idle' && s !== 'closed') return;
    this.attempt = 0;
    this.unwatch = watchPage({
      wake: () => this.alive(),
      online: () => {
        if (this.retryTimer !== undefined) this.cycle(); // waiting out a backoff: the network is back, go now
      },
      offline: () => this.t && this.drop(this.t, new PushError('TRANSPORT_FAILED', 'browser went offline')),
    });
    this.set('connecting');
    this.cycle();
  }

  /**
   * Sends an event to the server: over the WebSocket, or as an HTTP POST on SSE and long-poll.
   * While not connected it waits in a bounded queue (`maxQueued`) and goes out in order on open.
   * Resolves when written (WebSocket) or accepted (HTTP); rejects with a `PushError` otherwise.
   */
  send<K extends string>(event: K, data?: K extends keyof S ? S[K] : unknown): Promise<void> {
    if (!isEventName(event)) return Promise.reject(new PushError('BAD_OPTION', 'send: invalid event name'));
    if (this.status.state === 'closed') return Promise.reject(new PushError('CLOSED', 'client is closed'));
    this.alive();
    return new Promise((resolve, reject) => {
      const p: Pending = { event, data, resolve, reject };
      if (this.status.state === 'open') this.transmit(p);
      else if (this.queue.length >= this.o.maxQueued) reject(new PushError('QUEUE_FULL', `${this.o.maxQueued} sends already queued`));
      else this.queue.push(p);
    });
  }

  /** Joins a channel; resolves when the server accepts, rejects with `JOIN_REFUSED` when it refuses. */
  join(channel: string): Promise<void> {
    return this.control(JOIN, channel);
  }

  /** Leaves a channel; resolves when the server has taken note. */
  leave(channel: string): Promise<void> {
    return this.control(LEAVE, channel);
  }

  /** Closes the connection and releases every timer, socket and listener. Pending sends reject with `CLOSED`. */
  close(): void {
    this.stop();
  }

  // ---- connecting -------------------------------------------------------------------------------

  /** One pass over the transports, from the one that worked last. */
  private async cycle(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const gen = ++this.gen;
    const o = this.o;
    try {
      this.query = typeof o.query === 'function' ? await o.query() : o.query;
      this.headers = typeof o.headers === 'function' ? await o.headers() : o.headers;
    } catch (cause) {
      if (gen === this.gen) this.retry(new PushError('TRANSPORT_FAILED', 'options.query or options.headers threw', { cause }));
      return;
    }
    if (gen === this.gen) this.tryFrom(this.best, 0);
  }

  private tryFrom(start: number, k: number, last?: PushError): void {
    const list = this.o.transports;
    if (k === list.length) return this.retry(last);
    const i = (start + k) % list.length;
    this.attemptOne(i, (t, e) => {
      this.adopt(t, i);
      this.receive(e);
    }, (err) => (err.code === 'UNAUTHORIZED' ? this.stop(err) : this.tryFrom(start, k + 1, err)));
  }

  /**
   * Opens transport number `i`. It counts as open only once it delivers a message (our hello, or a
   * plain server's first event) within `connectTimeout`: an open socket that passes nothing is a failure.
   */
  private attemptOne(i: number, ok: (t: Transport, first: SseEvent) => void, fail: (e: PushError) => void): Transport {
    const name = this.o.transports[i];
    const t = this.make(name);
    const sent = this.lastEventId;
    const done = () => {
      clearTimeout(timer);
      return this.trying.delete(t);
    };
    const timer = setTimeout(() => {
      if (!done()) return;
      t.stop();
      fail(new PushError('TRANSPORT_FAILED', `${name}: no message within ${this.o.connectTimeout} ms`));
    }, this.o.connectTimeout);
    t.onclose = (err) => (this.ended(err), done() && fail(err));
    t.onerror = (err) => this.report(err);
    t.onreceive = (e) => {
      if (e.retry !== undefined) this.floor = e.retry;
      if (!e.data && e.id === undefined) return; // a bare `retry:` block is not an event
      if (!done()) return;
      this.sentId = sent;
      ok(t, e);
    };
    this.trying.set(t, timer);
    t.connect();
    return t;
  }

  private make(name: TransportName): Transport {
    const o = this.o;
    const u = new URL(o.urls[name]!);
    const q = u.searchParams;
    for (const k in this.query) q.set(k, this.query[k]);
    q.set('t', T[name]);
    if (this.lastEventId !== undefined) q.set('lastEventId', this.lastEventId);
    for (const c of this.chans) q.append('ch', c);
    return new TRANSPORTS[name]({
      url: u.href,
      WebSocket: o.WebSocket,
      EventSource: o.EventSource,
      fetch: o.fetch,
      headers: this.headers,
      withCredentials: o.withCredentials,
      maxMessageSize: o.maxMessageSize,
      names: () => this.handlers.keys(),
      pollWhenHidden: o.pollWhenHidden,
    });
  }

  private adopt(t: Transport, i: number): void {
    this.t = t;
    this.best = i;
    this.plain = undefined;
    this.openedAt = this.lastSeen = Date.now();
    t.onreceive = (e) => this.receive(e);
    t.onclose = (err) => (this.ended(err), this.drop(t, err));
  }

  /** A transport ended on what the peer sent, not on the network: reported as well as acted on. */
  private ended(err: PushError): void {
    if (err.code === 'BAD_FRAME') this.report(err);
  }

  /** The open transport ended: reconnect after the backoff, or stop for good if the error is fatal. */
  private drop(t: Transport, err: PushError): void {
    if (t !== this.t) return;
    t.stop();
    this.t = undefined;
    this.endOpen();
    if (err.code === 'UNAUTHORIZED') return this.stop(err);
    if (Date.now() - this.openedAt >= this.o.reconnect.minUptime) this.attempt = 0;
    this.retry(err);
  }

  private endOpen(): void {
    clearTimeout(this.hbTimer);
    clearTimeout(this.upTimer);
    for (const [p, timer] of this.trying) clearTimeout(timer), p.stop();
    this.trying.clear();
  }

  private retry(err?: PushError): void {
    const r = this.o.reconnect;
    if (this.attempt >= r.maxRetries) {
      return this.stop(new PushError('MAX_RETRIES', `gave up after ${this.attempt} failed attempts`, { cause: err }));
    }
    // Capped where timers overflow: a longer Retry-After would fire at once, and again, and again.
    const delay = Math.min(Math.max(backoffDelay(r, this.attempt, this.floor), err?.retryAfter || 0), 2 ** 31 - 1);
    this.attempt++;
    this.set('reconnecting', err);
    this.lifecycle.emit('reconnecting', { attempt: this.attempt, delay, error: err });
    this.retryTimer = setTimeout(() => this.cycle(), delay);
  }

  private stop(err?: PushError): void {
    if (this.status.state === 'closed') return;
    this.gen++;
    this.endOpen();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.t?.stop();
    this.t = undefined;
    this.name = null;
    this.unwatch?.();
    const closed = new PushError('CLOSED', 'client closed', { cause: err });
    for (const p of this.queue.splice(0)) p.reject(closed);
    for (const w of this.waiting.values()) w.reject(closed);
    this.waiting.clear();
    this.acks.clear();
    this.set('closed', err);
    this.lifecycle.emit('close', { error: err });
  }

  // ---- receiving --------------------------------------------------------------------------------

  private receive(e: SseEvent): void {
    this.lastSeen = Date.now();
    if (e.retry !== undefined) this.floor = e.retry;
    if (this.plain === undefined) {
      this.plain = !e.data.startsWith(HELLO + '\n');
      if (this.plain) {
        for (const w of this.waiting.values()) w.reject(new PushError('SEND_UNSUPPORTED', 'a plain server has no channels'));
        this.waiting.clear();
        this.opened(true);
      }
    }
    if (this.plain) {
      if (e.data || e.id !== undefined) this.deliver(e.event, e.data, e.id);
      return;
    }
    let f: Frame;
    try {
      f = decodeFrame(e);
    } catch (err) {
      return this.report(err as PushError);
    }
    if (f.event[0] !== '$') return this.deliver(f.event, f.data, f.id, f.channel);
    // A heartbeat with an id stands for an event this client must not get (it sent it): skip past it.
    if (f.event === HEARTBEAT) return void (f.id && this.fresh(f.id));
    let v: any;
    try {
      v = JSON.parse(f.data);
    } catch {
      /* handled below */
    }
    if (f.event === HELLO && v && typeof v.cid === 'string') return this.hello(v);
    if (f.event === ACK && v && typeof v.r === 'number') return this.ack(v);
    this.report(new PushError('BAD_FRAME', `unknown or malformed control message ${f.event}`));
  }

  private hello(h: Hello): void {
    if (h.retry! > 0) this.floor = h.retry!;
    this.skipUntil = undefined;
    if (!h.replay) this.lifecycle.emit('gap', { lastEventId: this.lastEventId });
    // Events delivered by the old transport since this one was asked for will be replayed: skip them.
    else if (this.sentId !== this.lastEventId) this.skipUntil = this.lastEventId;
    // No event yet: resume from the server's newest id, so a drop before the first event loses nothing.
    this.lastEventId ??= h.last;
    this.acks.clear();
    for (const ch in h.refused) this.refuse(JOIN + '\t' + ch, h.refused[ch]);
    // Asked for while connecting, perhaps after this connection's `ch` list was sent: ask again.
    for (const key of this.waiting.keys()) this.request(key);
    this.opened(h.replay);
  }

  private opened(resumed: boolean): void {
    const to = this.o.transports[this.best];
    const from = this.name;
    this.name = to;
    remember(this.key, to, this.o.rememberTransport);
    this.set('open');
    if (from !== to) this.lifecycle.emit('transport', { from, to });
    this.lifecycle.emit('open', { transport: to, resumed });
    for (const p of this.queue.splice(0)) this.transmit(p);
    if (!this.plain) {
      this.heartbeat();
      if (this.best > 0 && this.o.upgradeInterval > 0) this.upTimer = setTimeout(() => this.probe(0), this.o.upgradeInterval);
    }
  }

  private deliver(event: string, payload: string, id?: string, channel?: string): void {
    if (id !== undefined && !this.fresh(id)) return;
    let data: unknown;
    try {
      data = (this.o.decode || defaultDecode)(payload, event);
    } catch (cause) {
      return this.report(new PushError('BAD_FRAME', `cannot decode "${event}"`, { cause }));
    }
    const meta: Meta = { event, id, transport: this.name!, channel };
    const hs = this.handlers.get(event);
    if (hs) for (const h of hs) this.call(h, data, meta);
    for (const h of this.any) this.call(h, event, data, meta);
  }

  /** Takes `id` as the new resume point; `false` when it is a duplicate or replayed after an upgrade. */
  private fresh(id: string): boolean {
    if (this.skipUntil !== undefined) {
      if (id === this.skipUntil) this.skipUntil = undefined;
      return false;
    }
    const r = this.recent;
    if (r.has(id)) return false;
    r.add(id);
    if (r.size > RECENT) r.delete(r.values().next().value!);
    this.lastEventId = id;
    return true;
  }

  private call(h: (...a: any[]) => void, ...args: unknown[]): void {
    try {
      h(...args);
    } catch (cause) {
      this.report(new PushError('HANDLER_ERROR', 'an event handler threw', { cause }));
    }
  }

  private report(err: PushError): void {
    this.lifecycle.emit('error', err);
  }

  private ack(a: Ack): void {
    const key = this.acks.get(a.r);
    if (!key) return;
    this.acks.delete(a.r);
    if (!a.ok) return this.refuse(key, a.error || 'refused');
    this.waiting.get(key)?.resolve();
    this.waiting.delete(key);
  }

  /** A join the server refused: the channel is forgotten; `join()` rejects, or for a channel of the options, `error` says so. */
  private refuse(key: string, why: string): void {
    const ch = key.split('\t')[1];
    const w = this.waiting.get(key);
    const err = new PushError('JOIN_REFUSED', `join "${ch}" refused: ${why}`);
    this.chans.delete(ch);
    this.waiting.delete(key);
    w ? w.reject(err) : this.report(err);
  }

  // ---- sending ----------------------------------------------------------------------------------

  private transmit(p: Pending): void {
    const text = this.plain
      ? typeof p.data === 'string' ? p.data : JSON.stringify(p.data)
      : JSON.stringify({ e: p.event, d: p.data });
    this.t!.send(text).then(p.resolve, p.reject);
  }

  private control(kind: string, ch: string): Promise<void> {
    if (!isChannelName(ch)) return Promise.reject(new PushError('BAD_OPTION', kind.slice(1) + ': invalid channel name'));
    if (this.status.state === 'closed') return Promise.reject(new PushError('CLOSED', 'client is closed'));
    if (this.plain) return Promise.reject(new PushError('SEND_UNSUPPORTED', 'a plain server has no channels'));
    if (kind === JOIN) this.chans.add(ch);
    else this.chans.delete(ch);
    return new Promise((resolve, reject) => {
      const key = kind + '\t' + ch;
      this.waiting.get(key)?.resolve(); // superseded by this request
      this.waiting.set(key, { resolve, reject });
      if (this.status.state === 'open') this.request(key); // else the next hello sends it
    });
  }

  /** Sends a join or leave; the server answers with an ack (or, if the send is lost, the next hello resends it). */
  private request(key: string): void {
    const [e, d] = key.split('\t');
    const r = ++this.reqs;
    this.acks.set(r, key);
    this.t!.send(JSON.stringify({ e, d, r })).catch(() => {});
  }

  // ---- liveness and upgrade ---------------------------------------------------------------------

  private heartbeat(): void {
    this.hbTimer = setTimeout(() => {
      if (this.alive()) this.heartbeat();
    }, this.o.heartbeatTimeout / 4);
  }

  /**
   * Checks the heartbeat by the clock, not by a timer alone: after a frozen tab or a sleeping laptop
   * the timer fires late or never, but the first wake-up, visibility change or send sees the silence.
   */
  private alive(): boolean {
    const t = this.t;
    if (!t || this.plain) return true;
    const doc = (globalThis as { document?: Document }).document;
    if (doc?.hidden && this.name === 'longpoll' && !this.o.pollWhenHidden) this.lastSeen = Date.now(); // paused on purpose
    if (Date.now() - this.lastSeen <= this.o.heartbeatTimeout) return true;
    this.drop(t, new PushError('TRANSPORT_FAILED', `no message for ${this.o.heartbeatTimeout} ms`));
    return false;
  }

  /** While on a fallback, tries the better transports one by one; the first that says hello takes over. */
  private probe(i: number): void {
    const cur = this.t;
    if (!cur) return;
    // Without a resume point the new transport cannot replay what the old one is still delivering.
    if (i >= this.best || this.lastEventId === undefined) {
      this.upTimer = setTimeout(() => this.probe(0), this.o.upgradeInterval);
      return;
    }
    this.attemptOne(i, (t, e) => {
      if (!e.data.startsWith(HELLO + '\n') || cur !== this.t) {
        t.stop();
        return this.probe(this.best);
      }
      cur.stop();
      this.endOpen();
      this.adopt(t, i);
      this.receive(e);
    }, () => this.probe(i + 1));
  }

  private set(state: State, error?: PushError): void {
    const s: Status = { state, transport: state === 'open' ? this.name : null, attempt: this.attempt, lastEventId: this.lastEventId };
    if (error) (s as { error?: PushError }).error = error;
    this.status = Object.freeze(s);
    for (const f of this.subs) this.call(f, s);
  }
}
