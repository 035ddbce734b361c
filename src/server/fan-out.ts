import { HEARTBEAT } from '../protocol';
import type { BackplaneEntry } from './backplane';
import { blockAndLine } from './blocks';
import type { Channels } from './channels';
import type { ConnectionRegistry } from './registry';
import type { Session } from './session';
import { isControlRequest } from './shared';

/** True when an entry may reach `session`: broadcast or one of its channels, not excluded, not targeted elsewhere. */
export const visible = (session: Session, e: BackplaneEntry): boolean =>
  e.target === undefined && (e.channel === undefined || session.conn.channels.has(e.channel)) && e.except !== session.conn.id;

/**
 * Delivers what the backplane carries to this process's connections: each entry is encoded once
 * for all its recipients, then queued on every live session that may see it and held for every
 * session whose handshake runs.
 */
export class FanOut {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly channels: Channels,
    private readonly compareIds: (a: string, b: string) => number,
    private readonly maxBufferedBytes: number,
    /** Runs a request another process sent to a connection held here (a forwarded join, a close). */
    private readonly control: (session: Session, e: BackplaneEntry) => void,
  ) {}

  /** Every entry of every process arrives here, in order. */
  readonly deliver = (e: BackplaneEntry): void => {
    if (e.target !== undefined) {
      const session = this.registry.session(e.target);
      if (!session) return;
      if (isControlRequest(e.event)) return this.control(session, e);
      const [block, line] = blockAndLine(e.event, e.data, undefined, e.channel);
      if (session.held) session.hold(e, block, line, this.maxBufferedBytes);
      else session.conn.push(block, line, e.position);
      return;
    }
    const opening = this.registry.opening;
    const members = e.channel === undefined ? this.registry.live : this.channels.members(e.channel);
    if (!members?.size && !opening.size) return;
    const [block, line] = blockAndLine(e.event, e.data, e.id, e.channel);
    for (const session of opening) session.hold(e, block, line, this.maxBufferedBytes);
    if (!members) return;
    const except = e.except;
    for (const session of members) {
      if (session.covers(e.id!, this.compareIds)) continue;
      const c = session.conn;
      // The sender gets the id alone, so that its resume point passes the event: else it would be
      // replayed to it after a reconnect (its new connection has another id).
      if (c.id === except) c.push(...blockAndLine(HEARTBEAT, '', e.id));
      else c.push(block, line);
    }
  };
}
