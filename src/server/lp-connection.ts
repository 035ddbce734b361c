import type { ServerResponse } from 'node:http';
import { ACK } from '../protocol';
import type { Batch } from './batch';
import { HEARTBEAT_BLOCK } from './blocks';
import { BaseConnection, type Admission, type ConnectionHost } from './connection';
import { ANSWER_CHARS, idOf, type Page } from './cursor';
import { reply } from './http';

/** A flat list (name, value, ...): Node writes it as it is, with no object to copy per answer. */
const LP_HEADERS = ['Content-Type', 'text/plain; charset=utf-8', 'Cache-Control', 'no-store', 'Content-Length'];

/** Timings of a long-poll session. */
export interface LongPollTimings {
  pollTimeout: number;
  sessionTimeout: number;
}

/**
 * Where a poll says it is: the id of the last entry it was sent (`cursor`), or, from a client that predates cursors, how many blocks it got on this
 * connection (`ack`).
 */
export type PollPosition = { cursor: string } | { ack: number };

/** How a `$ack` block starts. */
const ACK_START = 'data: ' + ACK + '\n';

/** A `$hb` carrying only an id: moves the client's cursor past entries it was not sent. */
const cursorBlock = (id: string): string => 'id: ' + id + '\n' + HEARTBEAT_BLOCK;

/**
 * A long-poll session: a cursor, not a copy. Each poll names where the client is, and is answered
 * from the history after it (`host.page`), or, when there is nothing newer, held and answered with
 * what fan-out brings next. Between polls nothing is kept for the client: what is published then
 * is read from the history by its next poll, so a client that polls slowly costs no memory and is
 * never dropped for it, and a poll whose answer was lost is answered again from the same cursor.
 *
 * An answer that leaves the client's last id short of the last entry it covers (a targeted event,
 * which carries no id, or entries the client may not see) ends with a `$hb` carrying that entry's id,
 * so the client's next cursor steps over them.
 */
export class LpConnection<User = unknown> extends BaseConnection<User> {
  /** The poll being held open, if any. */
  private poll: ServerResponse | null;
  /** The held poll's first page is being read: live blocks gather in `pending` meanwhile, unanswered. */
  private reading = false;
  /** The cursor the held poll's answer starts from (moved over entries it may not see). */
  private from: string | undefined;
  /** The client is known to have `from`: it named it, so an answer need not tell it again. */
  private told = false;
  /** The held poll gave an ack, not a cursor: its client counts blocks and takes no trailing id. */
  private counting = false;
  /** Characters in `pending`: past {@link ANSWER_CHARS} later blocks are left to the history. */
  private chars = 0;
  private full = false;
  /** Positions given with blocks that carry no id (targeted ones), by their index in `pending` (1-based). */
  private given: Map<number, string> | null = null;
  /**
   * For polls that count (`ack`): blocks acknowledged before the last answer, and the cursor after
   * each block of that answer, so a count maps back to a cursor (a repeated poll gets the same answer).
   */
  private acked = 0;
  private answeredFrom: string | undefined;
  private answered: (string | undefined)[] = [];
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
  /** Ended on purpose (`close()`: the app, a DELETE, a cursor out of the history), not only let go of here. */
  private over = false;

  constructor(
    host: ConnectionHost,
    id: string,
    admission: Admission<User>,
    /**
     * The request that created the session: it is answered with the hello as soon as there is one.
     * `null` for a view of a session another process created (a poll or send that reached this one).
     */
    res: ServerResponse | null,
    private readonly t: LongPollTimings,
  ) {
    super(host, id, 'longpoll', admission);
    this.poll = res;
    if (res) this.watch(res);
    else this.idle();
  }

  close(): void {
    this.over = true;
    super.close();
  }

  endsEverywhere(): boolean {
    return this.over;
  }

  /** The handshake tells where the client's stream starts (its resume point); the first answer tells the client. */
  resumesAt(id: string | undefined): void {
    this.from = this.answeredFrom = id;
  }

