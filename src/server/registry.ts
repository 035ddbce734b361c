import type { BaseConnection } from './connection';
import { Session } from './session';

type Conn = BaseConnection<any>;

/**
 * Every connection of one push server, from registration (handshake running) until it ends: by id,
 * the ones whose handshake runs, and the live ones (hello sent).
 */
export class ConnectionRegistry {
  private readonly byId = new Map<string, Session>();
  /** Sessions whose hello went out. */
  readonly live = new Set<Session>();
  /** Sessions whose handshake is running; they hold live entries until it ends. */
  readonly opening = new Set<Session>();
  /** The live connections, built on demand; `null` whenever `live` changed since. */
  private snapshot: ReadonlyArray<Conn> | null = null;

  /** Registers a new connection, its handshake running; returns its session. */
  register(conn: Conn): Session {
    const session = new Session(conn);
    this.byId.set(conn.id, session);
    this.opening.add(session);
    return session;
  }

  /** The handshake ended: the session is live. */
  open(session: Session): void {
    session.held = null;
    this.opening.delete(session);
    this.live.add(session);
    this.snapshot = null;
  }

  /** Forgets a connection that ended; returns its session if it was registered. */
  remove(conn: Conn): Session | undefined {
    const session = this.byId.get(conn.id);
    if (!session || session.conn !== conn) return undefined;
    this.byId.delete(conn.id);
    this.opening.delete(session);
    if (this.live.delete(session)) this.snapshot = null;
    session.held = null;
    return session;
  }

  /** The session of the connection with this id, during its handshake too. */
  session(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /** Every registered connection (to shut them down). */
  all(): Conn[] {
    return [...this.byId.values()].map((s) => s.conn);
  }

  /** The live connections, frozen. */
  get connections(): ReadonlyArray<Conn> {
    return (this.snapshot ??= Object.freeze([...this.live].map((s) => s.conn)));
  }
}
