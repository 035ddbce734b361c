import { PushError, SseParser } from '../protocol';
import type { EventSourceInitPlus } from './eventsource';
import { STOPPED, discard, httpError, request, utf8 } from './http';

type Handler = ((this: FetchEventSource, event: any) => unknown) | null;

/** What the error event carries beyond a plain `Event`: why (a `PushError`). */
export type FetchEventSourceError = Event & { error: PushError };

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
/** Reconnection time until the server sends `retry:` (the HTML standard leaves it to the user agent; Chromium and the `eventsource` package wait 3 s). */
const DEFAULT_RECONNECTION_TIME = 3000;
/** `text/event-stream` as the MIME type's essence, parameters allowed (as the `eventsource` package checks it). */
const EVENT_STREAM = /^[\t\n\r ]*text\/event-stream[\t\n\r ]*(?:;|$)/i;

/**
 * Where a chunk's last whole character ends: the bytes of a character cut at the chunk's end
 * (a lead byte and fewer continuation bytes than it announces) wait for the next chunk.
 */
export function wholeCharacters(b: Uint8Array): number {
  let start = b.length - 1;
  while (start > 0 && start > b.length - 4 && (b[start] & 0xc0) === 0x80) start--;
  const lead = b[start];
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start >= 0 && size > b.length - start ? start : b.length;
}

/**
 * What the standard's constructor throws for a URL it cannot parse: a `DOMException` named
 * `SyntaxError`, with the message the `eventsource` package (and Firefox) give, so code written for
 * either reads the same error; a plain `SyntaxError` where there is no `DOMException`.
 */
function invalidUrl(): Error {
  const message = 'An invalid or illegal string was specified';
  return typeof DOMException === 'function' ? new DOMException(message, 'SyntaxError') : new SyntaxError(message);
}

/** A header value is bytes: an id in other scripts goes as its UTF-8 bytes, as browsers send it. */
function byteString(text: string): string {
  let bytes = '';
  for (const byte of new TextEncoder().encode(text)) bytes += String.fromCharCode(byte);
  return bytes;
}

/**
 * An `EventSource` (WHATWG HTML §9.2) that reads the stream with `fetch`, for where the native one
 * falls short: it sends `headers` (a bearer token), it tells the HTTP status behind an error (a 401,
 * a 503's Retry-After) and it runs where there is no `EventSource` (Node, where it is the default
 * SSE reader of push-client). Used on its own it behaves as the standard's: it reconnects after the
 * server's `retry:` (3 s until one comes) with `Last-Event-ID`, fails for good on a status other
 * than 200 or a type other than `text/event-stream`, and dispatches `open`, `message`, named events
 * and `error` to `on…` handlers and `addEventListener` listeners alike.
 *
 * Beyond the standard: the init object also takes `headers`, `fetch`, `maxMessageSize` and `report`
 * ({@link EventSourceInitPlus}), and every `error` event carries the reason as `error`, a
 * `PushError` (`UNAUTHORIZED` on 401/403, `retryAfter` from a Retry-After header, or, when the
 * stream ended, from the server's `retry:`).
 *
 * @throws DOMException `SyntaxError` when `url` is not a valid URL, as the standard's constructor does.
 */
