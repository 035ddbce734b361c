import { LONGEST, PushError } from '../protocol';
import type { Backplane, BackplaneEntry, ConnectionDirectory } from './backplane';
import {
  cmpId,
  connectClient,
  ENSURE_STREAM,
  parseId,
  type RedisClientLike,
  readEntries,
  readStream,
  releaseClient,
  toEntry,
  type StreamEntry,
  xaddArgs,
  xaddBatchArgs,
} from './redis-stream';

export type { RedisClientLike } from './redis-stream';

/** Options of {@link redisBackplane}. */
export interface RedisBackplaneOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. Used when no `client` is given. */
  url?: string;
  /**
   * A `redis` (node-redis v4 or later) client to use instead of `url`. It is connected if it is not
   * yet, and left open by `close()`: it is yours. Its `duplicate()` serves the blocking reader.
   */
  client?: RedisClientLike;
  /** Key of the stream every process publishes to and reads from. Default `push-client`. */
  stream?: string;
  /**
   * Entries kept for resume (XADD MAXLEN). Default 10000. Targeted sends are entries too, so they
   * take room in it (they are never replayed).
   */
  maxLen?: number;
  /**
   * Trim with `MAXLEN ~` (default `true`): cheaper, and keeps at least `maxLen` entries (up to a
   * node of the stream, 100 entries by default, more). `false` trims to exactly `maxLen`.
   */
  approximate?: boolean;
  /** How long one XREAD blocks before it is issued again, in ms. Default 5000. */
  blockMs?: number;
  /** Entries read per XREAD. Default 1000. */
  batch?: number;
  /** Errors of the background reader (Redis unreachable...). Default: `console.error`, at most once a second. */
  onError?: (error: unknown) => void;
}

/**
 * A backplane on Redis Streams for several server processes behind a load balancer: every publish
 * is one XADD to one stream, every process reads the stream with its own XREAD BLOCK loop and fans
 * the entries out to its connections in stream order, and the stream is the history that
 * last-event-id resumes from, so a client can reconnect to any process, and a restart of every
 * process loses nothing that Redis kept.
 *
 * Event ids are the stream ids. Every stream id is `<epoch>-<n>`: the epoch (milliseconds part) is
 * the Redis clock when the stream was created, and `n` counts up from 0 with no holes, so an id
 * from a wiped or re-created stream is never mistaken for one of the current stream, and a gap
 * (entries trimmed by MAXLEN after the client's id) is detected exactly.
 *
 * `redis` is loaded (dynamic import) only when a backplane without a `client` starts, so
 * `push-client/server` users without Redis never load it. Install it next to push-client.
 *
 * @example
 * ```ts
 * createPushServer({ server, backplane: redisBackplane({ url: 'redis://127.0.0.1:6379', stream: 'push', maxLen: 10000 }) });
 * ```
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): Backplane {
  return new RedisBackplane(options);
}

const posInt = (name: string, v: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new PushError('BAD_OPTION', `${name} must be an integer from 1 to ${max}`);
  }
  return v;
};

interface Pending {
  entry: BackplaneEntry;
  resolve: (id: string) => void;
  reject: (err: unknown) => void;
}

/** Most entries sent in one script call (Lua's stack bounds the arguments of one XADD, not their sum). */
const MAX_BATCH = 256;

/** GET that renews the key's lifetime (GETEX needs Redis 6.2; this runs on any Redis with scripting). */
const LOAD_RECORD = `local v = redis.call('GET', KEYS[1])
if v then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** PEXPIRE of every key given, in one call. */
const TOUCH_RECORDS = `for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return #KEYS`;

/** Most keys renewed by one script call. */
const MAX_TOUCH = 1000;

class RedisBackplane implements Backplane {
  private readonly url: string | undefined;
  private readonly given: RedisClientLike | undefined;
  private readonly key: string;
  private readonly maxLen: string;
  private readonly approximate: boolean;
  private readonly blockMs: string;
  private readonly batch: string;
  private readonly report: (error: unknown) => void;

