import { encodeEvent, HELLO, type Hello } from '../protocol';
import type { Backplane, BackplaneEntry } from './backplane';
import { blockAndLine } from './blocks';
import { TOO_MANY_CHANNELS, type Channels } from './channels';
import type { BaseConnection } from './connection';
import { visible } from './fan-out';
import type { ResolvedOptions } from './options';
import type { ConnectionRegistry } from './registry';

const noop = (): void => {};

/** What a handshake needs from the push server. */
export interface HandshakeDeps {
  readonly options: ResolvedOptions<any>;
  readonly backplane: Backplane;
  readonly registry: ConnectionRegistry;
  readonly channels: Channels;
  /** Resolves once the backplane has started; rejects with its start error. */
  started(): Promise<void> | void;
  /**
   * Stores the connection's record where every process finds it (with a directory), before its
   * hello: the client may send through another process as soon as it has its id.
   */
  announce(c: BaseConnection<any>): Promise<void> | void;
}

/**
 * The handshake of a new connection: joins, replay, hello, then what arrived meanwhile. The
 * connection is registered first and holds live entries, so nothing published while `onJoin` or
 * the replay runs is lost.
 */
export async function handshake(deps: HandshakeDeps, c: BaseConnection<any>, lastEventId: string | undefined, requested: string[]): Promise<void> {
  const { options: o, backplane: bp, registry, channels } = deps;
  const session = registry.register(c);
  // join/leave requests that arrive during the handshake wait for it: their acks follow the hello.
  let opened = noop;
  session.control = new Promise<void>((resolve) => (opened = resolve));
  try {
    await deps.started();
    const wanted = [...new Set(requested)];
    const max = o.maxChannels;
    const reasons = await Promise.all(wanted.map((ch, i) => (i < max ? channels.admit(c, ch) : TOO_MANY_CHANNELS)));
    if (c.closed) return;
    let refused: Record<string, string> | undefined;
    reasons.forEach((why, i) => {
      if (why === null) c.channels.add(wanted[i]);
      else (refused ??= {})[wanted[i]] = why;
    });

    let replay = true;
    let entries: BackplaneEntry[] = [];
    // A client with no id yet starts from the newest entry; live entries up to it are dropped below.
    const last = lastEventId === undefined ? await bp.head?.() : undefined;
    if (c.closed) return;
    if (lastEventId !== undefined) {
      const r = await bp.replay(lastEventId, (e) => visible(session, e));
      if (c.closed) return;
      if (r === null) replay = false;
      else entries = r;
    }

    const hello: Hello = {
      cid: c.id,
      epoch: bp.epoch,
      replay,
      hb: c.helloInterval(o),
      retry: o.retryMs,
    };
    if (refused) hello.refused = refused;
    const announced = deps.announce(c);
    if (announced) await announced;
    if (c.closed) return;
    if (last !== undefined) hello.last = session.floor = last;
    await c.locateStart({ replay, lastEventId, last, head: bp.head && (() => bp.head!()) });
    if (c.closed) return;
    c.push(encodeEvent(HELLO, JSON.stringify(hello)));
    for (const e of entries) c.push(...blockAndLine(e.event, e.data, e.id, e.channel));
    // What the client has now ends at the last replayed id, or at its own id if nothing was missed.
    if (replay && lastEventId !== undefined) session.floor = entries.length ? entries[entries.length - 1].id! : lastEventId;
    const held = session.held!;
    registry.open(session);
    for (const { entry, block, line } of held) {
      if (entry.target === undefined && (!visible(session, entry) || session.covers(entry.id!, bp.compareIds.bind(bp)))) continue;
      c.push(block, line, entry.position);
    }
    channels.enter(session);
    opened();
  } catch (err) {
    o.onError(err);
    c.close();
  }
}
