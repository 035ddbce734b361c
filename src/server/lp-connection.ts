import type { ServerResponse } from 'node:http';
import { BaseConnection, type Admission, type ConnectionHost } from './connection';
import { reply } from './http';

/** A flat list (name, value, ...): Node writes it as it is, with no object to copy per answer. */
const LP_HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Cache-Control', 'no-store', 'Content-Length'];

/** Timings of a long-poll session. */
export interface LongPollTimings {
  pollTimeout: number;
  sessionTimeout: number;
}

/**
 * A long-poll session. It keeps every block it has sent until the client acknowledges it
 * (`ack` = blocks received so far on this connection), so a poll whose answer was lost is repeated
 * with the same ack and gets the same blocks again: nothing is lost or duplicated, targeted sends
 * included.
 */
export class LpConnection<User = unknown> extends BaseConnection<User> {
  /** Blocks sent or waiting, not yet acknowledged. */
  private queue: string[] = [];
  /** Blocks acknowledged (and dropped) so far: the ack that `queue[0]` follows. */
  private acked = 0;
  private bytes = 0;
  /** The poll being held open, if any. */
  private poll: ServerResponse | null;
  /**
   * Answers the held poll empty after `pollTimeout`. The creating request has none: it waits for
   * its hello however long `onJoin` takes, since an empty answer would leave the client without a cid.
   * Both timers are made once per session and re-armed with `refresh()`, never cleared in between:
   * a fan-out answers every session's poll at once, and a timer made and cleared per answer is
   * work the server does 10,000 times over. A timer that fires when it has nothing to do does nothing.
   */
  private pollTimer: NodeJS.Timeout | null = null;
  /** Ends the session when no poll comes within `sessionTimeout` of the last answer. */
  private reaper: NodeJS.Timeout | null = null;

  constructor(
    host: ConnectionHost,
    id: string,
    admission: Admission<User>,
    /** The request that created the session: it is answered with the hello as soon as there is one. */
    res: ServerResponse,
    private readonly t: LongPollTimings,
  ) {
    super(host, id, 'longpoll', admission);
    this.poll = res;
    this.watch(res);
  }

  push(block: string, line?: string): void {
    // `pending` follows the blocks queued since the last answer, so that a body of only those is
    // built once for every session that got them (./batch.ts).
    this.pending = (this.pending ?? this.host.batchRoot()).followedBy(block, line);
    this.queue.push(block);
    this.bytes += block.length;
    if (this.bytes > this.host.maxBufferedBytes) {
      // The client stopped polling or cannot keep up. Dropping the session makes its next poll a
      // 404, after which it reconnects and resumes from history.
      this.close();
    } else if (this.poll && !this.dirty) {
      // Answered on the next tick, not now, so that a burst goes out as one response.
      this.dirty = true;
      this.host.schedule(this);
    }
  }

  flush(): void {
    this.dirty = false;
    if (this.poll && this.queue.length && !this.closed) this.answer(this.body());
  }

  heartbeat(): void {
    // The poll timeout is the long-poll heartbeat: an idle poll is answered empty.
  }

  /** Handles `GET ?t=lp&cid=..&ack=N`. */
  onPoll(res: ServerResponse, ack: number): void {
    // One poll at a time: the older one is answered empty, its client has moved on.
    if (this.poll) this.answer('');
    const drop = ack - this.acked;
    if (drop < 0 || drop > this.queue.length) {
      reply(res, 400, `ack ${ack} out of range ${this.acked}..${this.acked + this.queue.length}`);
      this.idle();
      return;
    }
    if (drop > 0) {
      for (let i = 0; i < drop; i++) this.bytes -= this.queue[i].length;
      this.queue.splice(0, drop);
      this.acked = ack;
    }
    this.poll = res;
    this.watch(res);
    if (this.queue.length) this.answer(this.body());
    else if (this.pollTimer) this.pollTimer.refresh();
    else this.pollTimer = setTimeout(() => this.answer(''), this.t.pollTimeout);
  }

  /**
   * A held poll closed before it was answered: the client stopped (its `close()` aborts the poll)
   * or lost the network, and in both cases it will not poll this session again (a client that
   * reconnects resumes by last-event-id on a new one), so the session ends now, not at sessionTimeout.
   */
  private watch(res: ServerResponse): void {
    res.on('close', () => {
      if (this.poll !== res) return;
      this.poll = null;
      this.gone();
    });
  }

  /** What is not acknowledged yet: when that is only what came since the last answer, the shared bytes. */
  private body(): Buffer {
    const pending = this.pending;
    this.pending = null;
    if (pending && pending.count === this.queue.length) return pending.bytes();
    return Buffer.from(this.queue.join(''));
  }

  private answer(body: Buffer | string): void {
    const res = this.poll;
    if (!res) return;
    this.poll = null;
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(200, [...LP_HEADERS, buf.length]);
    res.end(buf);
    this.idle();
  }

  /** No poll is held now: the session expires unless the next one comes within `sessionTimeout`. */
  private idle(): void {
    if (this.closed || this.poll) return;
    if (this.reaper) this.reaper.refresh();
    else (this.reaper = setTimeout(() => this.poll || this.gone(), this.t.sessionTimeout)).unref();
  }

  protected gone(): void {
    super.gone();
    this.release();
  }

  private release(): void {
    clearTimeout(this.pollTimer ?? undefined);
    clearTimeout(this.reaper ?? undefined);
    this.pollTimer = this.reaper = null;
  }

  protected end(): Promise<void> {
    // Whatever is queued goes to a held poll; the next poll then gets 404 and the client reconnects.
    if (this.poll) this.answer(this.body());
    this.release();
    this.queue = [];
    return Promise.resolve();
  }
}
