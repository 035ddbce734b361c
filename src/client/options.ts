import { PushError, isChannelName } from '../protocol';
import type { EventSourceClass } from '../transports/eventsource';
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
  WebSocket?: typeof WebSocket;
  /** An `EventSource` class; `FetchEventSource` (exported here) for SSE with headers or HTTP status codes. Default: the runtime's. */
  EventSource?: EventSourceClass;
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

const bad = (name: string, why: string): never => {
  throw new PushError('BAD_OPTION', `push-client: option "${name}" ${why}`);
};

/** The longest timer delay: a longer one fires at once, so it would make a hot loop of a timeout. */
export const LONGEST = 2 ** 31 - 1;

/** Numeric options: default, smallest allowed value, largest allowed value. */
const NUMS = {
  connectTimeout: [5000, 1, LONGEST],
  heartbeatTimeout: [45000, 1, LONGEST],
  maxQueued: [1000, 0],
  maxMessageSize: [1 << 20, 1],
  upgradeInterval: [30000, 0, LONGEST],
  rememberTransport: [600000, 0],
};

/** Options checked by type alone, and the types `typeof` may give. */
const TYPES = { query: 'object|function', headers: 'object|function', decode: 'function', lastEventId: 'string' };

function num(from: any, key: string, [def, min, max = Infinity]: number[], to: any, prefix = ''): void {
  const v = from?.[key] ?? def;
  if (typeof v !== 'number' || !(v >= min && v <= max)) bad(prefix + key, `must be a number >= ${min}` + (max < Infinity ? ' and <= ' + max : ''));
  to[key] = v;
}

/** Validates everything at construction, so a mistake is a clear error now and not a reconnect loop later. */
export function resolveOptions(url: PushUrl, o: PushClientOptions = {}): Resolved {
  if (typeof o !== 'object' || !o) bad('options', 'must be an object');
  const each = typeof url === 'object' && url;
  const urls: Resolved['urls'] = {};
  for (const k of each ? Object.keys(url) : ALL) {
    const name = each ? 'url.' + k : 'url';
    const ws = k === 'websocket';
    const v = each ? url[k as TransportName] : url;
    let u: URL | undefined;
    try {
      if (v && typeof v === 'string') u = new URL(v, (globalThis as { location?: { href: string } }).location?.href);
    } catch {
      /* reported below */
    }
    if (!ALL.includes(k as TransportName)) bad('url', `has unknown transport "${k}"`);
    if (!u) return bad(name, 'is not a valid URL');
    // fetch refuses them, and quotes the whole URL (tokens in its query too) in the error.
    if (u.username || u.password) bad(name, 'must not hold credentials');
    const scheme = /^(http|ws)s?:$/.exec(u.protocol)?.[1];
    if (!scheme || (each && ws !== (scheme === 'ws'))) {
      bad(name, 'must be ' + (each ? (ws ? 'ws(s)' : 'http(s)') : 'http(s) or ws(s)'));
    }
    // One URL serves every transport: its scheme is swapped to suit each.
    urls[k as TransportName] = u.href.replace(/^(http|ws)/, ws ? 'ws' : 'http');
  }
  const r = { ...o, urls, transports: o.transports ?? ALL.filter((t) => urls[t]), reconnect: {} } as Resolved;
  const rc = r.reconnect;
  for (const k in NUMS) num(o, k, NUMS[k as keyof typeof NUMS], r);
  for (const k in defaultReconnect) num(o.reconnect, k, [defaultReconnect[k as keyof ReconnectOptions], +(k === 'factor')], rc, 'reconnect.');
  if (rc.jitter > 1) bad('reconnect.jitter', 'must be between 0 and 1');
  if (rc.maxDelay < rc.minDelay) bad('reconnect.maxDelay', 'must be >= reconnect.minDelay');
  if (!Array.isArray(r.transports) || !r.transports.length) bad('transports', 'must be a non-empty array');
  for (const t of r.transports) if (!urls[t]) bad('transports', `names "${t}", which has no URL`);
  for (const k in TYPES) {
    const v = o[k as keyof typeof TYPES];
    if (v != null && !TYPES[k as keyof typeof TYPES].includes(typeof v)) bad(k, 'must be of type ' + TYPES[k as keyof typeof TYPES]);
  }
  if (o.channels != null && !(Array.isArray(o.channels) && o.channels.every(isChannelName))) bad('channels', 'must be an array of channel names');
  // A native EventSource cannot send headers: sending none would fail auth in a loop.
  if (o.headers && !o.EventSource && r.transports.includes('eventsource')) {
    bad('headers', 'needs options.EventSource: FetchEventSource for SSE');
  }
  r.autoConnect = o.autoConnect ?? true;
  return r;
}
