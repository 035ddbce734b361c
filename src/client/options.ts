import { PushError } from '../protocol';
import type { TransportName } from '../transports/transport';
import { defaultReconnect, type ReconnectOptions } from './backoff';

type MaybeAsync<T> = T | Promise<T>;

/** Options of `new PushClient(url, options)`; every one is optional. */
export interface PushClientOptions {
  /** Fallback order. Default: all three in this order, or the keys of a per-transport URL object. */
  transports?: TransportName[];
  /** ms for one transport to deliver its first message (the hello) before the next is tried. Default 5000. */
  connectTimeout?: number;
  /** Reconnect policy; see {@link ReconnectOptions}. */
  reconnect?: Partial<ReconnectOptions>;
  /** No message or heartbeat for this long (ms) means the connection is dead. Default 45000. */
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
  WebSocket?: typeof WebSocket;
  EventSource?: typeof EventSource;
  fetch?: typeof fetch;
}

/** A URL for every transport, or one http(s)/ws(s) URL for all. */
export type PushUrl = string | Partial<Record<TransportName, string>>;

export const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

/** Options after validation, with defaults filled in. */
export type Resolved = Required<Omit<PushClientOptions, 'reconnect' | 'lastEventId' | 'query' | 'headers' | 'decode' | 'WebSocket' | 'EventSource' | 'fetch' | 'channels'>> &
  Pick<PushClientOptions, 'lastEventId' | 'query' | 'headers' | 'decode' | 'WebSocket' | 'EventSource' | 'fetch' | 'channels'> & {
    reconnect: ReconnectOptions;
    urls: Partial<Record<TransportName, string>>;
  };

function bad(name: string, why: string): never {
  throw new PushError('BAD_OPTION', `push-client: option "${name}" ${why}`);
}

function absolute(url: unknown, name: string): URL {
  if (typeof url !== 'string' || !url) bad(name, 'must be a non-empty URL string');
  try {
    return new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    return bad(name, `is not a valid URL: ${JSON.stringify(url.slice(0, 100))}`);
  }
}

/** Validates everything at construction, so a mistake is a clear error now and not a reconnect loop later. */
export function resolveOptions(url: PushUrl, o: PushClientOptions = {}): Resolved {
  if (typeof o !== 'object' || o === null) bad('options', 'must be an object');
  const urls: Resolved['urls'] = {};
  if (typeof url === 'string' || typeof url !== 'object' || url === null) {
    const u = absolute(url, 'url');
    if (!/^(http|ws)s?:$/.test(u.protocol)) bad('url', `must be http(s) or ws(s), not ${u.protocol}`);
    const http = u.href.replace(/^ws/, 'http');
    for (const t of ALL) urls[t] = t === 'websocket' ? http.replace(/^http/, 'ws') : http;
  } else {
    for (const k of Object.keys(url)) {
      if (!ALL.includes(k as TransportName)) bad('url', `has unknown transport "${k}"`);
      const u = absolute(url[k as TransportName], 'url.' + k);
      const ws = k === 'websocket';
      if (!(ws ? /^wss?:$/ : /^https?:$/).test(u.protocol)) bad('url.' + k, `must be ${ws ? 'ws(s)' : 'http(s)'}`);
      urls[k as TransportName] = u.href;
    }
  }
  const transports = o.transports ?? ALL.filter((t) => urls[t]);
  if (!Array.isArray(transports) || !transports.length) bad('transports', 'must be a non-empty array');
  for (const t of transports) {
    if (!ALL.includes(t)) bad('transports', `has unknown transport "${t}"`);
    if (!urls[t]) bad('transports', `names "${t}" but no URL was given for it`);
  }
  const num = (name: string, v: number | undefined, def: number, min = 0): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || Number.isNaN(v) || v < min) bad(name, `must be a number >= ${min}`);
    return v;
  };
  const r = o.reconnect ?? {};
  const reconnect: ReconnectOptions = {
    minDelay: num('reconnect.minDelay', r.minDelay, defaultReconnect.minDelay),
    maxDelay: num('reconnect.maxDelay', r.maxDelay, defaultReconnect.maxDelay),
    factor: num('reconnect.factor', r.factor, defaultReconnect.factor, 1),
    jitter: num('reconnect.jitter', r.jitter, defaultReconnect.jitter),
    maxRetries: num('reconnect.maxRetries', r.maxRetries, defaultReconnect.maxRetries),
    minUptime: num('reconnect.minUptime', r.minUptime, defaultReconnect.minUptime),
  };
  if (reconnect.jitter > 1) bad('reconnect.jitter', 'must be between 0 and 1');
  if (reconnect.maxDelay < reconnect.minDelay) bad('reconnect.maxDelay', 'must be >= reconnect.minDelay');
  for (const k of ['query', 'headers', 'decode'] as const) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'function' && (k === 'decode' || typeof v !== 'object' || v === null)) {
      bad(k, k === 'decode' ? 'must be a function' : 'must be an object or a function');
    }
  }
  if (o.lastEventId !== undefined && typeof o.lastEventId !== 'string') bad('lastEventId', 'must be a string');
  if (o.channels !== undefined && !Array.isArray(o.channels)) bad('channels', 'must be an array of channel names');
  return {
    ...o,
    urls,
    transports,
    reconnect,
    connectTimeout: num('connectTimeout', o.connectTimeout, 5000, 1),
    heartbeatTimeout: num('heartbeatTimeout', o.heartbeatTimeout, 45000, 1),
    withCredentials: !!o.withCredentials,
    autoConnect: o.autoConnect ?? true,
    maxQueued: num('maxQueued', o.maxQueued, 1000),
    maxMessageSize: num('maxMessageSize', o.maxMessageSize, 1 << 20, 1),
    upgradeInterval: num('upgradeInterval', o.upgradeInterval, 30000),
    rememberTransport: num('rememberTransport', o.rememberTransport, 600000),
    pollWhenHidden: !!o.pollWhenHidden,
  };
}
