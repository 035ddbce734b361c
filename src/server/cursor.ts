import { ACK, encodeEvent, HEARTBEAT } from '../protocol';
import type { Backplane, BackplaneEntry } from './backplane';
import { visible } from './fan-out';
import type { Session } from './session';
import { isControlRequest } from './shared';

/**
 * Most characters of event blocks in one long-poll answer. The rest stays in the history, where the
 * next poll (which names its cursor) reads it: a burst reaches a slow client in answers of this size,
 * and no client ever has more than this built for it. 4 MiB (and 10,000 entries a page): with 1 MiB a
 * flood took four times the polls, and long-poll fell to about 0.6x of its throughput before the
 * cursor; the per-session queue it replaces held up to 16 MiB.
 */
export const ANSWER_CHARS = 4 << 20;

/** Entries read from the history per page (a page then holds at most {@link ANSWER_CHARS} of blocks). */
export const PAGE_ENTRIES = 10_000;

/** What a long-poll client may see after its cursor, as blocks. */
export interface Page {
  /** Blocks of the entries the connection may see, in order. */
  blocks: string[];
  /** The position after each block (the id of its entry). */
  positions: string[];
  /** The id carried by the last block (`undefined` for a targeted one, which carries none). */
  lastCarried: string | undefined;
  /** The id of the last entry read, seen or not: the cursor after this page. */
  last: string;
}

/** The id on a block's `id:` line, if it starts with one. */
export function idOf(block: string): string | undefined {
  return block.startsWith('id: ') ? block.slice(4, block.indexOf('\n')) : undefined;
}

/**
 * Reads what `session` may see after `cursor` from the backplane's history: its broadcasts and
 * channels' events, and the targeted ones sent to it (without an id, as they go live). `null` when
 * the cursor is not in the history any more (or never was): the client must reconnect and be told
 * of the gap. Synchronous when the backplane is.
 */
export function readPage(bp: Backplane, session: Session, cursor: string): Page | null | Promise<Page | null> {
  const id = session.conn.id;
  const toPage = (entries: BackplaneEntry[] | null): Page | null => {
    if (entries === null) return null;
    const page: Page = { blocks: [], positions: [], lastCarried: undefined, last: cursor };
    let chars = 0;
    for (const e of entries) {
      const at = e.id ?? e.position;
      // Targeted entries without a place in the history (a backplane that gives them none) cannot be stepped over.
      if (at === undefined || chars >= ANSWER_CHARS) break;
      page.last = at;
      let block: string;
      if (e.target !== undefined) {
        // Requests to the process holding a connection (a forwarded join, a close) are not the client's.
        if (e.target !== id || isControlRequest(e.event)) continue;
        block = encodeEvent(e.event, e.data, undefined, e.channel);
        page.lastCarried = undefined;
        if (e.event === ACK) {
          // A join's answer ends the page: what follows is read by the next poll, with the channels it changed.
          page.blocks.push(block);
          page.positions.push(at);
          break;
        }
      } else if (e.except === id && (e.channel === undefined || session.conn.channels.has(e.channel))) {
        // The sender gets the id alone, as fan-out gives it: its resume point passes its own event.
        block = encodeEvent(HEARTBEAT, '', e.id);
        page.lastCarried = e.id;
      } else {
        if (!visible(session, e)) continue;
        block = encodeEvent(e.event, e.data, e.id, e.channel);
        page.lastCarried = e.id;
      }
      page.blocks.push(block);
      page.positions.push(at);
      chars += block.length;
    }
    return page;
  };
  const r = bp.read ? bp.read(cursor, PAGE_ENTRIES) : bp.replay(cursor, (e) => visible(session, e));
  return r instanceof Promise ? r.then(toPage) : toPage(r);
}
