import { ACK, isChannelName, LEAVE, type Ack, type ClientMessage } from '../protocol';
import type { BaseConnection } from './connection';
import { messageOf } from './errors';
import type { ResolvedOptions } from './options';
import type { Session } from './session';

/** Why a join past `maxChannels` is refused. */
export const TOO_MANY_CHANNELS = 'too many channels';

/** What channel membership needs from the options. */
export type ChannelRules = Pick<ResolvedOptions<any>, 'maxChannels' | 'onJoin' | 'onError'>;

/**
 * Channel membership: who may join (`onJoin`, `maxChannels`), the live members of each channel (so
 * that a channel publish does not scan every connection), and the join/leave requests of clients.
 */
export class Channels {
  private readonly rooms = new Map<string, Set<Session>>();

  constructor(
    private readonly rules: ChannelRules,
    /**
     * Called after a connection's channels changed, before the client is answered: the push server
     * stores them where other processes read them (with a directory), so that by the time the
     * client knows, every process filters its events by them. May be async.
     */
    private readonly changed: (conn: BaseConnection<any>) => Promise<void> | void = () => {},
  ) {}

  /** The live members of `channel`, if any. */
  members(channel: string): ReadonlySet<Session> | undefined {
    return this.rooms.get(channel);
  }

  /** Puts a session that just went live in the rooms of the channels it joined during its handshake. */
  enter(session: Session): void {
    for (const ch of session.conn.channels) this.join(session, ch);
  }

  /** Takes a session that ended out of every room. */
  exit(session: Session): void {
    for (const ch of session.conn.channels) this.leave(session, ch);
  }

  /** Sets a live session's channels to `list` (a long-poll view, from its record), rooms included. */
  reset(session: Session, list: readonly string[]): void {
    const c = session.conn;
    if (c.channels.size === list.length && list.every((ch) => c.channels.has(ch))) return;
    this.exit(session);
    c.channels.clear();
    for (const ch of list) if (isChannelName(ch)) c.channels.add(ch);
    this.enter(session);
  }

  /** `null` when `conn` may join `ch`, else the reason it may not. */
  async admit(conn: BaseConnection<any>, ch: string): Promise<string | null> {
    if (!isChannelName(ch)) return 'invalid channel name';
    const onJoin = this.rules.onJoin;
    if (!onJoin) return null;
    try {
      return (await onJoin(conn, ch)) === false ? 'refused' : null;
    } catch (err) {
      return messageOf(err) || 'refused';
    }
  }

  /** Queues a client's join or leave behind its earlier ones. */
  request(session: Session, m: ClientMessage): void {
    session.control = session.control.then(() => this.run(session, m)).catch(this.rules.onError);
  }

  private async run(session: Session, m: ClientMessage): Promise<void> {
    const c = session.conn;
    const ch = m.d;
    let error: string | null = null;
    let change = false;
    if (!isChannelName(ch)) error = 'invalid channel name';
    else if (m.e === LEAVE) {
      change = c.channels.delete(ch);
      this.leave(session, ch);
    } else if (!c.channels.has(ch)) {
      // Joins run one at a time per connection (`session.control`), so the count cannot be overtaken.
      error = c.channels.size >= this.rules.maxChannels ? TOO_MANY_CHANNELS : await this.admit(c, ch);
      if (c.closed) return;
      if (error === null) {
        c.channels.add(ch);
        this.join(session, ch);
        change = true;
      }
    }
    if (change) {
      const saving = this.changed(c);
      if (saving) await saving.catch(this.rules.onError);
    }
    if (m.r === undefined || c.closed) return;
    const ack: Ack = { r: m.r, ok: error === null };
    if (error !== null) ack.error = error;
    c.pushControl(ACK, JSON.stringify(ack));
  }

  private join(session: Session, ch: string): void {
    let room = this.rooms.get(ch);
    if (!room) this.rooms.set(ch, (room = new Set()));
    room.add(session);
  }

  private leave(session: Session, ch: string): void {
    const room = this.rooms.get(ch);
    if (room?.delete(session) && room.size === 0) this.rooms.delete(ch);
  }
}
