/** Recent event ids kept to drop duplicates a peer replays. */
const RECENT = 256;

/**
 * The resume point (the last event id delivered, sent on every reconnect) and the duplicate filter
 * that keeps delivery exactly-once across reconnects and upgrades.
 */
export function createResumePoint(initial?: string) {
  let lastEventId = initial;
  const recent = new Set<string>();
  /** The same ids in a ring, oldest at `oldest` once full: which one to forget, without an iterator per event. */
  const ring: string[] = [];
  let oldest = 0;
  /**
   * Ids the open transport delivered while an upgrade probe was on its way, and after the upgrade
   * those of them the new transport has yet to replay: it resumes from where the probe was asked
   * for, so it repeats them (or some of them, if a channel was left meanwhile).
   */
  let deliveredDuringProbe: Set<string> | undefined;
  let replayedAfterUpgrade: Set<string> | undefined;

  return {
    get: () => lastEventId,
    /** A connection's first resume point when no event came yet: the server's newest id, so a drop before the first event loses nothing. */
    startAt(id?: string) {
      lastEventId ??= id;
    },
    /** Takes `id` as the new resume point; `false` when it is a duplicate or replayed after an upgrade. */
    accept(id: string): boolean {
      if (replayedAfterUpgrade?.delete(id) || recent.has(id)) return false;
      if (ring.length === RECENT) recent.delete(ring[oldest]);
      ring[oldest] = id;
      oldest = (oldest + 1) % RECENT;
      recent.add(id);
      deliveredDuringProbe?.add(id);
      lastEventId = id;
      return true;
    },
    /** A plain server may number its events afresh on every connection: its ids are no duplicates. */
    forgetRecent() {
      recent.clear();
      ring.length = oldest = 0;
    },
    /** An upgrade probe was asked for (`true`) or given up (`false`). */
    watchProbe(on: boolean) {
      deliveredDuringProbe = on ? new Set() : undefined;
    },
    /** A new connection: after an upgrade (`upgraded`), the ids it will replay are skipped. */
    connected(upgraded: boolean) {
      replayedAfterUpgrade = upgraded ? deliveredDuringProbe : undefined;
      deliveredDuringProbe = undefined;
    },
  };
}

/** The resume point and duplicate filter of one client. */
export type ResumePoint = ReturnType<typeof createResumePoint>;
