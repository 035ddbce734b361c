import type { IncomingMessage } from 'node:http';
import { LONGEST, PushError } from '../protocol';
import type { Backplane } from './backplane';
import { memoryBackplane } from './memory-backplane';
import { originCheck, type OriginVerdict } from './origins';
import { SERVER_TRANSPORTS } from './transports';
import type { PushServerOptions, TransportName } from './types';

/** Options with every default filled in and every value checked. */
export interface ResolvedOptions<User> {
  path: string;
  heartbeatMs: number;
  retryMs: number;
  /** The transports served. */
  transports: ReadonlySet<TransportName>;
  pollTimeout: number;
  sessionTimeout: number;
  maxBodySize: number;
  maxMessageSize: number;
  maxBufferedBytes: number;
  backplane: Backplane;
  /** `null` when `allowOrigins` was not given. */
  origin: ((req: IncomingMessage) => OriginVerdict) | null;
  /** Given the request as its entry point got it (`hookRequest`). */
  authorize: PushServerOptions<User, any>['authorize'];
  identify: (user: User) => string;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxChannels: number;
  /** `null` when not given: the endpoints then count the socket's (or the fetch host's) address. */
  clientIp: ((req: any) => string) | null;
  onJoin: PushServerOptions<User>['onJoin'];
  onError: (error: unknown) => void;
}

const TRANSPORTS: readonly TransportName[] = SERVER_TRANSPORTS.map((t) => t.name);

function num(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  // Timers above 2^31-1 ms fire at once in Node, so they are refused rather than misbehaving.
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > LONGEST) {
    throw new PushError('BAD_OPTION', `${name} must be an integer from ${min} to ${LONGEST}`);
  }
  return value;
}

/** A connection limit: a positive integer, or `Infinity` for none. */
function limit(name: string, value: number | undefined, fallback: number): number {
  if (value === Infinity) return value;
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= LONGEST)) {
    throw new PushError('BAD_OPTION', `${name} must be a positive integer or Infinity`);
  }
  return value ?? fallback;
}

/** Fills in defaults; throws `BAD_OPTION` naming the first invalid option. */
export function resolveOptions<User>(o: PushServerOptions<User, any>): ResolvedOptions<User> {
  const path = o.path ?? '/push';
  if (typeof path !== 'string' || path[0] !== '/' || /[?#\s]/.test(path)) {
    throw new PushError('BAD_OPTION', 'path must be a pathname starting with "/"');
  }
  const transports = o.transports ?? TRANSPORTS;
  if (!Array.isArray(transports) || transports.some((t) => !TRANSPORTS.includes(t))) {
    throw new PushError('BAD_OPTION', `transports must list ${TRANSPORTS.slice(0, -1).join(', ')} or ${TRANSPORTS.at(-1)}`);
  }
  for (const f of ['authorize', 'identify', 'clientIp', 'onJoin', 'onError'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'function') throw new PushError('BAD_OPTION', f + ' must be a function');
  }
  const pollTimeout = num('pollTimeout', o.pollTimeout, 25_000, 1);
  return {
    path,
    heartbeatMs: num('heartbeatMs', o.heartbeatMs, 15_000, 1),
    retryMs: num('retryMs', o.retryMs, 500, 0),
    transports: new Set(transports),
    pollTimeout,
    sessionTimeout: num('sessionTimeout', o.sessionTimeout, Math.min(2 * pollTimeout + 5000, LONGEST), 1),
    maxBodySize: num('maxBodySize', o.maxBodySize, 65_536, 1),
    maxMessageSize: num('maxMessageSize', o.maxMessageSize, 65_536, 1),
    maxBufferedBytes: num('maxBufferedBytes', o.maxBufferedBytes, 16 * 1024 * 1024, 1),
    backplane: o.backplane ?? memoryBackplane({ history: o.history, historyBytes: o.historyBytes }),
    origin: o.allowOrigins === undefined ? null : originCheck(o.allowOrigins),
    authorize: o.authorize,
    identify: o.identify ?? ((user) => String(JSON.stringify(user))),
    maxConnections: limit('maxConnections', o.maxConnections, 10_000),
    maxConnectionsPerIp: limit('maxConnectionsPerIp', o.maxConnectionsPerIp, 1000),
    maxChannels: limit('maxChannels', o.maxChannels, 1000),
    clientIp: o.clientIp ?? null,
    onJoin: o.onJoin,
    onError: o.onError ?? ((e) => console.error('push-client/server:', e)),
  };
}