  /** A long-poll client's cursor starts where its stream does: after its id, or, after a gap, now. */
  async locateStart(start: {
    replay: boolean;
    lastEventId?: string;
    last?: string;
    head?: () => string | undefined | Promise<string | undefined>;
  }): Promise<void> {
    const from = start.replay ? (start.lastEventId ?? start.last) : await start.head?.();
    if (!this.closed) this.resumesAt(from);
  }

  /** A poll is answered at the latest after `pollTimeout`, empty if nothing came: that is its heartbeat. */
  helloInterval(options: { heartbeatMs: number; pollTimeout: number }): number {
    return options.pollTimeout;
  }

  /** A control event goes through the history like a targeted send: between polls nothing is kept here. */
  pushControl(event: string, data: string): void {
    this.host.sendControl(this.id, event, data).catch((err: unknown) => this.host.reportError(err));
  }

  /**
   * Takes a block for the held poll's answer; without a held poll (or past the answer's size) it is
   * not kept: the next poll reads it from the history. `position` is the entry's place in the
   * history when the block carries no id of its own (a targeted event).
   */
  push(block: string, line?: string, position?: string): void {
    if (!this.poll || this.full || this.closed) return;
    if (position !== undefined) {
      // The live feed can bring late what the client already read from the history (Redis).
      if (this.from !== undefined && this.host.compareIds(position, this.from) <= 0) return;
    }
    this.pending = (this.pending ?? this.host.batchRoot()).followedBy(block, line);
    if (position !== undefined) {
      (this.given ??= new Map()).set(this.pending.count, position);
      // A join's answer ends the answer: the next poll reads on with the channels it changed.
      if (block.startsWith(ACK_START)) this.full = true;
    }
    if ((this.chars += block.length) >= ANSWER_CHARS) this.full = true;
    if (!this.dirty) {
      // Answered on the next tick, not now, so that a burst goes out as one response.
      this.dirty = true;
      this.host.schedule(this);
    }
  }

  flush(): void {
    this.dirty = false;
    if (this.poll && this.pending && !this.reading && !this.closed) this.answerPending();
  }

  heartbeat(): void {
    // The poll timeout is the long-poll heartbeat: an idle poll is answered empty.
  }

  /** Handles `GET ?t=lp&cid=..&cursor=..` (or `&ack=N` alone, from an older client). */
  onPoll(res: ServerResponse, at: PollPosition): void {
    // One poll at a time: the older one is answered empty, its client has moved on.
    if (this.poll) this.answerEmpty();
    let from: string | undefined;
    if ('cursor' in at) {
      from = at.cursor;
      this.counting = false;
    } else {
      const k = at.ack - this.acked;
      if (k < 0 || k > this.answered.length) {
        reply(res, 400, `ack ${at.ack} out of range ${this.acked}..${this.acked + this.answered.length}`);
        this.idle();
        return;
      }
      from = this.answeredFrom;
      for (let i = k - 1; i >= 0 && from === this.answeredFrom; i--) from = this.answered[i] ?? from;
      this.acked = at.ack;
      this.answered = [];
      this.counting = true;
    }
    this.poll = res;
    this.watch(res);
    this.reset(from, true);
    // Counted from the poll's arrival, whether it is answered from the history or held.
    if (this.pollTimer) this.pollTimer.refresh();
    else this.pollTimer = setTimeout(() => this.answerEmpty(), this.t.pollTimeout);
    // No position known (a backplane without one): only live blocks can answer.
    if (from === undefined) return;
    this.reading = true;
    this.read(res, from);
  }

  /** Reads pages after `from` until one holds something for the client, or the history's end. */
  private read(res: ServerResponse, from: string): void {
    const got = this.host.page(this, from);
    if (got instanceof Promise)
      got.then(
        (p) => this.onPage(res, from, p),
        (err: unknown) => this.failRead(res, err),
      );
    else this.onPage(res, from, got);
  }

