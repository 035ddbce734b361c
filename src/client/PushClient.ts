import mitt, { type Emitter } from 'mitt';
import { ACK, HEARTBEAT, HELLO, JOIN, LEAVE, PushError, T, decodeFrame, isChannelName, isEventName, isHello, type Ack, type Hello, type SseEvent } from '../protocol';
import { eventSource } from '../transports/eventsource';
import { handover as newHandover } from '../transports/handover';
import { longPoll } from '../transports/longpoll';
import type { Transport, TransportName } from '../transports/transport';
import { webSocket } from '../transports/websocket';
import { backoffDelay } from './backoff';
import { recall, remember } from './memory';
import { LONGEST, resolveOptions, type PushClientOptions, type PushUrl } from './options';
import { watchPage } from './page';
import type { Lifecycle, Meta, State, Status } from './state';

const TRANSPORTS = { websocket: webSocket.create, eventsource: eventSource.create, longpoll: longPoll.create };

/** Recent event ids kept to drop duplicates a peer replays. */
const RECENT = 256;
/** Keys of the handler map that no event can have: SSE names an unnamed event `message`, and a line cannot hold `\n`. */
const ANY = '';
const STATUS = '\n';

type Fn = (...a: any[]) => void;
type Waiter = { resolve: () => void; reject: (e: PushError) => void };
type Handler<D> = (data: D, meta: Meta) => void;

const fail = (code: PushError['code'], message: string, cause?: unknown) => new PushError(code, message, { cause });
const refuse = (code: PushError['code'], message: string) => Promise.reject(fail(code, message));

