/** A refusal: the status and reason to answer with. */
export interface Refusal {
  status: number;
  reason: string;
}

/** Seconds a refused client is asked to wait (`Retry-After`) when a connection limit is reached. */
export const LIMIT_RETRY_AFTER = '5';

/**
 * Counts the connections held, in all and per client address, against `maxConnections` and
 * `maxConnectionsPerIp`. A slot is taken before `authorize` runs, so a flood of connects is refused
 * without calling it, and given back when the connection ends (or is refused later on).
 */
export class ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerIp: number,
  ) {}

  /**
   * Takes a slot for a connection from `ip`: a function that gives it back (idempotent), or the
   * refusal. An unknown address (`null`: a fetch host that gave none) counts under `max` only, since
   * one budget shared by every client would cap the whole server at `maxPerIp`.
   */
  take(ip: string | null): (() => void) | Refusal {
    if (this.total >= this.max) return { status: 503, reason: 'too many connections' };
    const counted = this.maxPerIp !== Infinity && ip !== null;
    const n = counted ? (this.perIp.get(ip!) ?? 0) : 0;
    if (n >= this.maxPerIp) return { status: 429, reason: 'too many connections from this address' };
    this.total++;
    if (counted) this.perIp.set(ip!, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.total--;
      if (!counted) return;
      const m = this.perIp.get(ip!)! - 1;
      if (m > 0) this.perIp.set(ip!, m);
      else this.perIp.delete(ip!);
    };
  }

  /** Connections counted now (for tests and metrics). */
  get size(): number {
    return this.total;
  }
}
