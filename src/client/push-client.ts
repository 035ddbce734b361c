import mitt, { type Emitter } from 'mitt';
import { HEARTBEAT, HELLO, LONGEST, PushError, decodeFrame, isEventName, isHello, type Frame, type Hello, type SseEvent } from '../protocol';
import type { Carry, Transport, TransportDefinition } from '../transports/transport';
import type { ClientInternals, FeatureHooks } from './feature';
import { ANY, STATUS, createListeners, type AppFunction } from './listeners';
import { createLiveness } from './liveness';
import { resolveOptions, type PushClientOptions, type PushUrl } from './options';
import { createResumePoint } from './resume';
import { createSending } from './sending';
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
 * option brings them, and does only what every app needs (fallback over the transports given,
 * reconnect, resume, dedup, liveness, sends that wait for the connection). The rest comes as
 * features in the `features` option: channels, upgrade probes, the page's lifecycle, transport
 * memory, tab sharing. `push-client` is the same class with the three transports and every feature.
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
  /** Channels joined (or being joined); re-joined by themselves after every reconnect. Needs the `channels` feature. */
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
  /** Joins a channel; resolves when the server accepts, rejects with `JOIN_REFUSED` when it refuses. Needs the `channels` feature. */
  declare join: (channel: string) => Promise<void>;
  /** Leaves a channel; resolves when the server has taken note. Needs the `channels` feature. */
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
    /**
     * Counts the turns: a new one begins with every connect pass, close and drop. The app's code,
     * called through `callApp`, may begin one; the step that called it then stops (see createListeners).
     */
    let turn = 0;
    const { handlers, notify, report, dispatch, on, callApp } = createListeners(this.lifecycle, () => turn);
    const resume = createResumePoint(resolved.lastEventId);
    let status: Status;

    // ---- the connection's state ----------------------------------------------------------------
    /** The open transport, its definition, and what its peer is (`plain` is undefined until its first message). */
    let open: Transport | undefined;
    let openDefinition: TransportDefinition | undefined;
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
    /** Why the last attempt of this connect pass failed: the `reason` of a move to another transport. */
    let lastFailure: PushError | undefined;
    /** Transports being tried (connect or upgrade probe) and their connect timers, stopped on close. */
    const trying = new Map<Transport, Timer>();
    let retryTimer: Timer | undefined;
    let query: Record<string, string> | undefined;
    let headers: Record<string, string> | undefined;
    /** What each transport's last attempt left for its next (an EventSource reconnecting by itself, for SSE). */
    const carried = new Map<TransportDefinition, Carry>();
    const dropCarried = () =>
      carried.forEach((carry) => {
        carry.value?.close();
        carry.value = undefined;
      });

    const closed = () => status.state === 'closed';
    const setState = (state: State, error?: PushError) => {
      status = Object.freeze({
        state,
        transport: state === 'open' ? internals.openName! : null,
        attempt,
        lastEventId: resume.get(),
        ...(error && { error }),
        ...internals.statusExtra,
      });
      return dispatch(STATUS, status);
    };

    const liveness = createLiveness(resolved.heartbeatTimeout, !!options?.heartbeatTimeout, {
      watching: () => !!open && !internals.plain,
      silentOnPurpose: () => !!(globalThis as { document?: Document }).document?.hidden && !!openDefinition?.silentWhenHidden?.(resolved),
      dead: (timeout) => drop(open!, fail('TRANSPORT_FAILED', `no message for ${timeout} ms`)),
    });

    const sending = createSending(resolved.maxQueued, {
      state: () => status.state,
      transmit: (event, data, json) =>
        open!.send(
          internals.plain ? (typeof data === 'string' ? data : json!) : '{"e":' + JSON.stringify(event) + (json === undefined ? '' : ',"d":' + json) + '}',
        ),
      touch: () => liveness.alive(),
    });

    // ---- connecting: one pass over the transports, fallback, reconnect --------------------------

    const connect = () => {
      if (status.state !== 'idle' && !closed()) return;
      attempt = 0;
      failingSince = Date.now();
      lastFailure = undefined;
      run('connecting') && setState('connecting') && connectPass();
    };

    /** One pass over the transports, from the one that worked last. */
    const connectPass = async () => {
      if (closed()) return;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      // The app's query and headers functions may close or reopen the client while we wait for them.
      const started = ++turn;
      try {
        query = typeof resolved.query === 'function' ? await resolved.query() : resolved.query;
        headers = typeof resolved.headers === 'function' ? await resolved.headers() : resolved.headers;
      } catch (cause) {
        const e = fail('TRANSPORT_FAILED', 'query or headers threw', cause);
        if (started === turn && report(e)) reconnect(e);
        return;
      }
      // With tab sharing, whether this tab leads or follows decides which transports to try.
      await internals.ready;
      if (started === turn) tryInTurn(internals.preferred, 0);
    };

    /** Tries transport number `start + offset` (wrapping), and the next ones on failure, then reconnects. */
    const tryInTurn = (start: number, offset: number, error?: PushError): void => {
      const transports = internals.transports;
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
     * is a failure. Its outcome is an `attempt` notification, before `opened` or `failed`.
     */
    const attemptTransport: ClientInternals['attempt'] = (index, opened, failed) => {
      const definition = internals.transports[index];
      const name = definition.name;
      /** An upgrade probe is tried while another transport stays open. */
      const probe = !!open;
      const attemptFailed = (error: PushError) => {
        if (!probe) lastFailure = error;
        notify('attempt', { transport: name, outcome: 'failed', error, probe }) && failed(error);
      };
      /** The transport's own code threw (a bug of one written outside this package): reported, and the attempt failed. */
      const threw = (cause: unknown) => {
        const error = fail('TRANSPORT_FAILED', `${name} threw`, cause);
        report(error) && attemptFailed(error);
      };
      const url = new URL(resolved.urls[name]);
      const params = url.searchParams;
      for (const key in query) params.set(key, query[key]);
      params.set('t', definition.tag);
      const lastEventId = resume.get();
      if (lastEventId !== undefined) params.set('lastEventId', lastEventId);
      run('params', params);
      const carry = carried.get(definition) || carried.set(definition, {}).get(definition);
      const options = { ...resolved, url: url.href, headers, names: () => [...handlers.keys()].filter(isEventName), carry };
      let transport: Transport | undefined;
      // A `create` that closed the client (through the app's code) leaves what it made to stop.
      if (!callApp(() => (transport = definition.create(options)), threw)) return transport?.stop();
      const tried = transport!;
      /** Ends the attempt: `false` if it had ended already (or was stopped with the others being tried). */
      const settled = () => (clearTimeout(timer), trying.delete(tried));
      const broke = (cause: unknown) => settled() && (tried.stop(), threw(cause));
      const timer = setTimeout(() => {
        if (settled()) tried.stop(), attemptFailed(fail('TRANSPORT_FAILED', `${name}: no message within ${resolved.connectTimeout} ms`));
      }, resolved.connectTimeout);
      tried.onclose = (e) => (reportPeerFault(e), settled() && attemptFailed(e));
      tried.onerror = report;
      tried.onreceive = (e) => {
        if (e.retry !== undefined) serverRetry = e.retry;
        // A bare `retry:` block is not an event. A listener of `attempt` that closed the client leaves the transport to stop.
        if ((e.data || e.id !== undefined) && settled()) notify('attempt', { transport: name, outcome: 'open', probe }) ? opened(tried, e) : tried.stop();
      };
      trying.set(tried, timer);
      // A transport written outside this package may throw, or connect in an async function that rejects.
      callApp(() => (tried.connect() as unknown as Promise<void> | undefined)?.catch?.(broke), broke);
    };

    /** `transport` is the open one from now on; `upgraded` when it replaces one that was still open. */
    const adopt = (transport: Transport, index: number, upgraded: boolean) => {
      dropCarried(); // an EventSource left to reconnect, if another transport opened instead
      resume.connected(upgraded);
      internals.open = open = transport;
      openDefinition = internals.transports[index];
      internals.preferred = index;
      internals.plain = undefined;
      delivered = false;
      openedAt = Date.now();
      liveness.heard();
      transport.onreceive = receiveFromTransport;
      transport.onclose = (e) => (reportPeerFault(e), drop(transport, e));
    };

    /** A transport ended on what the peer sent, not on the network: reported as well as acted on. */
    const reportPeerFault = (e: PushError) => e.code === 'BAD_FRAME' && report(e);

    /** The open transport ended: reconnect after the backoff, or stop for good if the error is fatal. */
    const drop = (transport: Transport | undefined, e: PushError) => {
      if (!transport || transport !== open) return;
      // A new turn: whatever was announcing this connection (its open, an event) stops there.
      turn++;
      transport.stop();
      internals.open = open = undefined;
      endOpen();
      if (e.code === 'UNAUTHORIZED') return stop(e);
      // A connection that delivered events, or stayed up long enough, was a success.
      if (delivered || Date.now() - openedAt >= resolved.minUptime) (attempt = 0), (failingSince = Date.now());
      reconnect(e);
    };

    const endOpen = () => {
      liveness.stop();
      stopTrying();
    };

    const stopTrying = () => {
      trying.forEach((timer, transport) => (clearTimeout(timer), transport.stop()));
      trying.clear();
      run('ended');
    };

    const reconnect = (e?: PushError) => {
      let policyDelay: number | null | undefined;
      // A policy that throws is reported and ends the client, as SignalR does with a throwing IRetryPolicy.
      const policyThrew = (cause: unknown) => {
        const error = fail('HANDLER_ERROR', 'reconnect policy threw', cause);
        report(error) && stop(error);
      };
      if (!callApp(() => (policyDelay = resolved.reconnect({ attempt, error: e, elapsed: Date.now() - failingSince, serverRetry })), policyThrew)) return;
      if (policyDelay == null) return stop(fail('MAX_RETRIES', `gave up after ${attempt} failed attempts`, e));
      // Never sooner than a Retry-After; capped where timers overflow (a longer delay fires at once, again and again).
      const delay = Math.min(Math.max(policyDelay, e?.retryAfter || 0), LONGEST);
      attempt++;
      setState('reconnecting', e) && notify('reconnecting', { attempt, delay, error: e }) && (retryTimer = setTimeout(connectPass, delay));
    };

    const stop = (e?: PushError) => {
      if (closed()) return;
      turn++;
      endOpen();
      clearTimeout(retryTimer);
      retryTimer = undefined;
      open?.stop();
      internals.open = open = openDefinition = undefined;
      dropCarried();
      lastOpenName = null;
      const error = fail('CLOSED', 'client closed', e);
      sending.flush(error);
      run('stopped', error);
      // A subscriber may reconnect on `closed`: then the close is not announced, the client is connecting.
      setState('closed', e) && notify('close', { error: e });
    };

    // ---- receiving: decode, dedup, resume point -------------------------------------------------

    /** What the open transport delivers: a leading tab passes it on to the tabs that follow. */
    const receiveFromTransport = (e: SseEvent) => {
      run('relay', e);
      receive(e);
    };

    const receive = (e: SseEvent) => {
      liveness.heard();
      if (e.retry !== undefined) serverRetry = e.retry;
      if (internals.plain === undefined && (internals.plain = !isHello(e))) {
        resume.forgetRecent();
        if (!run('plain') || !opened(true)) return;
      }
      if (internals.plain) return void ((e.data || e.id !== undefined) && deliver(e.event, e.data, e.id));
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
      if (!hooks.some((feature) => feature.control?.(event, control))) report(fail('BAD_FRAME', `bad control message ${event}`));
    };

    const hello = (h: Hello) => {
      if (h.retry! > 0) serverRetry = h.retry!;
      liveness.serverInterval(h.hb);
      (h.replay || notify('gap', { lastEventId: resume.get() })) && (resume.startAt(h.last), run('hello', h)) && opened(h.replay);
    };

    /** The connection opened; `false` when the app's code, told of it, ended the turn. */
    const opened = (resumed: boolean): boolean => {
      const from = lastOpenName;
      const to = (internals.openName = open!.name || openDefinition!.name);
      const reason = lastFailure;
      lastOpenName = to;
      lastFailure = undefined;
      // Queued sends first, so that a send from a listener below goes after them.
      sending.flush();
      return (
        setState('open') &&
        (from === to || notify('transport', { from, to, reason })) &&
        notify('open', { transport: to, resumed }) &&
        (internals.plain || liveness.start(), run('opened', internals.plain))
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
      const undecodable = (cause: unknown) => void report(fail('BAD_FRAME', `cannot decode "${event}"`, cause));
      if (!callApp(() => (data = (resolved.decode || jsonOrText)(payload, event)), undecodable)) return;
      // A channel this tab does not hold: a shared connection joins every tab's, and a leave is not
      // acknowledged at once. The resume point moves past it all the same.
      if (channel !== undefined && hooks.some((feature) => feature.accepts?.(channel) === false)) return;
      const meta: Meta = { event, id, transport: internals.openName!, channel };
      // An event handler may close the client: then `onAny` handlers are not told either.
      dispatch(event, data, meta) && dispatch(ANY, event, data, meta);
    };

    // ---- features -------------------------------------------------------------------------------

    const internals: ClientInternals & { open?: Transport; plain?: boolean; openName?: string } = {
      client: this,
      options: resolved,
      resume,
      transports: resolved.transports,
      preferred: 0,
      trying,
      status: () => status,
      notify,
      report,
      attempt: attemptTransport,
      adopt,
      endOpen,
      stopTrying,
      receiveFromTransport,
      receive,
      drop: (e) => drop(open, e),
      reconnectNow: () => retryTimer && connectPass(),
      restart() {
        if (!open && !retryTimer && !trying.size) return; // the first pass has yet to begin
        open?.stop();
        internals.open = open = undefined;
        endOpen();
        attempt = 0;
        setState('connecting') && connectPass();
      },
      alive: () => liveness.alive(),
      control: (text) => void open?.send(text).catch(() => {}),
      refreshStatus: () => setState(status.state, status.error),
    };
    // Without the channels feature, join and leave say what is missing (the feature replaces them).
    const needsChannels = () => Promise.reject(fail('BAD_OPTION', 'join and leave need the channels feature'));
    Object.assign(this, { join: needsChannels, leave: needsChannels });
    Object.defineProperty(this, 'channels', { get: () => [], configurable: true });
    const hooks: FeatureHooks[] = (resolved.features || []).map((feature) => feature(internals));
    /** Calls hook `name` of every feature, in order, until one ends the turn (a hook may call the app's code); returns whether it holds. */
    const run = <K extends keyof FeatureHooks>(name: K, ...args: Parameters<NonNullable<FeatureHooks[K]>>) => {
      const started = turn;
      return hooks.every((feature) => ((feature[name] as ((...a: unknown[]) => void) | undefined)?.(...args), started === turn));
    };

    Object.defineProperty(this, 'status', { get: () => status });
    Object.defineProperty(this, 'lastEventId', { get: resume.get });
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
      close: () => stop(),
    });
    setState('idle');
    if (resolved.autoConnect) connect();
  }
}
