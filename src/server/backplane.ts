/**
 * The backplane carries every published entry to every server process and keeps the history that
 * last-event-id resumes from. The in-memory one serves a single process; a Redis Streams one can
 * take its place without the rest of the server knowing, which is why everything here may be async
 * and why ids are opaque strings.
 */

/** One published message as it travels through the backplane. */
export interface BackplaneEntry {
  /** Assigned by the backplane on publish; absent on targeted entries, which are never replayed. */
  id?: string;
  /**
   * A targeted entry's place in the history, in the order of ids (assigned by the backplane): a
   * long-poll cursor steps over it by it. It is never sent as an event id. A backplane that gives
   * none delivers targeted entries to a long-poll client only while a poll of its is held.
   */
  position?: string;
  /** Application event name. */
  event: string;
  /** Payload, already serialized (JSON for everything `publish` sends). */
  data: string;
  /** Only members of this channel receive it. */
  channel?: string;
  /** Id of a connection that must not receive it (the sender). */
  except?: string;
  /** Id of the one connection that receives it (`conn.send`). Targeted entries are never replayed. */
  target?: string;
}

/**
 * Records of connections shared by every server process, so that any process can answer a request
 * that names a connection (a long-poll's poll, an HTTP send, a DELETE) without sticky sessions. A
 * record is the server's own short JSON text (transport, identity, channels). Every method may
 * reject when the store is unreachable; the request is then answered 503.
 */
export interface ConnectionDirectory {
  /** Stores `record` under the connection id `id` for `ttlMs`. */
  save(id: string, record: string, ttlMs: number): Promise<void>;
  /** The record under `id`, its lifetime renewed to `ttlMs`; `null` when there is none (never was, expired, dropped). */
  load(id: string, ttlMs: number): Promise<string | null>;
  /** Renews the lifetime of the records under `ids` that exist (the heartbeat of streams held here). */
  touch(ids: readonly string[], ttlMs: number): Promise<void>;
  /** Removes the record under `id`. */
  drop(id: string): Promise<void>;
}

/** What a backplane must provide. */
export interface Backplane {
  /** Identity of the id sequence; valid after `start()` resolved. Goes to clients in the hello. */
  readonly epoch: string;
  /**
   * Begins delivery: `onEntry` then sees every entry published by any process, each once, in
   * publication order. Called once per backplane.
   */
  start(onEntry: (entry: BackplaneEntry) => void): void | Promise<void>;
  /**
   * Publishes an entry and resolves with its id (`''` for targeted entries, which get no id and no
   * history). Entries published one after another from one process must reach `onEntry` in that order.
   */
  publish(entry: BackplaneEntry): Promise<string>;
  /**
   * Entries with an id after `afterId` that pass `filter`, oldest first; `null` when that cannot be
   * answered in full (an id from another epoch, an unparsable id, or one older than the history),
   * so that the client is told it may have missed events.
   */
  replay(afterId: string, filter: (entry: BackplaneEntry) => boolean): BackplaneEntry[] | null | Promise<BackplaneEntry[] | null>;
  /**
   * Up to `max` entries right after `afterId`, oldest first, targeted ones included, or `null` when
   * that cannot be answered (the same cases as `replay`). Long-poll answers each poll from here: the
   * poll names its cursor (the id of the last entry it was sent) and nothing per client is kept.
   * Optional: without it, polls are answered from `replay`, whole.
   */
  read?(afterId: string, max: number): BackplaneEntry[] | null | Promise<BackplaneEntry[] | null>;
  /**
   * Orders two ids of this epoch as their entries were published: negative when `a` came first.
   * A networked backplane's live feed may lag its history, so right after a replay the feed can
   * still bring entries the client already has; the server drops those by comparing ids.
   */
  compareIds(a: string, b: string): number;
  /**
   * Id of the newest entry (or of "before the first" when there is none yet): the resume point a
   * client without a last-event-id is given, so that a drop before its first event loses nothing.
   * Optional: without it such a client resumes from nothing.
   */
  head?(): string | Promise<string>;
  /**
   * Connection records shared by every process (the Redis backplane keeps them in Redis). With one,
   * any process answers any request: a poll or send that names a connection held elsewhere is
   * checked against its record and served here. Without one (the in-memory backplane: one process),
   * such a request gets 404.
   */
  readonly directory?: ConnectionDirectory;
  /** Stops delivery and releases what the backplane holds (timers, sockets). */
  close(): Promise<void>;
}