  private onPage(res: ServerResponse, from: string, page: Page | null): void {
    if (this.poll !== res || this.closed) return;
    if (page === null) {
      // The cursor fell out of the history (or is not ours): the client reconnects and is told of the gap.
      this.reading = false;
      this.poll = null;
      reply(res, 404, 'cursor not in history: reconnect');
      this.close();
      return;
    }
    if (page.blocks.length === 0 && page.last !== from) {
      // Only entries the client may not see: step over them and read on.
      this.from = page.last;
      this.told = false;
      if (this.counting) this.answeredFrom = page.last;
      return this.read(res, page.last);
    }
    this.reading = false;
    if (page.blocks.length) {
      // Live blocks that came while reading are newer than the page, or in it: the next poll reads them.
      this.reset(this.from, this.told);
      this.answer(page.blocks.join(''), page.positions, page.last, page.lastCarried);
    } else if (this.pending) this.answerPending();
    // Else held until fan-out brings something, or answered empty at pollTimeout.
  }

  private failRead(res: ServerResponse, err: unknown): void {
    if (this.poll !== res) return;
    this.reading = false;
    this.poll = null;
    reply(res, 503, 'history unavailable');
    this.host.reportError(err);
    this.idle();
  }

  /** Starts a new answer from `from`. */
  private reset(from: string | undefined, told: boolean): void {
    this.from = from;
    this.told = told;
    this.pending = null;
    this.given = null;
    this.chars = 0;
    this.full = false;
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

  /** Answers with the live blocks gathered in `pending` (bytes shared with every session that got the same). */
  private answerPending(): void {
    const batch = this.pending!;
    let positions: (string | undefined)[] | null = null;
    let last: string | undefined;
    let carried: string | undefined;
    if (this.counting || !this.told) {
      // Positions per block, only for clients that count blocks (and the first answer, before we know).
      positions = this.positionsOf(batch);
      for (let i = positions.length - 1; i >= 0 && last === undefined; i--) last = positions[i];
      carried = idOf(batch.block!);
    } else {
      // Cursor polls need only where the answer ends.
      const given = this.given?.get(batch.count);
      carried = given === undefined ? idOf(batch.block!) : undefined;
      last = given ?? carried;
      if (last === undefined) for (const p of this.positionsOf(batch)) last = p ?? last;
    }
    this.answer(batch.bytes(), positions, last ?? this.from, carried);
  }

  /** The position after each block of `batch`: its id, or the one it was given, else the one before. */
  private positionsOf(batch: Batch): (string | undefined)[] {
    const out: (string | undefined)[] = [];
    let at = this.from;
    batch.blocks().forEach((block, i) => {
      at = this.given?.get(i + 1) ?? idOf(block) ?? at;
      out.push(at);
    });
    return out;
  }

  /**
   * Answers the held poll with `body` (blocks ending at position `last`; the last one carries the id
   * `carried`). A client that names cursors, and the first answer, get a trailing id when the
   * blocks leave it short of `last`.
   */
  private answer(body: Buffer | string, positions: (string | undefined)[] | null, last: string | undefined, carried: string | undefined): void {
    const res = this.poll;
    if (!res) return;
    this.poll = null;
    let buf = typeof body === 'string' ? Buffer.from(body) : body;
    if (!this.counting && last !== undefined && last !== carried && (last !== this.from || !this.told)) {
      buf = Buffer.concat([buf, Buffer.from(cursorBlock(last))]);
      positions?.push(last);
    }
    if (positions) {
      this.answeredFrom = this.from;
      this.answered = positions;
    }
    this.reset(last, false);
    res.writeHead(200, [...LP_HEADERS, buf.length]);
    res.end(buf);
    this.idle();
  }

  /** Answers the held poll with nothing new; a client that names cursors is told one it stepped to. */
  private answerEmpty(): void {
    if (!this.poll) return;
    if (this.pending && !this.reading) return this.answerPending();
    this.reading = false;
    this.answer('', this.counting ? [] : null, this.from, undefined);
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
    // What was gathered goes to a held poll; the next poll then gets 404 and the client reconnects.
    this.answerEmpty();
    this.release();
    return Promise.resolve();
  }
}
