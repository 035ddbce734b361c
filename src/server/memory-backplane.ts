import { PushError } from '../protocol';
import type { Backplane, BackplaneEntry } from './backplane';
import { newEpoch } from './ids';

/** Options of {@link memoryBackplane}. */
export interface MemoryBackplaneOptions {
  /**
   * How many published entries are kept for resume and for long-poll cursors. Default 10000; 0 keeps
   * none. As many targeted sends are kept beside them (a long-poll client reads its own from there),
   * taking no room from them.
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

/** A targeted entry kept for long-poll cursors: after published entry `seq`, the `k`th since it. */
interface Placed {
  seq: number;
  k: number;
  entry: BackplaneEntry;
}

/** `<seq>` (a published entry) or `<seq>.<k>` (a targeted entry's position). */
const ID_TAIL = /^(\d{1,15})(?:\.(\d{1,15}))?$/;

class MemoryBackplane implements Backplane {
  readonly epoch = newEpoch();
  private readonly prefix = this.epoch + ':';
  private readonly ring: (BackplaneEntry | undefined)[];
  /** Sequence number of the newest published entry; ids start at 1. */
  private seq = 0;
  /** Sequence number of the oldest published entry kept (`seq + 1` when none is). */
  private oldest = 1;
  /** Characters held by the published entries kept. */
  private bytes = 0;
  /**
   * Targeted entries, oldest first, kept apart so that they take no room from the published ones
   * that resumes need: each has a position between published ids (`<seq>.<k>`), so that a long-poll
   * cursor steps over it. Bounded like the history, by count and by characters.
   */
  private placed: Placed[] = [];
  /** Index of the oldest one still kept in `placed` (the array is compacted now and then). */
  private placedHead = 0;
  private placedBytes = 0;
  /** Targeted entries since the newest published one. */
  private k = 0;
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
    const targeted = entry.target !== undefined;
    let id = '';
    let position: string | undefined;
    if (!targeted) {
      id = this.prefix + ++this.seq;
      this.k = 0;
    } else if (this.capacity) {
      // Without a history there is nothing to step over.
      position = this.prefix + this.seq + '.' + ++this.k;
    }
    // A copy of one fixed shape (absent fields as undefined) keeps fan-out and replay monomorphic.
    const e: BackplaneEntry = {
      id: targeted ? undefined : id,
      position,
      event: entry.event,
      data: entry.data,
      channel: entry.channel,
      except: entry.except,
      target: entry.target,
    };
    if (!targeted) this.keep(e);
    else if (position) this.place(e);
    // Synchronous fan-out: consecutive publishes reach connections in call order, with no await.
    this.onEntry?.(e);
    return Promise.resolve(id);
  }

  /** Puts the newest published entry in the ring, dropping the oldest past either bound. */
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

  /** Keeps the newest targeted entry, dropping the oldest past either bound. */
  private place(e: BackplaneEntry): void {
    this.placed.push({ seq: this.seq, k: this.k, entry: e });
    this.placedBytes += sizeOf(e);
    while (this.placed.length - this.placedHead > this.capacity || (this.placedBytes > this.maxBytes && this.placed.length - this.placedHead > 1)) {
      this.placedBytes -= sizeOf(this.placed[this.placedHead++].entry);
    }
    if (this.placedHead > 1024 && this.placedHead * 2 > this.placed.length) {
      this.placed = this.placed.slice(this.placedHead);
      this.placedHead = 0;
    }
  }

  /** `[seq, k]` of an id or position of ours still answerable (its published part is the newest, or one whose successor is kept). */
  private parse(id: string): [number, number] | null {
    if (!id.startsWith(this.prefix)) return null;
    const m = ID_TAIL.exec(id.slice(this.prefix.length));
    if (!m) return null;
    const after = +m[1];
    // `after` may be the newest id (nothing missed), or just before the oldest kept one.
    return after > this.seq || after < this.oldest - 1 ? null : [after, m[2] === undefined ? 0 : +m[2]];
  }

  replay(afterId: string, filter: (e: BackplaneEntry) => boolean): BackplaneEntry[] | null {
    const at = this.parse(afterId);
    if (at === null) return null;
    const out: BackplaneEntry[] = [];
    for (let s = at[0] + 1; s <= this.seq; s++) {
      const e = this.ring[s % this.capacity]!;
      if (filter(e)) out.push(e);
    }
    return out;
  }

  read(afterId: string, max: number): BackplaneEntry[] | null {
    const at = this.parse(afterId);
    if (at === null) return null;
    const [seq, k] = at;
    const placed = this.placed;
    // The first targeted entry after the cursor (binary search: they are in order).
    let lo = this.placedHead;
    let hi = placed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = placed[mid];
      if (p.seq < seq || (p.seq === seq && p.k <= k)) lo = mid + 1;
      else hi = mid;
    }
    const out: BackplaneEntry[] = [];
    // Published entry s, then the targeted ones placed after it, up to the newest.
    for (let s = seq; s <= this.seq && out.length < max; s++) {
      if (s > seq) out.push(this.ring[s % this.capacity]!);
      while (lo < placed.length && placed[lo].seq === s && out.length < max) out.push(placed[lo++].entry);
    }
    return out;
  }

  head(): string {
    // `<prefix>0` means "before the first entry", and replays everything kept.
    return this.prefix + this.seq;
  }

  compareIds(a: string, b: string): number {
    const n = this.prefix.length;
    const x = a.slice(n);
    const y = b.slice(n);
    // Published ids, by far the most compared: numbers.
    if (!x.includes('.') && !y.includes('.')) return +x - +y;
    const [xs, xk = '0'] = x.split('.');
    const [ys, yk = '0'] = y.split('.');
    return +xs - +ys || +xk - +yk;
  }

  close(): Promise<void> {
    this.closed = true;
    this.onEntry = null;
    return Promise.resolve();
  }
}
