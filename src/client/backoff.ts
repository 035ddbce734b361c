import type { PushError } from '../protocol';

/** The reconnect policy as options: exponential backoff with jitter, the same on every transport. */
export interface ReconnectOptions {
  /** Base delay of the first retry, in ms. */
  minDelay: number;
  /** Cap of any delay, in ms. */
  maxDelay: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Share of each delay that is random: 0 none, 1 full jitter (anywhere from 0 to the delay). */
  jitter: number;
  /** Failed attempts in a row before giving up with `MAX_RETRIES`. */
  maxRetries: number;
  /**
   * A connection must stay up this long (ms) before the attempt count starts again from zero, unless
   * it delivered an event: a connection that delivered events was a success, however short.
   */
  minUptime: number;
}

/** What a reconnect policy is told before each retry. */
export interface RetryContext {
  /** Failed attempts in a row before this one (0 for the first retry after a success). */
  attempt: number;
  /** Why the last attempt failed or the connection ended. */
  error?: PushError;
  /** ms since the client last had a working connection (or since `connect()`). */
  elapsed: number;
  /** The server's `retry` (SSE `retry:` or the hello's), in ms; 0 when it sent none. */
  serverRetry: number;
}

/**
 * A reconnect policy as a function (SignalR's `IRetryPolicy`, in one call): the delay in ms before
 * the next attempt, or `null` to give up (the client closes with `MAX_RETRIES`). The server's
 * `retry` and a `Retry-After` still apply on top: the delay is never shorter than either. (The
 * default policy takes the server's `retry` as the base of its backoff instead, with its jitter.)
 */
export type ReconnectPolicy = (context: RetryContext) => number | null;

export const defaultReconnect: ReconnectOptions = {
  minDelay: 500,
  maxDelay: 30000,
  factor: 2,
  jitter: 0.5,
  maxRetries: Infinity,
  minUptime: 5000,
};

/**
 * Delay before retry number `attempt` (0-based): exponential from `floor` (the larger of `minDelay`
 * and the server's `retry:`), capped at `maxDelay`, minus a random share of up to `jitter`.
 */
export function backoffDelay(r: ReconnectOptions, attempt: number, floor = 0, random = Math.random): number {
  const base = Math.min(r.maxDelay, Math.max(r.minDelay, floor) * r.factor ** attempt);
  return Math.round(base * (1 - r.jitter * random()));
}

/** The options form as a policy: {@link backoffDelay} until `maxRetries` failed attempts. */
export const backoffPolicy =
  (r: ReconnectOptions): ReconnectPolicy =>
  ({ attempt, serverRetry }) =>
    attempt < r.maxRetries ? backoffDelay(r, attempt, serverRetry) : null;
