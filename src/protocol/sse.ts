/**
 * The wire format from server to client is `text/event-stream` on every transport: an SSE response
 * body, a long-poll response body (a batch of events) and a WebSocket text frame (one or more events)
 * all hold the same blocks. One incremental parser therefore serves the fetch-based SSE reader, the
 * long-poll and the WebSocket transport.
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
}

/**
 * Incremental `text/event-stream` parser (WHATWG HTML §9.2.6). Feed it chunks of text in any split;
 * it calls `onEvent` for every complete block and `onComment` for comment lines (heartbeats).
 */
export class SseParser {
  private buf = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];
  private retry: number | undefined;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly onComment?: (text: string) => void,
    /** Longest line kept in memory; a longer one throws, so a broken peer cannot exhaust memory. */
    private readonly maxLine = Infinity,
  ) {}

  /** Parses `chunk`; throws a `RangeError` when a single line exceeds `maxLine`. */
  push(chunk: string): void {
    let buf = this.buf + chunk;
    let start = 0;
    for (;;) {
      let nl = buf.indexOf('\n', start);
      const cr = buf.indexOf('\r', start);
      // A lone CR ends a line too; a CR at the very end may be the first half of CRLF, so wait.
      if (cr >= 0 && (nl < 0 || cr < nl)) {
        if (cr === buf.length - 1) break;
        nl = cr;
      }
      if (nl < 0) break;
      if (nl - start > this.maxLine) throw new RangeError('line longer than ' + this.maxLine);
      this.line(buf.slice(start, nl));
      start = nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1);
    }
    this.buf = buf = buf.slice(start);
    if (buf.length > this.maxLine) {
      this.buf = '';
      throw new RangeError('line longer than ' + this.maxLine);
    }
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
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
      if (/^\d+$/.test(value)) this.retry = +value;
    }
  }

  private dispatch(): void {
    const { data, id, retry } = this;
    const event = this.event || 'message';
    this.event = '';
    this.data = [];
    this.id = undefined;
    this.retry = undefined;
    if (data.length || retry !== undefined || id !== undefined) {
      const e: SseEvent = { event, data: data.join('\n') };
      if (id !== undefined) e.id = id;
      if (retry !== undefined) e.retry = retry;
      this.onEvent(e);
    }
  }
}
