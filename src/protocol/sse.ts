import { PushError } from './errors';

/**
 * The wire format from server to client is `text/event-stream` on every transport: an SSE response
 * body, a long-poll response body (a batch of events) and a WebSocket text frame (one or more events)
 * all hold the same blocks. A stream cut anywhere needs the incremental {@link SseParser} (the
 * fetch-based SSE reader); text that holds whole events (a frame, a long-poll body) takes the
 * one-pass {@link parseEvents}.
 */

/** One event as the SSE grammar defines it, before our protocol gives it meaning. */
export interface SseEvent {
  /** The `id:` field, or `undefined` when the block had none. */
  id?: string;
  /** The `event:` field; `message` when absent. */
  event: string;
  /** The `data:` lines joined by `\n`. */
  data: string;
  /** The `retry:` field in ms, when the block set one. */
  retry?: number;
  /**
   * Set by {@link parseEvents} when there are several data lines: the first one, and the others
   * joined. `data` is then `head + '\n' + body`, which `decodeFrame` need not split again (nor
   * flatten: copying a 4 KiB payload once more is a fifth of its cost).
   */
  head?: string;
  body?: string;
}

/**
 * Incremental `text/event-stream` parser (WHATWG HTML §9.2.6). Feed it chunks of text in any split;
 * it calls `onEvent` for every complete block and `onComment` for comment lines (heartbeats).
 *
 * One parser reads one stream: as the standard says, a U+FEFF (BOM) that is the stream's very first
 * character is skipped, whichever chunk brings it (empty chunks before it do not count), so the text
 * may come from a decoder that keeps the BOM. A U+FEFF anywhere else is text: `\uFEFFdata:` later
 * in the stream is a field of that name, which the standard ignores.
 */
export class SseParser {
  private buf = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];
  private retry: number | undefined;
  /** Characters in the lines of the event being read. */
  private size = 0;
  /** Skipping the rest of an over-long line. */
  private skip = false;
  /** The event being read is dropped when it ends (it had an over-long line or too much data). */
  private bad = false;
  /** Something was dropped during this `push`. */
  private over = false;
  /** No character has come yet: a U+FEFF now is the stream's BOM. */
  private atStart = true;
  /** The last chunk ended on a CR, which ended its line: an LF starting the next chunk is the rest of that CRLF. */
  private afterCr = false;
  /** Events dropped so far, for a caller that counts events. */
  dropped = 0;

  constructor(
    /**
     * `hasData` is false for a block without a `data:` line (only `id:` or `retry:`): an EventSource
     * dispatches nothing for it, while `data` alone (`data\n\n`) is an event whose data is "".
     */
    private readonly onEvent: (e: SseEvent, hasData: boolean) => void,
    private readonly onComment?: (text: string) => void,
    /**
     * Longest line, and most data in one event, kept in memory. Past it the event is dropped (the
     * stream goes on with the next one), so a broken peer cannot exhaust memory.
     */
    private readonly maxLine = Infinity,
    /** Called on every valid `retry:` line, when it is read (an EventSource's reconnection time changes then, not at the block's end). */
    private readonly onRetry?: (ms: number) => void,
  ) {}

  /**
   * Parses `chunk`. When it dropped an event over `maxLine`, it still parses the whole chunk, then
   * throws a `PushError` `TOO_LARGE` (once per dropped event) for the caller to report.
   */
  push(chunk: string): void {
    if (this.atStart && chunk) {
      this.atStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.afterCr && chunk) {
      this.afterCr = false;
      if (chunk[0] === '\n') chunk = chunk.slice(1);
    }
    let buf = this.buf + chunk;
    let start = 0;
    // Searched again only once passed: a fresh search per line would make a CR-less batch quadratic.
    let cr = buf.indexOf('\r');
    for (;;) {
      let nl = buf.indexOf('\n', start);
      if (cr >= 0 && cr < start) cr = buf.indexOf('\r', start);
      // A lone CR ends a line too. A CR at the very end ends its line now (an event ending there is
      // dispatched now, not when the next chunk comes, if one ever does); an LF after it is skipped.
      if (cr >= 0 && (nl < 0 || cr < nl)) {
        nl = cr;
        if (cr === buf.length - 1) this.afterCr = true;
      }
      if (nl < 0) break;
      // The rest of a line dropped in an earlier chunk is skipped.
      if (this.skip) this.skip = false;
      else this.line(buf.slice(start, nl));
      start = nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1);
    }
    this.buf = buf = buf.slice(start);
    if (buf.length > this.maxLine) {
      this.buf = '';
      this.drop();
      this.skip = true;
    }
    if (this.over) {
      this.over = false;
      throw new PushError('TOO_LARGE', 'event over maxMessageSize dropped');
    }
  }

  /** Drops the event being read. */
  private drop(): void {
    this.over ||= !this.bad;
    this.bad = true;
    this.data = [];
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if ((this.size += line.length) > this.maxLine) this.drop();
    if (this.bad) return;
    const colon = line.indexOf(':');
    if (colon === 0) return void this.onComment?.(line.slice(1).trimStart());
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.id = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) {
        this.retry = +value;
        this.onRetry?.(this.retry);
      }
    }
  }

  private dispatch(): void {
    const { data, id, retry, bad } = this;
    const event = this.event || 'message';
    this.event = '';
    this.data = [];
    this.id = undefined;
    this.retry = undefined;
    this.size = 0;
    this.bad = false;
    if (bad) this.dropped++;
    else if (data.length || retry !== undefined || id !== undefined) {
      const e: SseEvent = { event, data: data.join('\n') };
      if (id !== undefined) e.id = id;
      if (retry !== undefined) e.retry = retry;
      this.onEvent(e, data.length > 0);
    }
  }
}

/**
 * Parses text that holds whole events only: a WebSocket frame or a long-poll body from a push-client
 * server. The text's end ends its last event. Cheaper than {@link SseParser}, which must carry lines
 * over between chunks: one split, no per-line buffering. Events whose lines add up to more than
 * `max` characters are dropped; returns how many were.
 */
export function parseEvents(text: string, max: number, on: (e: SseEvent) => void): number {
  let dropped = 0;
  let size = 0;
  let event = '';
  let data: string | undefined;
  let body: string | undefined;
  let id: string | undefined;
  let retry: number | undefined;
  const lines = (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text).split('\n');
  lines.push('');
  for (const line of lines) {
    if (!line) {
      if (size > max) dropped++;
      else if (data !== undefined || id !== undefined || retry !== undefined) {
        const e: SseEvent = { event: event || 'message', data: body === undefined ? (data ?? '') : data + '\n' + body };
        if (body !== undefined) (e.head = data), (e.body = body);
        if (id !== undefined) e.id = id;
        if (retry !== undefined) e.retry = retry;
        on(e);
      }
      size = 0;
      event = '';
      data = body = id = retry = undefined;
      continue;
    }
    size += line.length;
    const colon = line.indexOf(':');
    if (!colon) continue;
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
    if (field === 'data') {
      if (data === undefined) data = value;
      else body = body === undefined ? value : body + '\n' + value;
    } else if (field === 'event') event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) id = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) retry = +value;
  }
  return dropped;
}