  private client: RedisClientLike | null = null;
  private reader: RedisClientLike | null = null;
  private onEntry: ((e: BackplaneEntry) => void) | null = null;
  private started = false;
  private closed = false;
  /** The epoch publishes go to (milliseconds part of the stream ids); learned from the stream. */
  private current = '';
  /** The id of the last stream entry this process's reader has handed on. */
  private cursor = '0-0';
  /** Publishes not sent yet: they go together at the end of this tick. */
  private queue: Pending[] = [];
  private scheduled = false;
  /** Set while the stream is being (re)created or its epoch re-read: publishes wait for it, in order. */
  private resync: Promise<void> | null = null;
  private loop: Promise<void> | null = null;
  /** Connection records: keys `<stream>:conn:<connection id>` with a lifetime. */
  readonly directory: ConnectionDirectory;

  constructor(o: RedisBackplaneOptions) {
    if (o.client === undefined && (typeof o.url !== 'string' || !/^rediss?:\/\//.test(o.url))) {
      throw new PushError('BAD_OPTION', 'url must be a redis:// or rediss:// URL (or pass client)');
    }
    if (o.client !== undefined && (typeof o.client !== 'object' || typeof o.client.sendCommand !== 'function')) {
      throw new PushError('BAD_OPTION', 'client must be a node-redis client');
    }
    const stream = o.stream ?? 'push-client';
    if (typeof stream !== 'string' || !stream) throw new PushError('BAD_OPTION', 'stream must be a non-empty string');
    if (o.onError !== undefined && typeof o.onError !== 'function') {
      throw new PushError('BAD_OPTION', 'onError must be a function');
    }
    this.url = o.url;
    this.given = o.client;
    this.key = stream;
    this.maxLen = String(posInt('maxLen', o.maxLen, 10_000));
    this.approximate = o.approximate ?? true;
    this.blockMs = String(posInt('blockMs', o.blockMs, 5000, LONGEST));
    this.batch = String(posInt('batch', o.batch, 1000, 100_000));
    const keyOf = (id: string): string => `${stream}:conn:${id}`;
    const redis = (): RedisClientLike => {
      if (!this.client || this.closed) throw new PushError('CLOSED', 'backplane closed');
      return this.client;
    };
    this.directory = {
      save: async (id, record, ttl) => void (await redis().sendCommand(['SET', keyOf(id), record, 'PX', String(ttl)])),
      load: async (id, ttl) => {
        const v = await redis().sendCommand(['EVAL', LOAD_RECORD, '1', keyOf(id), String(ttl)]);
        return typeof v === 'string' ? v : null;
      },
      touch: async (ids, ttl) => {
        for (let i = 0; i < ids.length; i += MAX_TOUCH) {
          const keys = ids.slice(i, i + MAX_TOUCH).map(keyOf);
          await redis().sendCommand(['EVAL', TOUCH_RECORDS, String(keys.length), ...keys, String(ttl)]);
        }
      },
      drop: async (id) => void (await redis().sendCommand(['DEL', keyOf(id)])),
    };
    let last = 0;
    this.report =
      o.onError ??
      ((err) => {
        const now = Date.now();
        if (now - last < 1000) return;
        last = now;
        console.error('push-client/server redis backplane:', err);
      });
  }

  get epoch(): string {
    return this.current;
  }

  async start(onEntry: (e: BackplaneEntry) => void): Promise<void> {
    if (this.started || this.closed) throw new PushError('BAD_OPTION', 'a redis backplane serves one push server');
    this.started = true;
    this.onEntry = onEntry;
    try {
      let client = this.given;
      if (!client) {
        let redis: { createClient(o: { url: string; RESP?: 2 | 3 }): RedisClientLike };
        try {
          redis = (await import('redis')) as unknown as typeof redis;
        } catch (cause) {
          throw new PushError('BAD_OPTION', 'redisBackplane needs the "redis" package: npm install redis', { cause });
        }
        const { createClient } = redis;
        client = createClient({ url: this.url!, RESP: 2 });
        client.on('error', this.report);
      }
      this.client = client;
      await connectClient(client);
      if (this.closed) return void (await this.close()); // closed while starting
      const reader = (this.reader = client.duplicate());
      reader.on('error', this.report);
      await connectClient(reader);
      if (this.closed) return void (await this.close()); // closed while starting
      // The stream's last id at start: the reader hands on everything after it.
      this.cursor = await this.ensureStream();
      if (this.closed) return void (await this.close()); // closed while starting
    } catch (err) {
      await this.close();
      throw err;
    }
    this.loop = this.readLoop();
  }

  /** Creates the stream with a fresh epoch if it does not exist; returns its last generated id. */
  private async ensureStream(): Promise<string> {
    const last = String(await this.client!.sendCommand(['EVAL', ENSURE_STREAM, '1', this.key]));
    const id = parseId(last);
    if (!id) throw new PushError('BAD_OPTION', `stream ${this.key} holds a foreign id ${last}`);
    this.current = id.ms;
    return last;
  }

  publish(entry: BackplaneEntry): Promise<string> {
    if (this.closed) return Promise.reject(new PushError('CLOSED', 'backplane closed'));
    if (!this.client) return Promise.reject(new PushError('CLOSED', 'backplane not started'));
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.flush);
      }
    }).then((id) => (entry.target === undefined ? id : ''));
  }

  /**
   * Sends what was published since the last flush: one XADD, or one script with an XADD per entry
   * for a burst (one round trip and one command for the client to handle, instead of hundreds).
   * Commands on one connection are applied in the order they are sent, so consecutive publishes of
   * this process get increasing stream ids, and every reader hands them on in that order.
   */
  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.resync) {
      // The stream is being re-created: what was published meanwhile goes after, in order.
      this.scheduled = true;
      void this.resync.then(this.flush, this.flush);
      return;
    }
    while (this.queue.length) void this.send(this.queue.splice(0, MAX_BATCH), 0);
  };

  private async send(batch: Pending[], attempt: number): Promise<void> {
    const epoch = this.current;
    let ids: unknown;
    try {
      ids =
        batch.length === 1
          ? [await this.client!.sendCommand(xaddArgs(this.key, this.maxLen, this.approximate, epoch, batch[0].entry))]
          : await this.client!.sendCommand(
              xaddBatchArgs(
                this.key,
                this.maxLen,
                this.approximate,
                epoch,
                batch.map((p) => p.entry),
              ),
            );
    } catch (err) {
      // "equal or smaller": the stream was wiped and re-created by another process, with a newer epoch.
      if (!/equal or smaller/i.test(String((err as Error)?.message)) || attempt > 2 || !this.client) {
        for (const p of batch) p.reject(err);
        return;
      }
    }
    if (Array.isArray(ids) && ids.length === batch.length && ids.every((id) => typeof id === 'string' && id)) {
      batch.forEach((p, i) => p.resolve(ids[i]));
      return;
    }
    if (attempt > 2 || !this.client) {
      const err = new PushError('SEND_FAILED', `cannot publish to stream ${this.key}`);
      for (const p of batch) p.reject(err);
      return;
    }
    // NOMKSTREAM said the stream is gone (wiped): re-create it with a new epoch, once for all.
    if (this.current === epoch) {
      this.resync ??= this.ensureStream().then(
        () => void (this.resync = null),
        (err: unknown) => {
          this.resync = null;
          throw err;
        },
      );
    }
    try {
      await this.resync;
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    return this.send(batch, attempt + 1);
  }

  /** The newest stream id (the stream always holds its epoch's first entry, so there is one). */
  async head(): Promise<string> {
    const last = readEntries(await this.client!.sendCommand(['XREVRANGE', this.key, '+', '-', 'COUNT', '1']));
    return last.length ? last[0].id : await this.ensureStream();
  }

  async replay(afterId: string, filter: (e: BackplaneEntry) => boolean): Promise<BackplaneEntry[] | null> {
    const after = parseId(afterId);
    if (!after || !this.client) return null;
    const out: BackplaneEntry[] = [];
    // The entry right after the client's must be <epoch>-<n+1>: anything else means a gap (trimmed,
    // or the stream was re-created), or the id was never ours.
    const expect: string = after.ms + '-' + (after.seq + 1n);
    let from = '(' + afterId;
    const max = Number(this.maxLen) * 2 + 2000;
    for (let seen = 0; seen <= max; ) {
      const page = readEntries(await this.client.sendCommand(['XRANGE', this.key, from, '+', 'COUNT', this.batch]));
      if (seen === 0) {
        if (page.length === 0) {
          // Nothing after it: fine if it is the newest entry, else it is not (or no longer) ours.
          const self = readEntries(await this.client.sendCommand(['XRANGE', this.key, afterId, afterId]));
          if (self.length === 0) return null;
          break;
        }
        if (page[0].id !== expect) return null;
      }
      for (const s of page) {
        // Entries of another epoch after it: the stream was re-created in between.
        if (!s.id.startsWith(expect.slice(0, after.ms.length + 1))) return null;
        const e = toEntry(s);
        if (e && e.target === undefined && filter(e)) out.push(e);
      }
      seen += page.length;
      if (page.length < Number(this.batch)) break;
      from = '(' + page[page.length - 1].id;
    }
    return out;
  }

  /**
   * One XRANGE: up to `max` entries right after `afterId`, targeted ones included (their stream ids
   * are their positions), or `null` when the entry right after it is not the next of its epoch (trimmed,
   * or the stream re-created) or the id is not in the stream.
   */
  async read(afterId: string, max: number): Promise<BackplaneEntry[] | null> {
    const after = parseId(afterId);
    if (!after || !this.client) return null;
    const page = readEntries(await this.client.sendCommand(['XRANGE', this.key, '(' + afterId, '+', 'COUNT', String(max)]));
    if (page.length === 0) {
      // Nothing after it: fine if it is the newest entry, else it is not (or no longer) ours.
      const self = readEntries(await this.client.sendCommand(['XRANGE', this.key, afterId, afterId]));
      return self.length ? [] : null;
    }
    if (page[0].id !== after.ms + '-' + (after.seq + 1n)) return null;
    const out: BackplaneEntry[] = [];
    const epoch = after.ms + '-';
    for (const s of page) {
      // A later epoch (the stream was re-created): the next read, from the last of this one, finds the gap.
      if (!s.id.startsWith(epoch)) break;
      const e = toEntry(s);
      if (e) out.push(e);
    }
    return out;
  }

  /**
   * Stream ids order as Redis orders them; ids of a later epoch are greater, since an epoch is the
   * Redis clock when its stream was created. The server uses this to drop what this process's
   * reader brings late: entries up to the id a client already got from another process.
   */
  compareIds(a: string, b: string): number {
    const x = parseId(a);
    const y = parseId(b);
    if (!x || !y) return x ? 1 : y ? -1 : 0;
    return cmpId(x, y);
  }

  /**
   * Within an epoch the ids have no holes, so an entry that is not the one right after the cursor
   * means that this process read the stream so late that MAXLEN trimmed entries before it got to
   * them: its connections missed those. That is reported, so that maxLen can be raised.
   */
  private checkContinuity(first: string): void {
    const at = parseId(this.cursor);
    const next = parseId(first);
    if (!at || !next || at.ms !== next.ms || next.seq === at.seq + 1n) return;
    this.report(
      new PushError(
        'SEND_FAILED',
        `this process read stream ${this.key} too late: ${next.seq - at.seq - 1n} entries were trimmed ` +
          `(maxLen ${this.maxLen}) before it could hand them on`,
      ),
    );
  }

  /** The XREAD BLOCK loop: hands every new stream entry on, in stream order, until closed. */
  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let page: StreamEntry[];
      try {
        page = readStream(await this.reader!.sendCommand(['XREAD', 'COUNT', this.batch, 'BLOCK', this.blockMs, 'STREAMS', this.key, this.cursor]), this.key);
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        this.report(err);
        // Redis unreachable: the client reconnects by itself; wait a little before asking again.
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** failures++)));
        continue;
      }
      if (this.closed) return;
      if (page.length) this.checkContinuity(page[0].id);
      for (const s of page) {
        this.cursor = s.id;
        const ms = s.id.slice(0, s.id.indexOf('-'));
        if (ms !== this.current) this.current = ms;
        const e = toEntry(s);
        if (!e) continue;
        try {
          this.onEntry?.(e);
        } catch (err) {
          this.report(err);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.onEntry = null;
      // Published in this very tick, not sent yet: send them, the connection closes after its replies.
      if (this.queue.length && this.client) this.flush();
    }
    const reader = this.reader;
    this.reader = null;
    // The reader is blocked in XREAD: drop its connection, which ends the loop.
    if (reader) await releaseClient(reader, true);
    await this.loop?.catch(() => {});
    const client = this.client;
    this.client = null;
    if (client && client !== this.given) await releaseClient(client, false);
  }
}