export class FetchEventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSED: 2;

  /** The URL, resolved (against the document's base URL in a page). */
  readonly url: string;
  readonly withCredentials: boolean;
  #readyState = CONNECTING;
  #init: EventSourceInitPlus;
  #lastEventId = '';
  /** The server's `retry:`, once it sent one. */
  #serverRetry: number | undefined;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The `on…` handlers, each called from one listener added when it was first set (so it runs in the order the standard gives it). */
  #handlers = new Map<string, { handler: Handler; listener: (event: Event) => void }>();

  constructor(url: string | URL, init: EventSourceInitPlus = {}) {
    super();
    // In a page a relative URL is resolved against the document's base URL (a <base> element's),
    // not the script's or the page's own, as the standard's constructor does.
    const base = (globalThis as { document?: { baseURI?: string } }).document?.baseURI;
    try {
      this.url = new URL(String(url), base).href;
    } catch {
      throw invalidUrl();
    }
    this.withCredentials = !!init.withCredentials;
    this.#init = init;
    this.#connect();
  }

  /** `CONNECTING` (0) until the stream opens and while it reconnects, `OPEN` (1), `CLOSED` (2) after `close()` or a failure. */
  get readyState(): number {
    return this.#readyState;
  }

  get onopen(): Handler {
    return this.#handler('open');
  }
  set onopen(handler: Handler) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler {
    return this.#handler('message');
  }
  set onmessage(handler: Handler) {
    this.#setHandler('message', handler);
  }
  get onerror(): Handler {
    return this.#handler('error');
  }
  set onerror(handler: Handler) {
    this.#setHandler('error', handler);
  }

  /** As the DOM's `EventSource` types it: listeners of named events get a `MessageEvent`, with the source as `this`. */
  override addEventListener(
    type: string,
    listener: ((this: FetchEventSource, event: MessageEvent) => unknown) | EventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListener, options);
  }

  override removeEventListener(
    type: string,
    listener: ((this: FetchEventSource, event: MessageEvent) => unknown) | EventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListener, options);
  }

  /** Ends the stream and any reconnect for good; nothing is dispatched after it. */
  close(): void {
    this.#readyState = CLOSED;
    clearTimeout(this.#timer);
    this.#controller?.abort(STOPPED);
    this.#controller = undefined;
  }

  #handler(type: string): Handler {
    return this.#handlers.get(type)?.handler ?? null;
  }

  #setHandler(type: string, handler: Handler) {
    const entry = this.#handlers.get(type);
    if (typeof handler !== 'function') handler = null;
    if (entry && handler) entry.handler = handler;
    else if (entry) {
      this.removeEventListener(type, entry.listener);
      this.#handlers.delete(type);
    } else if (handler) {
      const added = { handler, listener: (event: Event) => added.handler?.call(this, event) };
      this.#handlers.set(type, added);
      this.addEventListener(type, added.listener);
    }
  }

  async #connect() {
    const controller = (this.#controller = new AbortController());
    let response: Response;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      for (const name in this.#init.headers) {
        const lower = name.toLowerCase();
        if (lower !== 'accept' && !(lower === 'last-event-id' && this.#lastEventId)) headers[name] = this.#init.headers[name];
      }
      if (this.#lastEventId) headers['Last-Event-ID'] = byteString(this.#lastEventId);
      response = await request({ ...this.#init, url: this.url, headers: undefined }, { headers, signal: controller.signal });
    } catch (cause) {
      if (controller === this.#controller) this.#reestablish('request failed', cause);
      return;
    }
    if (controller !== this.#controller) return void discard(response);
    // As the standard says: only a 200 of type text/event-stream opens; anything else fails for good.
    if (response.status !== 200) return this.#fail(httpError(response, 'EventSource'), response);
    if (!EVENT_STREAM.test(response.headers.get('content-type') || '')) {
      return this.#fail(new PushError('BAD_FRAME', 'EventSource: response is not text/event-stream'), response);
    }
    this.#readyState = OPEN;
    this.dispatchEvent(new Event('open'));
    await this.#read(response, controller);
  }

  async #read(response: Response, controller: AbortController) {
    const report = this.#init.report || (() => {});
    const origin = new URL(response.url || this.url).origin;
    const parser = new SseParser(
      (e, hasData) => {
        // An id outlives its event (the standard's last event ID buffer is never reset).
        if (e.id !== undefined) this.#lastEventId = e.id;
        if (!hasData || controller !== this.#controller) return;
        this.dispatchEvent(new MessageEvent(e.event, { data: e.data, origin, lastEventId: this.#lastEventId }));
      },
      undefined,
      this.#init.maxMessageSize,
      (ms) => (this.#serverRetry = ms),
    );
    // The decoder keeps a BOM: only the one at the very start of the stream is dropped, by the parser.
    const text = utf8(report, true);
    let carry = new Uint8Array(0);
    try {
      // A body that is no web stream (none, or a Node stream from a fetch such as node-fetch 2)
      // fails here, inside the try: a network error, so an error event and a reconnect.
      const reader = response.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || controller !== this.#controller) break;
        let bytes = value;
        if (carry.length) {
          bytes = new Uint8Array(carry.length + value.length);
          bytes.set(carry);
          bytes.set(value, carry.length);
        }
        const end = wholeCharacters(bytes);
        carry = bytes.slice(end);
        try {
          parser.push(text(bytes.subarray(0, end)));
        } catch (e) {
          report(e as PushError); // an event over maxMessageSize was dropped; the stream goes on
        }
      }
    } catch (cause) {
      // A body that could not be read at all is still held by its fetch: aborting frees the connection (where the fetch honours the signal).
      controller.abort(STOPPED);
      if (controller === this.#controller) this.#reestablish('stream failed', cause);
      return;
    }
    if (controller === this.#controller) this.#reestablish('stream ended');
  }

  /**
   * The connection is lost: error event, then a new request after the reconnection time (unless
   * closed meanwhile). The error's `retryAfter` is the server's `retry:`, when it sent one.
   */
  #reestablish(what: string, cause?: unknown) {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CONNECTING;
    this.#controller = undefined;
    this.#dispatchError(new PushError('TRANSPORT_FAILED', `EventSource: ${what}`, { cause, retryAfter: this.#serverRetry }));
    if (this.#readyState !== CONNECTING) return;
    this.#timer = setTimeout(() => this.#readyState === CONNECTING && this.#connect(), this.#serverRetry ?? DEFAULT_RECONNECTION_TIME);
  }

  /** The standard's "fail the connection": closed for good, then one error event. */
  #fail(error: PushError, response: Response) {
    discard(response);
    if (this.#readyState === CLOSED) return;
    this.close();
    this.#dispatchError(error);
  }

  #dispatchError(error: PushError) {
    this.dispatchEvent(Object.assign(new Event('error'), { error }));
  }
}

for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSED', CLOSED],
] as const) {
  Object.defineProperty(FetchEventSource.prototype, name, { value, enumerable: true });
}
