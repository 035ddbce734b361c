import { PushError } from '../protocol';
import type { Backplane, BackplaneEntry } from './backplane';
import { newEpoch } from './ids';

/** Options of {@link memoryBackplane}. */
export interface MemoryBackplaneOptions {
  /** How many published entries are kept for resume. Default 1000; 0 keeps none. */
  history?: number;
}

/**
 * The embedded default backplane: one process, history in a bounded ring buffer.
 *
 * Ids are `<epoch>:<seq>`. The epoch is random per instance, so an id from an earlier process (or
 * another server) is never mistaken for one of ours: replaying it reports a gap.
 */
export function memoryBackplane(options: MemoryBackplaneOptions = {}): Backplane {
  const history = options.history ?? 1000;
  if (!Number.isSafeInteger(history) || history < 0) {
    throw new PushError('BAD_OPTION', 'history must be a non-negative integer');
  }
  return new MemoryBackplane(history);
}

class MemoryBackplane implements Backplane {
  readonly epoch = newEpoch();
  private readonly prefix = this.epoch + ':';
  private readonly ring: BackplaneEntry[];
  /** Sequence number of the newest entry with an id; ids start at 1. */
  private seq = 0;
  private onEntry: ((e: BackplaneEntry) => void) | null = null;
  private closed = false;

  constructor(private readonly capacity: number) {
    this.ring = new Array<BackplaneEntry>(capacity);
  }

  start(onEntry: (e: BackplaneEntry) => void): void {
    if (this.onEntry || this.closed) throw new PushError('BAD_OPTION', 'a memory backplane serves one push server');
    this.onEntry = onEntry;
  }

  publish(entry: BackplaneEntry): Promise<string> {
    if (this.closed) return Promise.reject(new PushError('CLOSED', 'backplane closed'));
    // A copy of one fixed shape (absent fields as undefined) keeps fan-out and replay monomorphic.
    const targeted = entry.target !== undefined;
    const id = targeted ? '' : this.prefix + ++this.seq;
    const e: BackplaneEntry = {
      id: targeted ? undefined : id,
      event: entry.event,
      data: entry.data,
      channel: entry.channel,
      except: entry.except,
      target: entry.target,
    };
    if (!targeted && this.capacity) this.ring[this.seq % this.capacity] = e;
    // Synchronous fan-out: consecutive publishes reach connections in call order, with no await.
    this.onEntry?.(e);
    return Promise.resolve(id);
  }

  replay(afterId: string, filter: (e: BackplaneEntry) => boolean): BackplaneEntry[] | null {
    if (!afterId.startsWith(this.prefix)) return null;
    const digits = afterId.slice(this.prefix.length);
    if (!/^\d{1,15}$/.test(digits)) return null;
    const after = +digits;
    const oldest = Math.max(1, this.seq - this.capacity + 1);
    // `after` may be the newest id (nothing missed), or just before the oldest kept one.
    if (after > this.seq || after < oldest - 1) return null;
    const out: BackplaneEntry[] = [];
    for (let s = after + 1; s <= this.seq; s++) {
      const e = this.ring[s % this.capacity];
      if (filter(e)) out.push(e);
    }
    return out;
  }

  head(): string {
    // `<prefix>0` means "before the first entry", and replays everything kept.
    return this.prefix + this.seq;
  }

  compareIds(a: string, b: string): number {
    const n = this.prefix.length;
    return +a.slice(n) - +b.slice(n);
  }

  close(): Promise<void> {
    this.closed = true;
    this.onEntry = null;
    return Promise.resolve();
  }
}
