import type { EventSourceClass } from '../transports/eventsource';
import type { TransportDefinition } from '../transports/transport';
import type { Feature } from './feature';
import { backoffPolicy, defaultReconnect, type ReconnectOptions, type ReconnectPolicy } from './backoff';
import { badOption } from './bad-option';
import { parseUrl } from './url';
import { validateOptions } from './validate';

type MaybeAsync<T> = T | Promise<T>;

/** Options of `new PushClient(url, options)`; every one is optional but `transports` in `push-client/core`. */
export interface PushClientOptions<Transport = TransportDefinition> {
  /**
   * Fallback order. `push-client/core`: the transport values to use (`[webSocket, eventSource]`).
   * `push-client`: their names or values; default all three, or the keys of a per-transport URL object.
   */
  transports?: Transport[];
  /**
   * `push-client/core`: what the client does beyond connecting, sending and receiving, as the
   * feature values you import (`[channels, upgrade, pageLifecycle, transportMemory]`, and `tabSharing` from `push-client/sharing`);
   * an option of a feature not given is ignored. `push-client` has them all and takes none.
   */
  features?: Feature[];
  /** ms for one transport to deliver its first message (the hello) before the next is tried. Default 5000. */
  connectTimeout?: number;
  /**
   * Reconnect policy: options of the default exponential backoff ({@link ReconnectOptions}), or a
   * function `({ attempt, error, elapsed }) => delay | null` (`null` gives up: `MAX_RETRIES`).
   */
  reconnect?: Partial<ReconnectOptions> | ReconnectPolicy;
  /**
   * No message or heartbeat for this long (ms) means the connection is dead. Default 45000, or twice
   * a push-client server's heartbeat interval plus 5 s where that is longer (a server set to beat
   * every 30 s would otherwise look dead between beats). A value given here is used as it is.
   */
  heartbeatTimeout?: number;
  /** Where to resume on the first connect. */
  lastEventId?: string;
  /** Extra query parameters, or a function called before every connect and reconnect (e.g. a fresh token). */
  query?: Record<string, string> | (() => MaybeAsync<Record<string, string>>);
  /** Request headers, or a function called before every connect. Only fetch-based SSE, long-poll and sends can carry them. */
  headers?: Record<string, string> | (() => MaybeAsync<Record<string, string>>);
  /** Send cookies on cross-origin requests. Default false. */
  withCredentials?: boolean;
  /** Connect in the constructor. Default true. */
  autoConnect?: boolean;
  /** Payload string to data. Default: `JSON.parse` where the payload is valid JSON, else the string. */
  decode?: (payload: string, event: string) => unknown;
  /** Channels to join on every connect. */
  channels?: string[];
  /** Sends waiting for a connection, at most. Default 1000. */
  maxQueued?: number;
  /** Longest message accepted, in characters. Default 1 MiB. */
  maxMessageSize?: number;
  /** While on a fallback, try the better transports every this many ms (0: never). Default 30000. */
  upgradeInterval?: number;
  /** How long (ms) to remember which transport worked for this URL. 0 turns it off. Default 10 min. */
  rememberTransport?: number;
  /** Keep long-polling while the page is hidden. Default false. */
  pollWhenHidden?: boolean;
  /**
   * Share one connection among the tabs of this origin (Web Locks and BroadcastChannel; ignored where
   * either is missing, as in Node): `true` groups the tabs with the same URLs, a string names the
   * group (tabs with other credentials or options must use another). Needs a push-client server.
   */
  share?: boolean | string;
  WebSocket?: typeof WebSocket;
  /** An `EventSource` class; `FetchEventSource` (exported here) for SSE with headers or HTTP status codes. Default: the runtime's. */
  EventSource?: EventSourceClass;
  fetch?: typeof fetch;
}

/** A URL for every transport (keyed by the transport's name), or one http(s)/ws(s) URL for all. */
export type PushUrl = string | Partial<Record<string, string>>;

/** Options with defaults filled in. */
export type Resolved = Required<
  Omit<
    PushClientOptions,
    'reconnect' | 'lastEventId' | 'query' | 'headers' | 'decode' | 'WebSocket' | 'EventSource' | 'fetch' | 'channels' | 'share' | 'features'
  >
> &
  Pick<PushClientOptions, 'lastEventId' | 'query' | 'headers' | 'decode' | 'WebSocket' | 'EventSource' | 'fetch' | 'channels' | 'share' | 'features'> & {
    reconnect: ReconnectPolicy;
    minUptime: number;
    /** The URL of each transport, by name. */
    urls: Record<string, string>;
  };

/** Default of each numeric option. */
const DEFAULTS = {
  connectTimeout: 5000,
  heartbeatTimeout: 45000,
  maxQueued: 1000,
  maxMessageSize: 1 << 20,
  upgradeInterval: 30000,
  rememberTransport: 600000,
};

/**
 * Fills in the defaults. Every option is checked in development builds (`validateOptions`, dropped
 * where `process.env.NODE_ENV` is `production`); the URL checks that protect users (no credentials
 * in a URL, only http(s) and ws(s)) run always.
 */
export function resolveOptions(url: PushUrl, options: PushClientOptions = {}): Resolved {
  if (typeof process !== 'undefined' && process.env.NODE_ENV !== 'production') validateOptions(url, options);
  const perTransport = typeof url === 'object' && url;
  const urls: Record<string, string> = {};
  for (const transport of options.transports || []) {
    const name = perTransport ? 'url.' + transport.name : 'url';
    const given = perTransport ? url[transport.name] : url;
    const parsed = parseUrl(given);
    if (!parsed) return badOption(name, 'is not a valid URL');
    // fetch refuses them, and quotes the whole URL (tokens in its query too) in the error.
    if (parsed.username || parsed.password) badOption(name, 'must not hold credentials');
    if (!/^(http|ws)s?:$/.test(parsed.protocol)) badOption(name, 'must be http(s) or ws(s)');
    // One URL serves every transport: its scheme is swapped to the one the transport speaks.
    urls[transport.name] = parsed.href.replace(/^(http|ws)/, transport.scheme);
  }
  const reconnect = options.reconnect;
  const reconnectOptions = { ...defaultReconnect, ...(typeof reconnect === 'object' && reconnect) };
  const resolved = { autoConnect: true, ...options } as Record<string, unknown>;
  for (const key in DEFAULTS) resolved[key] ??= DEFAULTS[key as keyof typeof DEFAULTS];
  return {
    ...resolved,
    urls,
    // The server's `retry` is the base of the default backoff (jitter spreads a crowd below it, as
    // before); under an app's own policy it is a floor.
    reconnect:
      typeof reconnect === 'function'
        ? (context) => {
            const delay = reconnect(context);
            return delay == null ? delay : Math.max(delay, context.serverRetry);
          }
        : backoffPolicy(reconnectOptions),
    minUptime: reconnectOptions.minUptime,
  } as Resolved;
}
