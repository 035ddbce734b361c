/** Reconnect policy, the same on every transport. */
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
  /** A connection must stay up this long (ms) before the attempt count starts again from zero. */
  minUptime: number;
}

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
  const base = Math.min(r.maxDelay, Math.max(r.minDelay, floor) * Math.pow(r.factor, attempt));
  return Math.round(base * (1 - r.jitter * random()));
}
