import { PushError, isChannelName } from '../protocol';
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

const bad = (name: string, why: string): never => {
  throw new PushError('BAD_OPTION', `push-client: option "${name}" ${why}`);
};

/** An absolute URL of one of the `schemes`; credentials refused (fetch quotes the whole URL, tokens too, in its error). */
function absolute(url: unknown, name: string, schemes: string): string {
  let u: URL | undefined;
  try {
    if (url && typeof url === 'string') u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    /* reported below */
  }
  if (!u) return bad(name, 'is not a valid URL');
  if (u.username || u.password) bad(name, 'must not hold credentials');
  // The scheme list reads as the message ("http(s) or ws(s)") and is turned into the test.
  if (!new RegExp(`^(${schemes.replace(/\(s\)/g, 's?').replace(' or ', '|')}):$`).test(u.protocol)) bad(name, 'must be ' + schemes);
  return u.href;
}

/** Numeric options: name, default, smallest allowed value. */
const NUMS: [keyof PushClientOptions, number, number][] = [
  ['connectTimeout', 5000, 1],
  ['heartbeatTimeout', 45000, 1],
  ['maxQueued', 1000, 0],
  ['maxMessageSize', 1 << 20, 1],
  ['upgradeInterval', 30000, 0],
  ['rememberTransport', 600000, 0],
];

function num(from: any, to: any, key: string, def: number, min: number, prefix = ''): void {
  const v = from[key] ?? def;
  if (typeof v !== 'number' || !(v >= min)) bad(prefix + key, `must be a number >= ${min}`);
  to[key] = v;
}

/** Validates everything at construction, so a mistake is a clear error now and not a reconnect loop later. */
export function resolveOptions(url: PushUrl, o: PushClientOptions = {}): Resolved {
  if (typeof o !== 'object' || !o) bad('options', 'must be an object');
  const urls: Resolved['urls'] = {};
  if (typeof url === 'object' && url) {
    for (const k in url) {
      if (!ALL.includes(k as TransportName)) bad('url', `has unknown transport "${k}"`);
      urls[k as TransportName] = absolute(url[k as TransportName], 'url.' + k, k === 'websocket' ? 'ws(s)' : 'http(s)');
    }
  } else {
    const href = absolute(url, 'url', 'http(s) or ws(s)');
    for (const t of ALL) urls[t] = href.replace(/^(http|ws)/, t === 'websocket' ? 'ws' : 'http');
  }
  const r = { ...o, urls, transports: o.transports ?? ALL.filter((t) => urls[t]) } as Resolved;
  if (!Array.isArray(r.transports) || !r.transports.length) bad('transports', 'must be a non-empty array');
  for (const t of r.transports) if (!urls[t]) bad('transports', `names "${t}" but no URL was given for it`);
  for (const [k, def, min] of NUMS) num(o, r, k, def, min);
  const rc = (r.reconnect = {} as ReconnectOptions);
  for (const k in defaultReconnect) {
    num(o.reconnect || {}, rc, k, defaultReconnect[k as keyof ReconnectOptions], +(k === 'factor'), 'reconnect.');
  }
  if (rc.jitter > 1) bad('reconnect.jitter', 'must be between 0 and 1');
  if (rc.maxDelay < rc.minDelay) bad('reconnect.maxDelay', 'must be >= reconnect.minDelay');
  for (const k of ['query', 'headers', 'decode'] as const) {
    const v = o[k];
    if (v != null && typeof v !== 'function' && (k === 'decode' || typeof v !== 'object')) bad(k, 'has the wrong type');
  }
  // A native EventSource cannot send headers: silently sending none would fail auth in a loop.
  if (o.headers && !o.EventSource && r.transports.includes('eventsource')) {
    bad('headers', 'needs an EventSource that sends them (options.EventSource: FetchEventSource) for SSE');
  }
  if (o.lastEventId != null && typeof o.lastEventId !== 'string') bad('lastEventId', 'must be a string');
  if (o.channels != null && !(Array.isArray(o.channels) && o.channels.every(isChannelName))) bad('channels', 'must be an array of channel names');
  r.autoConnect = o.autoConnect ?? true;
  return r;
}
