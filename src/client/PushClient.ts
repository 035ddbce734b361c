import mitt, { type Emitter } from 'mitt';
import { ACK, HEARTBEAT, HELLO, LONGEST, PushError, decodeFrame, isEventName, isHello, type Ack, type Frame, type Hello, type SseEvent } from '../protocol';
import type { Carry, Transport, TransportDefinition } from '../transports/transport';
import { createChannels } from './channels';
import { ANY, STATUS, createListeners, type AppFunction } from './listeners';
import { createLiveness } from './liveness';
import { recall, remember } from './memory';
import { resolveOptions, type PushClientOptions, type PushUrl } from './options';
import { watchPage } from './page';
import { createResumePoint } from './resume';
import { createSending } from './sending';
import type { ShareSeam } from './share';
import type { Lifecycle, Meta, State, Status } from './state';

type Handler<D> = (data: D, meta: Meta) => void;
type Timer = ReturnType<typeof setTimeout>;

const fail = (code: PushError['code'], message: string, cause?: unknown) => new PushError(code, message, { cause });

/** The default `decode`: JSON where the payload is JSON, else the string itself. */
function jsonOrText(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

/**
 * One typed client over WebSocket, Server-Sent Events and HTTP long-poll: the same events, one
 * reconnect policy and one last-event-id whichever transport the network allows.
 *
 * This is the open core (`push-client/core`): it knows no transport of its own, the `transports`
 * option brings them. `push-client` is the same class with the three built in, by name.
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
   * @throws PushError `BAD_OPTION` naming the option, for an invalid URL (always) or option (in development builds).
   */
  constructor(url: PushUrl, options?: PushClientOptions) {
    const resolved = resolveOptions(url, options);
    let transports = resolved.transports;
    const { handlers, notify, dispatch, on } = createListeners(this.lifecycle);
    const resume = createResumePoint(resolved.lastEventId);
    /** Where the transport that worked is remembered: the URLs, whatever the query adds per connect. */
    const memoryKey = JSON.stringify(resolved.urls);
    let status: Status;

    // ---- the connection's state ----------------------------------------------------------------
    /** The open transport, its definition, and what its peer is (`plain` is undefined until its first message). */
    let open: Transport | undefined;
    let openDefinition: TransportDefinition | undefined;
    /** The name shown in status and meta: the open transport's, or the one it relays (a shared tab's leader's). */
    let openName: string | undefined;
    let plain: boolean | undefined;
    /** Index (in `transports`) of the transport that worked last: each pass starts there. */
    let preferred = Math.max(
      0,
      transports.findIndex((t) => t.name === recall(memoryKey)),
    );
    /** Failed attempts in a row, and when the run of failures started (for the policy's `elapsed`). */
    let attempt = 0;
    let failingSince = 0;
    /** The server's `retry`, a floor under every reconnect delay. */
    let serverRetry = 0;
    let openedAt = 0;
    /** The transport of the last open connection, for `transport` notifications' `from`. */
    let lastOpenName: string | null = null;
    /** Whether the open connection moved the resume point: then it was a success, however short. */
    let delivered = false;
    /** Transports being tried (connect or upgrade probe) and their connect timers, stopped on close. */
    const trying = new Map<Transport, Timer>();
    let retryTimer: Timer | undefined;
    let upgradeTimer: Timer | undefined;
    let unwatchPage: (() => void) | undefined;
    let query: Record<string, string> | undefined;
    let headers: Record<string, string> | undefined;
    /** What each transport's last attempt left for its next (an EventSource reconnecting by itself, for SSE). */
    const carried = new Map<TransportDefinition, Carry>();
    const dropCarried = () =>
      carried.forEach((carry) => {
        carry.value?.close();
        carry.value = undefined;
      });

    /**
     * Bumped on every connect pass and on close. The one guard for "the app's code closed (or closed
     * and reopened) the client while we were calling it": `inTurn` runs steps one after another and
     * stops as soon as one of them (a listener it called) changed the generation.
     */
    let generation = 0;
    const inTurn = (...steps: (() => unknown)[]): boolean => {
      const started = generation;
      for (const step of steps) {
        if (started !== generation) return false;
        step();
      }
      return started === generation;
    };

    const report = (e: PushError) => notify('error', e);
    const closed = () => status.state === 'closed';
    const setState = (state: State, error?: PushError) => {
      status = Object.freeze({
        state,
        transport: state === 'open' ? openName! : null,
        attempt,
        lastEventId: resume.get(),
        ...(error && { error }),
        ...(shareStatus && { share: shareStatus }),
      });
      dispatch(STATUS, status);
    };

    const liveness = createLiveness(resolved.heartbeatTimeout, !!options?.heartbeatTimeout, {
      watching: () => !!open && !plain,
      silentOnPurpose: () => !!(globalThis as { document?: Document }).document?.hidden && !!openDefinition?.silentWhenHidden?.(resolved),
      dead: (timeout) => drop(open!, fail('TRANSPORT_FAILED', `no message for ${timeout} ms`)),
    });

    const channels = createChannels(resolved.channels, {
      isOpen: () => status.state === 'open',
      isClosed: closed,
      send: (text) => void (seam?.control?.(text) || open!.send(text).catch(() => {})),
      plain: () => plain,
      // An upgrade probe on its way asked for the old channel list: ask again later with the new one.
      changed: () => open && trying.size && (stopProbes(), probe(preferred)),
      report,
    });

    const sending = createSending(resolved.maxQueued, {
      state: () => status.state,
      transmit: (event, data, json) =>
        open!.send(plain ? (typeof data === 'string' ? data : json!) : '{"e":' + JSON.stringify(event) + (json === undefined ? '' : ',"d":' + json) + '}'),
      touch: () => liveness.alive(),
    });

    // ---- connecting: one pass over the transports, fallback, reconnect --------------------------

    const connect = () => {
      if (status.state !== 'idle' && !closed()) return;
      attempt = 0;
      failingSince = Date.now();
      if (shareName) joinShareGroup(shareName);
      unwatchPage = watchPage({
        wake: liveness.alive,
        online: () => retryTimer && connectPass(), // waiting out a backoff: the network is back, go now
        offline: () => open && drop(open, fail('TRANSPORT_FAILED', 'went offline')),
      });
      setState('connecting');
      connectPass();
    };

    /** One pass over the transports, from the one that worked last. */
    const connectPass = async () => {
      if (closed()) return;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      const started = ++generation;
      try {
        query = typeof resolved.query === 'function' ? await resolved.query() : resolved.query;
        headers = typeof resolved.headers === 'function' ? await resolved.headers() : resolved.headers;
      } catch (cause) {
        if (started === generation) reconnect(fail('TRANSPORT_FAILED', 'query or headers threw', cause));
        return;
      }
      // With `share`, whether this tab leads or follows decides which transports to try.
      await sharing;
      if (started === generation) tryInTurn(preferred, 0);
    };

    /** Tries transport number `start + offset` (wrapping), and the next ones on failure, then reconnects. */
    const tryInTurn = (start: number, offset: number, error?: PushError): void => {
      if (offset === transports.length) return reconnect(error);
      const index = (start + offset) % transports.length;
      attemptTransport(
        index,
        (transport, first) => (adopt(transport, index, false), receiveFromTransport(first)),
        (e) => (e.code === 'UNAUTHORIZED' ? stop(e) : tryInTurn(start, offset + 1, e)),
      );
    };

    /**
     * Opens transport number `index`. It counts as open only once it delivers a message (our hello,
     * or a plain server's first event) within `connectTimeout`: an open socket that passes nothing
     * is a failure.
     */
    const attemptTransport = (index: number, opened: (t: Transport, first: SseEvent) => void, failed: (e: PushError) => void) => {
      const definition = transports[index];
      const url = new URL(resolved.urls[definition.name]);
      const params = url.searchParams;
      for (const key in query) params.set(key, query[key]);
      params.set('t', definition.tag);
      const lastEventId = resume.get();
      if (lastEventId !== undefined) params.set('lastEventId', lastEventId);
      for (const channel of new Set([...channels.joined, ...(seam?.otherChannels?.() || [])])) params.append('ch', channel);
      const carry = carried.get(definition) || carried.set(definition, {}).get(definition);
      const transport = definition.create({ ...resolved, url: url.href, headers, names: () => [...handlers.keys()].filter(isEventName), carry });
      const settled = () => (clearTimeout(timer), trying.delete(transport));
      const timer = setTimeout(() => {
        if (settled()) transport.stop(), failed(fail('TRANSPORT_FAILED', `${definition.name}: no message within ${resolved.connectTimeout} ms`));
      }, resolved.connectTimeout);
      transport.onclose = (e) => (reportPeerFault(e), settled() && failed(e));
      transport.onerror = report;
      transport.onreceive = (e) => {
        if (e.retry !== undefined) serverRetry = e.retry;
        // A bare `retry:` block is not an event.
        if ((e.data || e.id !== undefined) && settled()) opened(transport, e);
      };
      trying.set(transport, timer);
      transport.connect();
    };

    /** `transport` is the open one from now on; `upgraded` when it replaces one that was still open. */
    const adopt = (transport: Transport, index: number, upgraded: boolean) => {
      dropCarried(); // an EventSource left to reconnect, if another transport opened instead
      resume.connected(upgraded);
      open = transport;
      openDefinition = transports[index];
      preferred = index;
      plain = undefined;
      delivered = false;
      openedAt = Date.now();
      liveness.heard();
      transport.onreceive = receiveFromTransport;
      transport.onclose = (e) => (reportPeerFault(e), drop(transport, e));
    };

    /** A transport ended on what the peer sent, not on the network: reported as well as acted on. */
    const reportPeerFault = (e: PushError) => e.code === 'BAD_FRAME' && report(e);

    /** The open transport ended: reconnect after the backoff, or stop for good if the error is fatal. */
    const drop = (transport: Transport, e: PushError) => {
      if (transport !== open) return;
      transport.stop();
      open = undefined;
      endOpen();
      if (e.code === 'UNAUTHORIZED') return stop(e);
      // A connection that delivered events, or stayed up long enough, was a success.
      if (delivered || Date.now() - openedAt >= resolved.minUptime) (attempt = 0), (failingSince = Date.now());
      reconnect(e);
    };

    const endOpen = () => {
      liveness.stop();
      stopProbes();
    };

    const stopProbes = () => {
      clearTimeout(upgradeTimer);
      trying.forEach((timer, transport) => (clearTimeout(timer), transport.stop()));
      trying.clear();
      resume.watchProbe(false);
    };

    const reconnect = (e?: PushError) => {
      const policyDelay = resolved.reconnect({ attempt, error: e, elapsed: Date.now() - failingSince, serverRetry });
      if (policyDelay == null) return stop(fail('MAX_RETRIES', `gave up after ${attempt} failed attempts`, e));
      // Never sooner than a Retry-After; capped where timers overflow (a longer delay fires at once, again and again).
      const delay = Math.min(Math.max(policyDelay, e?.retryAfter || 0), LONGEST);
      attempt++;
      inTurn(
        () => setState('reconnecting', e),
        () => notify('reconnecting', { attempt, delay, error: e }),
        () => (retryTimer = setTimeout(connectPass, delay)),
      );
    };

    const stop = (e?: PushError) => {
      if (closed()) return;
      generation++;
      endOpen();
      clearTimeout(retryTimer);
      retryTimer = undefined;
      open?.stop();
      open = openDefinition = undefined;
      dropCarried();
      lastOpenName = null;
      unwatchPage?.();
      leaveGroup?.();
      leaveGroup = sharing = undefined;
      const error = fail('CLOSED', 'client closed', e);
      sending.flush(error);
      channels.rejectAll(error);
      setState('closed', e);
      notify('close', { error: e });
    };

    // ---- receiving: decode, dedup, resume point -------------------------------------------------

    /** What the open transport delivers: a leading tab passes it on to the tabs that follow. */
    const receiveFromTransport = (e: SseEvent) => {
      seam?.relay?.(e);
      receive(e);
    };

    const receive = (e: SseEvent) => {
      liveness.heard();
      if (e.retry !== undefined) serverRetry = e.retry;
      if (plain === undefined && (plain = !isHello(e))) {
        resume.forgetRecent();
        channels.rejectAll(fail('SEND_UNSUPPORTED', 'a plain server has no channels'));
        if (!inTurn(() => opened(true))) return;
      }
      if (plain) return void ((e.data || e.id !== undefined) && deliver(e.event, e.data, e.id));
      let frame: Frame;
      try {
        frame = decodeFrame(e);
      } catch (error) {
        return report(error as PushError);
      }
      const event = frame.event;
      if (event[0] !== '$') return deliver(event, frame.data, frame.id, frame.channel);
      // A heartbeat with an id stands for an event this client must not get (it sent it): skip past it.
      if (event === HEARTBEAT) return void (frame.id && resume.accept(frame.id));
      const control = jsonOrText(frame.data) as any;
      if (event === HELLO && typeof control?.cid === 'string') return hello(control);
      if (event === ACK && typeof control?.r === 'number') return channels.ack(control as Ack);
      report(fail('BAD_FRAME', `bad control message ${event}`));
    };

    const hello = (h: Hello) => {
      if (h.retry! > 0) serverRetry = h.retry!;
      liveness.serverInterval(h.hb);
      inTurn(
        () => h.replay || notify('gap', { lastEventId: resume.get() }),
        () => resume.startAt(h.last),
        () => channels.hello(h),
        () => opened(h.replay),
      );
    };

    const opened = (resumed: boolean) => {
      const from = lastOpenName;
      const to = (openName = open!.name || openDefinition!.name);
      lastOpenName = to;
      remember(memoryKey, to, resolved.rememberTransport);
      inTurn(
        // Queued sends first, so that a send from a listener below goes after them.
        () => sending.flush(),
        () => setState('open'),
        () => from !== to && notify('transport', { from, to }),
        () => notify('open', { transport: to, resumed }),
        () => {
          if (plain) return;
          liveness.start();
          if (preferred && resolved.upgradeInterval) probe(preferred); // which waits upgradeInterval first
        },
      );
    };

    const deliver = (event: string, payload: string, id?: string, channel?: string) => {
      if (id !== undefined) {
        if (!resume.accept(id)) return;
        // Progress: reconnecting at once after this connection ends will be productive. (A server that
        // opens, says the same thing and closes, moves nothing, and still sees growing delays.)
        delivered = true;
      }
      let data: unknown;
      try {
        data = (resolved.decode || jsonOrText)(payload, event);
      } catch (cause) {
        return report(fail('BAD_FRAME', `cannot decode "${event}"`, cause));
      }
      // A channel this tab does not hold: a shared connection joins every tab's, and a leave is not
      // acknowledged at once. The resume point moves past it all the same.
      if (channel !== undefined && !channels.joined.has(channel)) return;
      const meta: Meta = { event, id, transport: openName!, channel };
      dispatch(event, data, meta);
      dispatch(ANY, event, data, meta);
    };

    // ---- upgrade back to a better transport -----------------------------------------------------

    /** While on a fallback, tries the better transports one by one; the first that says hello takes over. */
    const probe = (index: number): void => {
      const current = open;
      resume.watchProbe(false);
      if (!current) return;
      // Without a resume point the new transport cannot replay what the old one is still delivering.
      if (index >= preferred || resume.get() === undefined) return void (upgradeTimer = setTimeout(probe, resolved.upgradeInterval, 0));
      resume.watchProbe(true);
      attemptTransport(
        index,
        (transport, first) => {
          if (!isHello(first) || current !== open) return (transport.stop(), probe(preferred));
          current.stop();
          adopt(transport, index, true);
          endOpen();
          receiveFromTransport(first);
        },
        () => probe(index + 1),
      );
    };

    // ---- sharing one connection among tabs (loaded only when asked for) --------------------------

    const shareName =
      resolved.share && typeof navigator === 'object' && navigator.locks && typeof BroadcastChannel === 'function'
        ? 'push-client:' + (resolved.share === true ? memoryKey : resolved.share)
        : undefined;
    let shareStatus: Status['share'];
    /** Settles once this tab knows whether it leads or follows; `undefined` without sharing. */
    let sharing: Promise<unknown> | undefined;
    let leaveGroup: (() => void) | undefined;
    let seam: ShareSeam | undefined;
    const joinShareGroup = (name: string) => {
      // The leader may be a background tab: it must not pause long-polling for the group.
      resolved.pollWhenHidden = true;
      let decided: () => void;
      sharing = new Promise<void>((resolve) => (decided = resolve));
      seam = {
        name,
        client: this,
        use(list = resolved.transports) {
          // A follower's transport has no URL of its own: it carries the resume point and channels in the first one's.
          for (const transport of list) resolved.urls[transport.name] ??= resolved.urls[resolved.transports[0].name];
          transports = list;
          preferred = 0;
          decided();
          if (!open && !retryTimer && !trying.size) return; // the first pass has yet to begin
          open?.stop();
          open = undefined;
          endOpen();
          attempt = 0;
          setState('connecting');
          connectPass();
        },
        reconnectNow: () => retryTimer && connectPass(),
        transmit: (text) => (open ? open.send(text) : Promise.reject(fail('SEND_FAILED', 'not connected'))),
        inject: receive,
        setShare(share) {
          shareStatus = share;
          setState(status.state, status.error);
        },
      };
      import('./share').then(({ joinGroup }) => {
        if (sharing && !closed()) leaveGroup = joinGroup(seam!);
      });
    };

    Object.defineProperties(this, {
      status: { get: () => status },
      lastEventId: { get: resume.get },
      channels: { get: () => [...channels.joined] },
    });
    Object.assign(this, {
      on,
      off: (name: string, handler: AppFunction) => void handlers.get(name)?.delete(handler),
      once: (name: string, handler: AppFunction) => {
        const off = on(name, (data, meta) => (off(), handler(data, meta)));
        return off;
      },
      onAny: (handler: AppFunction) => on(ANY, handler),
      subscribe: (handler: AppFunction) => (handler(status), on(STATUS, handler)),
      connect,
      send: sending.send,
      join: channels.join,
      leave: channels.leave,
      close: () => stop(),
    });
    setState('idle');
    if (resolved.autoConnect) connect();
  }
}
