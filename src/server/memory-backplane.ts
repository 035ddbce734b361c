import { PushError } from '../protocol';
import type { Backplane, BackplaneEntry } from './backplane';
import { newEpoch } from './ids';

/** Options of {@link memoryBackplane}. */
export interface MemoryBackplaneOptions {
  /**
   * How many published entries are kept for resume and for long-poll cursors. Default 10000; 0 keeps
   * none. Targeted sends take room too: a long-poll client reads its own from here.
   */
  history?: number;
  /**
   * Most characters (about bytes, for ASCII JSON) of event data the history keeps; the oldest
   * entries go first past it. Default 32 MiB: a burst of 5,000 events of 4 KiB to a long-poll client
   * is read from here, whole, however slowly it polls.
   */
  historyBytes?: number;
}

/** Default of {@link MemoryBackplaneOptions.history}. */
export const DEFAULT_HISTORY = 10_000;
/** Default of {@link MemoryBackplaneOptions.historyBytes}. */
export const DEFAULT_HISTORY_BYTES = 32 * 1024 * 1024;

/**
 * The embedded default backplane: one process, history in a bounded ring buffer.
 *
 * Ids are `<epoch>:<seq>`. The epoch is random per instance, so an id from an earlier process (or
 * another server) is never mistaken for one of ours: replaying it reports a gap.
 */
export function memoryBackplane(options: MemoryBackplaneOptions = {}): Backplane {
  const history = options.history ?? DEFAULT_HISTORY;
  if (!Number.isSafeInteger(history) || history < 0) {
    throw new PushError('BAD_OPTION', 'history must be a non-negative integer');
  }
  const bytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new PushError('BAD_OPTION', 'historyBytes must be a non-negative integer');
  }
  return new MemoryBackplane(history, bytes);
}

/** What an entry costs the history, in characters. */
const sizeOf = (e: BackplaneEntry): number => e.data.length + e.event.length + (e.channel?.length ?? 0);

class MemoryBackplane implements Backplane {
  readonly epoch = newEpoch();
  private readonly prefix = this.epoch + ':';
  private readonly ring: (BackplaneEntry | undefined)[];
  /** Sequence number of the newest entry; ids start at 1. */
  private seq = 0;
  /** Sequence number of the oldest entry kept (`seq + 1` when none is). */
  private oldest = 1;
  /** Characters held by the entries kept. */
  private bytes = 0;
  private onEntry: ((e: BackplaneEntry) => void) | null = null;
  private closed = false;

  constructor(
    private readonly capacity: number,
    private readonly maxBytes: number,
  ) {
    this.ring = new Array<BackplaneEntry | undefined>(capacity);
  }

  start(onEntry: (e: BackplaneEntry) => void): void {
    if (this.onEntry || this.closed) throw new PushError('BAD_OPTION', 'a memory backplane serves one push server');
    this.onEntry = onEntry;
  }

  publish(entry: BackplaneEntry): Promise<string> {
    if (this.closed) return Promise.reject(new PushError('CLOSED', 'backplane closed'));
    // A targeted entry takes a place in the history, so that a long-poll cursor can step over it;
    // without a history there is nothing to step over, and it would only make the last id stale.
    const targeted = entry.target !== undefined;
    const placed = !targeted || this.capacity > 0;
    const id = placed ? this.prefix + ++this.seq : '';
    // A copy of one fixed shape (absent fields as undefined) keeps fan-out and replay monomorphic.
    const e: BackplaneEntry = {
      id: targeted ? undefined : id,
      position: targeted && placed ? id : undefined,
      event: entry.event,
      data: entry.data,
      channel: entry.channel,
      except: entry.except,
      target: entry.target,
    };
    if (placed) this.keep(e);
    // Synchronous fan-out: consecutive publishes reach connections in call order, with no await.
    this.onEntry?.(e);
    return Promise.resolve(targeted ? '' : id);
  }

  /** Puts the newest entry in the ring, dropping the oldest past either bound. */
  private keep(e: BackplaneEntry): void {
    const cap = this.capacity;
    if (!cap) {
      this.oldest = this.seq + 1;
      return;
    }
    if (this.seq - this.oldest >= cap) this.evict();
    this.ring[this.seq % cap] = e;
    this.bytes += sizeOf(e);
    // The newest entry stays even when it alone is over the bound: a client polling for it gets it.
    while (this.bytes > this.maxBytes && this.oldest < this.seq) this.evict();
  }

  private evict(): void {
    const i = this.oldest++ % this.capacity;
    this.bytes -= sizeOf(this.ring[i]!);
    this.ring[i] = undefined;
  }

  /** The sequence number of `id`, when it is one of ours still answerable (the newest, or one whose successor is kept). */
  private after(id: string): number | null {
    if (!id.startsWith(this.prefix)) return null;
    const digits = id.slice(this.prefix.length);
    if (!/^\d{1,15}$/.test(digits)) return null;
    const after = +digits;
    // `after` may be the newest id (nothing missed), or just before the oldest kept one.
    return after > this.seq || after < this.oldest - 1 ? null : after;
  }

  replay(afterId: string, filter: (e: BackplaneEntry) => boolean): BackplaneEntry[] | null {
    const after = this.after(afterId);
    if (after === null) return null;
    const out: BackplaneEntry[] = [];
    for (let s = after + 1; s <= this.seq; s++) {
      const e = this.ring[s % this.capacity]!;
      if (e.target === undefined && filter(e)) out.push(e);
    }
    return out;
  }

  read(afterId: string, max: number): BackplaneEntry[] | null {
    const after = this.after(afterId);
    if (after === null) return null;
    const end = Math.min(this.seq, after + max);
    const out = new Array<BackplaneEntry>(end - after);
    for (let s = after + 1; s <= end; s++) out[s - after - 1] = this.ring[s % this.capacity]!;
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
