import { LONGEST, isChannelName } from '../protocol';
import { badOption } from './bad-option';
import { parseUrl } from './url';
import type { TransportDefinition } from '../transports/transport';
import { defaultReconnect, type ReconnectOptions } from './backoff';
import type { PushClientOptions, PushUrl } from './options';

/** Numeric options: smallest and largest allowed value. */
const NUMBERS: Record<string, [min: number, max?: number]> = {
  connectTimeout: [1, LONGEST],
  heartbeatTimeout: [1, LONGEST],
  maxQueued: [0],
  maxMessageSize: [1],
  upgradeInterval: [0, LONGEST],
  rememberTransport: [0],
};

/** Options checked by type alone, and the types `typeof` may give. */
const TYPES = { query: 'object|function', headers: 'object|function', decode: 'function', lastEventId: 'string', share: 'boolean|string' };

function checkNumber(value: unknown, name: string, [min, max = Infinity]: [number, number?]): void {
  if (value == null) return;
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    badOption(name, `must be a number >= ${min}` + (max < Infinity ? ' and <= ' + max : ''));
  }
}

const isTransport = (t: unknown): t is TransportDefinition =>
  typeof (t as TransportDefinition)?.create === 'function' && typeof (t as TransportDefinition).name === 'string';

/**
 * Checks every option, so that a mistake is a clear `BAD_OPTION` naming it at construction and not
 * a reconnect loop later. Runs in development builds only: production bundles drop it.
 */
export function validateOptions(url: PushUrl, options: PushClientOptions): void {
  if (typeof options !== 'object' || !options) badOption('options', 'must be an object');
  const { transports } = options;
  const perTransport = typeof url === 'object' && url;
  const names = Array.isArray(transports) ? transports.map((t) => (t as TransportDefinition)?.name) : [];
  if (!transports?.length && perTransport) for (const key in url) badOption('url', `has unknown transport "${key}"`);
  if (!Array.isArray(transports) || !transports.length) badOption('transports', 'must be a non-empty array');
  for (const t of transports!) if (!isTransport(t)) badOption('transports', `names "${t}", which is no transport`);
  for (const transport of transports!)
    if (perTransport && url[transport.name] === undefined) badOption('transports', `names "${transport.name}", which has no URL`);
  for (const key of perTransport ? Object.keys(url) : []) if (!names.includes(key)) badOption('url', `has unknown transport "${key}"`);
  for (const transport of transports!) {
    const name = perTransport ? 'url.' + transport.name : 'url';
    const given = perTransport ? url[transport.name] : url;
    const parsed = parseUrl(given);
    if (!parsed) return badOption(name, 'is not a valid URL');
    const scheme = /^(http|ws)s?:$/.exec(parsed.protocol)?.[1];
    if (perTransport && scheme && scheme !== transport.scheme) badOption(name, `must be ${transport.scheme}(s)`);
  }
  for (const key in NUMBERS) checkNumber(options[key as keyof PushClientOptions], key, NUMBERS[key]);
  const reconnect = options.reconnect;
  if (reconnect != null && typeof reconnect !== 'function') {
    if (typeof reconnect !== 'object') badOption('reconnect', 'must be an object or a function');
    for (const key in defaultReconnect) checkNumber(reconnect[key as keyof ReconnectOptions], 'reconnect.' + key, [+(key === 'factor')]);
    const merged = { ...defaultReconnect, ...reconnect };
    if (merged.jitter > 1) badOption('reconnect.jitter', 'must be between 0 and 1');
    if (merged.maxDelay < merged.minDelay) badOption('reconnect.maxDelay', 'must be >= reconnect.minDelay');
  }
  for (const key in TYPES) {
    const value = options[key as keyof typeof TYPES];
    if (value != null && !TYPES[key as keyof typeof TYPES].includes(typeof value)) badOption(key, 'must be of type ' + TYPES[key as keyof typeof TYPES]);
  }
  if (options.features != null && !(Array.isArray(options.features) && options.features.every((feature) => typeof feature === 'function'))) {
    badOption('features', 'must be an array of features (channels, upgrade, ...)');
  }
  if (options.channels != null && !(Array.isArray(options.channels) && options.channels.every(isChannelName))) {
    badOption('channels', 'must be an array of channel names');
  }
  // A native EventSource cannot send headers: sending none would fail auth in a loop.
  if (options.headers && !options.EventSource && names.includes('eventsource')) {
    badOption('headers', 'needs options.EventSource: FetchEventSource for SSE');
  }
}