function json(s: string): unknown {
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
 * The methods are closures over the connection's state rather than prototype methods: minified, a
 * closure's variables shrink to one letter where `this.field` would not, which keeps the bundle small.
 *
 * @typeParam E - map of event name to the type of its data, e.g. `{ price: { px: number } }`.
 * @typeParam S - map of the events the client sends to the type of their data; the same as `E` unless given.
 */
export class PushClient<E extends Record<string, any> = Record<string, any>, S extends Record<string, any> = E> {
  /** Lifecycle notifications (`open`, `transport`, `reconnecting`, `gap`, `error`, `close`). */
  readonly lifecycle: Emitter<Lifecycle> = mitt<Lifecycle>();
  /** The current snapshot, replaced on every change; see {@link PushClient.subscribe}. */
  declare readonly status: Status;
  /** Id of the last event delivered; sent on every reconnect so the server resumes after it. */
  declare readonly lastEventId?: string;
  /** Channels joined (or being joined); re-joined by themselves after every reconnect. */
  declare readonly channels: string[];
  /** Calls `fn(data, meta)` for every event named `name`; returns a function that removes it. */
  declare on: <K extends keyof E & string>(name: K, fn: Handler<E[K]>) => () => void;
  /** Like {@link PushClient.on}, for the next event only. */
  declare once: <K extends keyof E & string>(name: K, fn: Handler<E[K]>) => () => void;
  /** Removes a handler added with {@link PushClient.on}. */
  declare off: <K extends keyof E & string>(name: K, fn: Handler<E[K]>) => void;
  /** Calls `fn(event, data, meta)` for every event, whatever its name; returns a function that removes it. */
  declare onAny: (fn: (event: string, data: any, meta: Meta) => void) => () => void;
  /**
   * Calls `fn(status)` now and on every change; returns the unsubscribe function. This is the Svelte
   * store contract, and what React's `useSyncExternalStore` needs.
   */
  declare subscribe: (fn: (s: Status) => void) => () => void;
  /** Starts connecting (done by the constructor unless `autoConnect: false`); after `close()` starts afresh. */
  declare connect: () => void;
  /**
   * Sends an event to the server: over the WebSocket, or as an HTTP POST on SSE and long-poll.
   * While not connected it waits in a bounded queue (`maxQueued`) and goes out in order on open.
   * Resolves when written (WebSocket) or accepted (HTTP); rejects with a `PushError` otherwise.
   */
  declare send: <K extends string>(event: K, data?: K extends keyof S ? S[K] : unknown) => Promise<void>;
  /** Joins a channel; resolves when the server accepts, rejects with `JOIN_REFUSED` when it refuses. */
  declare join: (channel: string) => Promise<void>;
  /** Leaves a channel; resolves when the server has taken note. */
  declare leave: (channel: string) => Promise<void>;
  /** Closes the connection and releases every timer, socket and listener. Pending sends reject with `CLOSED`. */
  declare close: () => void;

  /**
   * @param url - one http(s) or ws(s) URL served by `push-client/server` (the others are derived), or
   *   an object of per-transport URLs (`{ websocket, eventsource, longpoll }`) for plain servers.
   * @throws PushError `BAD_OPTION` naming the option, for any invalid URL or option.
   */
  constructor(url: PushUrl, options?: PushClientOptions) {
    const o = resolveOptions(url, options);
    const { transports: list, reconnect: r } = o;
    const all = this.lifecycle.all;
    /** Event name → handlers; also `ANY` (onAny) and `STATUS` (subscribe). */
    const fns = new Map<string, Set<Fn>>();
    const chans = new Set(o.channels);
    const recent = new Set<string>();
    /** Sends waiting for a connection: called with nothing to go out, or with the error to reject. */
    const queue: ((e?: PushError) => void)[] = [];
    /** Joins and leaves not yet acknowledged, by `$join\tchannel`; and the request number of each sent. */
    const waiting = new Map<string, Waiter>();
    const acks = new Map<number, string>();
    /** Transports being tried (connect or upgrade probe) and their connect timers, stopped on close. */
    const trying = new Map<Transport, ReturnType<typeof setTimeout>>();
    /** Where the transport that worked is remembered: the URLs, whatever the query adds per connect. */
    const key = JSON.stringify(o.urls);
    let status: Status;
    let last = o.lastEventId;
    let reqs = 0;
    /** The open transport and what it is; `plain` is undefined until its first message. */
    let t: Transport | undefined;
    let name: TransportName | null = null;
    let plain: boolean | undefined;
    /**
     * Ids the open transport delivered while an upgrade probe was on its way, and after the upgrade
     * those of them the new transport has yet to replay: it resumes from where the probe was asked
     * for, so it repeats them (or some of them, if a channel was left meanwhile).
     */
    let since: Set<string> | undefined;
    let dup: Set<string> | undefined;
    let best = Math.max(0, list.indexOf(recall(key)!));
    let attempt = 0;
    /** The server's `retry`, a floor under every backoff delay. */
    let floor = 0;
    let seen = 0;
    /** Silence that means dead: `heartbeatTimeout`, or by default longer if the server's heartbeat interval needs it. */
    let quiet = o.heartbeatTimeout;
    let openedAt = 0;
    /** Bumped on every connect pass and on close, so a pass that awaited `query()` knows it is stale. */
    let gen = 0;
    let query: Record<string, string> | undefined;
    let headers: Record<string, string> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let hbTimer: ReturnType<typeof setTimeout> | undefined;
    let upTimer: ReturnType<typeof setTimeout> | undefined;
    let unwatch: (() => void) | undefined;
    /** An EventSource reconnecting by itself after a plain server's `retry:`, for the next SSE attempt to take over. */
    const handover = newHandover();

    /**
     * Runs the app's code (a handler, a lifecycle listener of `k`): if it throws, that is reported and
     * the client goes on, the other listeners too. An `error` listener's throw is not: it would loop.
     */
    const run = (k: string, h: Fn, ...a: unknown[]) => {
      try {
        h(...a);
      } catch (cause) {
        if (k !== 'error') report(fail('HANDLER_ERROR', 'a handler threw', cause));
      }
    };
    const call = (h: Fn, ...a: unknown[]) => run('', h, ...a);
    /** mitt's emit, with each listener run on its own. */
    const emit = <K extends keyof Lifecycle>(k: K, v: Lifecycle[K]) => {
      all.get(k)?.slice().forEach((h) => run(k, h as Fn, v));
      all.get('*')?.slice().forEach((h) => run(k, h as Fn, k, v));
    };
    const report = (e: PushError) => emit('error', e);
    const fire = (k: string, ...a: unknown[]) => fns.get(k)?.forEach((h) => call(h, ...a));
    const on = (k: string, h: Fn) => {
      (fns.get(k) || fns.set(k, new Set()).get(k)!).add(h);
      return () => void fns.get(k)?.delete(h);
    };
    const set = (state: State, error?: PushError) => {
      status = Object.freeze({ state, transport: state === 'open' ? name : null, attempt, lastEventId: last, ...(error && { error }) });
      fire(STATUS, status);
    };
    const closed = () => status.state === 'closed';
    const rejectWaiting = (e: PushError) => {
      waiting.forEach((w) => w.reject(e));
      waiting.clear();
    };

    // ---- connecting -----------------------------------------------------------------------------

    const connect = () => {
      if (status.state !== 'idle' && !closed()) return;
      attempt = 0;
      unwatch = watchPage({
        wake: alive,
        online: () => retryTimer && cycle(), // waiting out a backoff: the network is back, go now
        offline: () => t && drop(t, fail('TRANSPORT_FAILED', 'went offline')),
      });
      set('connecting');
      cycle();
    };

    /** One pass over the transports, from the one that worked last. */
    const cycle = async () => {
      if (closed()) return;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      const g = ++gen;
      try {
        query = typeof o.query === 'function' ? await o.query() : o.query;
        headers = typeof o.headers === 'function' ? await o.headers() : o.headers;
      } catch (cause) {
        if (g === gen) retry(fail('TRANSPORT_FAILED', 'query or headers threw', cause));
        return;
      }
      if (g === gen) tryFrom(best, 0);
    };

    const tryFrom = (start: number, k: number, err?: PushError): void => {
      if (k === list.length) return retry(err);
      const i = (start + k) % list.length;
      attemptOne(
        i,
        (tr, e) => (adopt(tr, i), receive(e)),
        (e) => (e.code === 'UNAUTHORIZED' ? stop(e) : tryFrom(start, k + 1, e)),
      );
    };

    /**
     * Opens transport number `i`. It counts as open only once it delivers a message (our hello, or a
     * plain server's first event) within `connectTimeout`: an open socket that passes nothing is a failure.
     */
    const attemptOne = (i: number, ok: (t: Transport, first: SseEvent) => void, no: (e: PushError) => void) => {
      const n = list[i];
      const u = new URL(o.urls[n]!);
      const q = u.searchParams;
      for (const k in query) q.set(k, query[k]);
      q.set('t', T[n]);
      if (last !== undefined) q.set('lastEventId', last);
      for (const c of chans) q.append('ch', c);
      const tr = TRANSPORTS[n]({ ...o, url: u.href, headers, names: () => [...fns.keys()].filter(isEventName), handover });
      const done = () => (clearTimeout(timer), trying.delete(tr));
      const timer = setTimeout(() => {
        if (done()) tr.stop(), no(fail('TRANSPORT_FAILED', `${n}: no message within ${o.connectTimeout} ms`));
      }, o.connectTimeout);
      tr.onclose = (e) => (ended(e), done() && no(e));
      tr.onerror = report;
      tr.onreceive = (e) => {
        if (e.retry !== undefined) floor = e.retry;
        // A bare `retry:` block is not an event.
        if ((e.data || e.id !== undefined) && done()) ok(tr, e);
      };
      trying.set(tr, timer);
      tr.connect();
    };

    const adopt = (tr: Transport, i: number) => {
      handover.close(); // an EventSource left to reconnect, if another transport opened instead
      t = tr;
      best = i;
      plain = dup = undefined;
      openedAt = seen = Date.now();
      tr.onreceive = receive;
      tr.onclose = (e) => (ended(e), drop(tr, e));
    };

    /** A transport ended on what the peer sent, not on the network: reported as well as acted on. */
    const ended = (e: PushError) => e.code === 'BAD_FRAME' && report(e);

    /** The open transport ended: reconnect after the backoff, or stop for good if the error is fatal. */
    const drop = (tr: Transport, e: PushError) => {
      if (tr !== t) return;
      tr.stop();
      t = undefined;
      endOpen();
      if (e.code === 'UNAUTHORIZED') return stop(e);
      if (Date.now() - openedAt >= r.minUptime) attempt = 0;
      retry(e);
    };

    const endOpen = () => {
      clearTimeout(hbTimer);
      stopProbes();
    };

    const stopProbes = () => {
      clearTimeout(upTimer);
      trying.forEach((timer, p) => (clearTimeout(timer), p.stop()));
      trying.clear();
      since = undefined;
    };

    const retry = (e?: PushError) => {
      if (attempt >= r.maxRetries) return stop(fail('MAX_RETRIES', `gave up after ${attempt} failed attempts`, e));
      // Capped where timers overflow: a longer Retry-After would fire at once, and again, and again.
      const delay = Math.min(Math.max(backoffDelay(r, attempt, floor), e?.retryAfter || 0), LONGEST);
      attempt++;
      const g = gen;
      set('reconnecting', e);
      // Each step only while no subscriber or listener has closed the client (or closed and reconnected it).
      if (g === gen) emit('reconnecting', { attempt, delay, error: e });
      if (g === gen) retryTimer = setTimeout(cycle, delay);
    };

    const stop = (e?: PushError) => {
      if (closed()) return;
      gen++;
      endOpen();
      clearTimeout(retryTimer);
      retryTimer = undefined;
      t?.stop();
      t = undefined;
      handover.close();
      name = null;
      unwatch?.();
      const err = fail('CLOSED', 'client closed', e);
      for (const p of queue.splice(0)) p(err);
      rejectWaiting(err);
      acks.clear();
      set('closed', e);
      emit('close', { error: e });
    };

    // ---- receiving ------------------------------------------------------------------------------

    const receive = (e: SseEvent) => {
      seen = Date.now();
      if (e.retry !== undefined) floor = e.retry;
      if (plain === undefined && (plain = !isHello(e))) {
        // A plain server may number its events afresh on every connection: its ids are no duplicates.
        recent.clear();
        rejectWaiting(fail('SEND_UNSUPPORTED', 'a plain server has no channels'));
        const g = gen;
        opened(true);
        if (g !== gen) return; // a listener closed the client
      }
      if (plain) return void ((e.data || e.id !== undefined) && deliver(e.event, e.data, e.id));
      let f;
      try {
        f = decodeFrame(e);
      } catch (err) {
        return report(err as PushError);
      }
      const ev = f.event;
      if (ev[0] !== '$') return deliver(ev, f.data, f.id, f.channel);
      // A heartbeat with an id stands for an event this client must not get (it sent it): skip past it.
      if (ev === HEARTBEAT) return void (f.id && fresh(f.id));
      const v = json(f.data) as any;
      if (ev === HELLO && typeof v?.cid === 'string') return hello(v);
      if (ev === ACK && typeof v?.r === 'number') return ack(v);
      report(fail('BAD_FRAME', `bad control message ${ev}`));
    };

    const hello = (h: Hello) => {
      if (h.retry! > 0) floor = h.retry!;
      // The server writes a heartbeat when it wrote nothing for `hb` ms: up to twice that passes in
      // silence. Capped where timers overflow (a longer one fires at once, again and again).
      if (!options?.heartbeatTimeout) quiet = Math.min(Math.max(o.heartbeatTimeout, 2 * h.hb + 5000 || 0), LONGEST);
      const g = gen;
      if (!h.replay) emit('gap', { lastEventId: last });
      if (g !== gen) return; // a listener closed the client
      // No event yet: resume from the server's newest id, so a drop before the first event loses nothing.
      last ??= h.last;
      acks.clear();
      for (const ch in h.refused) refused(JOIN + '\t' + ch, h.refused[ch]);
      // Asked for while connecting, perhaps after this connection's `ch` list was sent: ask again.
      waiting.forEach((_, k) => request(k));
      opened(h.replay);
    };

    const opened = (resumed: boolean) => {
      const to = list[best];
      const from = name;
      name = to;
      const g = gen;
      remember(key, to, o.rememberTransport);
      // Queued sends first, so that a send from a listener below goes after them.
      for (const p of queue.splice(0)) p();
      set('open');
      if (g === gen && from !== to) emit('transport', { from, to });
      if (g === gen) emit('open', { transport: to, resumed });
      if (g === gen && !plain) {
        heartbeat();
        if (best && o.upgradeInterval) probe(best); // which waits upgradeInterval first
      }
    };

    const deliver = (event: string, payload: string, id?: string, channel?: string) => {
      if (id !== undefined && !fresh(id)) return;
      let data: unknown;
      try {
        data = (o.decode || json)(payload, event);
      } catch (cause) {
        return report(fail('BAD_FRAME', `cannot decode "${event}"`, cause));
      }
      const meta: Meta = { event, id, transport: name!, channel };
      fire(event, data, meta);
      fire(ANY, event, data, meta);
    };

    /** Takes `id` as the new resume point; `false` when it is a duplicate or replayed after an upgrade. */
    const fresh = (id: string) => {
      if (dup?.delete(id) || recent.has(id)) return false;
      recent.add(id);
      since?.add(id);
      if (recent.size > RECENT) recent.delete(recent.values().next().value!);
      last = id;
      return true;
    };

    const ack = (a: Ack) => {
      const k = acks.get(a.r);
      if (!k) return;
      acks.delete(a.r);
      if (!a.ok) return refused(k, a.error || 'refused');
      waiting.get(k)?.resolve();
      waiting.delete(k);
    };

    /** A join the server refused: the channel is forgotten; `join()` rejects, or for a channel of the options, `error` says so. */
    const refused = (k: string, why: string) => {
      const ch = k.split('\t')[1];
      const w = waiting.get(k);
      const e = fail('JOIN_REFUSED', `join "${ch}" refused: ${why}`);
      chans.delete(ch);
      waiting.delete(k);
      w ? w.reject(e) : report(e);
    };

    // ---- sending --------------------------------------------------------------------------------

    /** `j` is `d` as JSON, made once at `send()`: what the app changes afterwards does not matter. */
    const transmit = (event: string, d: unknown, j?: string) =>
      t!.send(plain ? (typeof d === 'string' ? d : j!) : '{"e":' + JSON.stringify(event) + (j === undefined ? '' : ',"d":' + j) + '}');

    const send = (event: string, d?: unknown) => {
      if (!isEventName(event)) return refuse('BAD_OPTION', 'send: invalid event name');
      if (closed()) return refuse('CLOSED', 'client is closed');
      let j: string | undefined;
      try {
        // Now, not when a queued send goes out: there a throw would stop the queue half-way.
        j = JSON.stringify(d);
      } catch (cause) {
        return Promise.reject(fail('BAD_OPTION', 'send: data is not JSON', cause));
      }
      alive();
      return new Promise<void>((resolve, reject) => {
        const go = (e?: PushError) => (e ? reject(e) : transmit(event, d, j).then(resolve, reject));
        if (status.state === 'open') go();
        else if (queue.length >= o.maxQueued) reject(fail('QUEUE_FULL', `${o.maxQueued} sends already queued`));
        else queue.push(go);
      });
    };

    const control = (kind: string, ch: string) => {
      if (!isChannelName(ch)) return refuse('BAD_OPTION', kind.slice(1) + ': invalid channel name');
      if (closed()) return refuse('CLOSED', 'client is closed');
      if (plain) return refuse('SEND_UNSUPPORTED', 'a plain server has no channels');
      kind === JOIN ? chans.add(ch) : chans.delete(ch);
      // An upgrade probe on its way asked for the old channel list: ask again later with the new one.
      if (t && trying.size) stopProbes(), probe(best);
      return new Promise<void>((resolve, reject) => {
        const k = kind + '\t' + ch;
        waiting.get(k)?.resolve(); // superseded by this request
        // Deleted first, so that it goes after any request made since (a hello sends them in order).
        waiting.delete(k);
        waiting.set(k, { resolve, reject });
        if (status.state === 'open') request(k); // else the next hello sends it
      });
    };

    /** Sends a join or leave; the server answers with an ack (or, if the send is lost, the next hello resends it). */
    const request = (k: string) => {
      const [e, d] = k.split('\t');
      acks.set(++reqs, k);
      t!.send(JSON.stringify({ e, d, r: reqs })).catch(() => {});
    };

    // ---- liveness and upgrade -------------------------------------------------------------------

    const heartbeat = () => {
      hbTimer = setTimeout(() => t && alive() && heartbeat(), quiet / 4);
    };

    /**
     * Checks the heartbeat by the clock, not by a timer alone: after a frozen tab or a sleeping laptop
     * the timer fires late or never, but the first wake-up, visibility change or send sees the silence.
     */
    const alive = () => {
      if (!t || plain) return true;
      // A hidden page does not long-poll, on purpose: that silence is not a dead connection.
      if ((globalThis as { document?: Document }).document?.hidden && name === 'longpoll' && !o.pollWhenHidden) seen = Date.now();
      if (Date.now() - seen <= quiet) return true;
      drop(t, fail('TRANSPORT_FAILED', `no message for ${quiet} ms`));
      return false;
    };

    /** While on a fallback, tries the better transports one by one; the first that says hello takes over. */
    const probe = (i: number): void => {
      const cur = t;
      since = undefined;
      if (!cur) return;
      // Without a resume point the new transport cannot replay what the old one is still delivering.
      if (i >= best || last === undefined) return void (upTimer = setTimeout(probe, o.upgradeInterval, 0));
      since = new Set();
      attemptOne(
        i,
        (tr, e) => {
          if (!isHello(e) || cur !== t) return tr.stop(), probe(best);
          const d = since;
          cur.stop();
          endOpen();
          adopt(tr, i);
          dup = d;
          receive(e);
        },
        () => probe(i + 1),
      );
    };

    Object.defineProperties(this, {
      status: { get: () => status },
      lastEventId: { get: () => last },
      channels: { get: () => [...chans] },
    });
    Object.assign(this, {
      on,
      off: (k: string, h: Fn) => void fns.get(k)?.delete(h),
      once: (k: string, h: Fn) => {
        const off = on(k, (d, m) => (off(), h(d, m)));
        return off;
      },
      onAny: (h: Fn) => on(ANY, h),
      subscribe: (h: Fn) => (h(status), on(STATUS, h)),
      connect,
      send,
      join: (ch: string) => control(JOIN, ch),
      leave: (ch: string) => control(LEAVE, ch),
      close: () => stop(),
    });
    set('idle');
    if (o.autoConnect) connect();
  }
}
