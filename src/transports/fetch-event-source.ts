import { PushError, SseParser } from '../protocol';
import type { EventSourceInitPlus } from './eventsource';
import { STOPPED, discard, httpError, request, utf8 } from './http';

type Listener = (m: MessageEvent) => void;

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
 * An `EventSource` that reads the stream with `fetch`, for where the native one falls short: it
 * sends `headers` (a bearer token), it sees the HTTP status (a 401 is fatal, a 503's Retry-After is
 * kept) and it runs where there is no `EventSource` (Node). Give it to PushClient as
 * `options.EventSource`; the Node entry uses it by default. Kept out of the browser core, which
 * needs none of it, so an app pays for it only when it imports it.
 *
 * It does what PushClient needs of an EventSource and no more: `onmessage`, `addEventListener` for
 * named events, `onerror`, `close()`. Unlike a native one it does not reconnect by itself: any
 * error closes it, and its error event carries the reason as `error` (a `PushError`).
 */
export class FetchEventSource {
  onmessage: Listener | null = null;
  onerror: ((e: Event & { error?: PushError }) => void) | null = null;
  readyState = 0;
  readonly url: string;
  private named = new Map<string, Set<Listener>>();
  private ac = new AbortController();

  constructor(url: string | URL, init: EventSourceInitPlus = {}) {
    this.url = String(url);
    this.read(init);
  }

  addEventListener(type: string, fn: Listener): void {
    let set = this.named.get(type);
    if (!set) this.named.set(type, (set = new Set()));
    set.add(fn);
  }

  removeEventListener(type: string, fn: Listener): void {
    this.named.get(type)?.delete(fn);
  }

  close(): void {
    this.readyState = 2;
    this.ac.abort(STOPPED);
  }

  private async read(init: EventSourceInitPlus) {
    const report = init.report || (() => {});
    const o = { ...init, url: this.url };
    let lastEventId = '';
    try {
      const res = await request(o, { headers: { accept: 'text/event-stream' }, signal: this.ac.signal });
      if (!res.ok) return this.fail(httpError(res, 'EventSource'));
      if (!/^text\/event-stream/i.test(res.headers.get('content-type') || '') || !res.body) {
        discard(res);
        return this.fail(new PushError('BAD_FRAME', 'EventSource: response is not text/event-stream'));
      }
      this.readyState = 1;
      // As in the HTML standard: an id outlives its event, and an event without data is not dispatched.
      const parser = new SseParser((e) => {
        if (e.id !== undefined) lastEventId = e.id;
        if (e.data) this.dispatch({ type: e.event, data: e.data, lastEventId } as MessageEvent);
      }, undefined, init.maxMessageSize);
      const text = utf8(report);
      const reader = res.body.getReader();
      let carry = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.readyState === 2) break;
        let b = value;
        if (carry.length) {
          b = new Uint8Array(carry.length + value.length);
          b.set(carry);
          b.set(value, carry.length);
        }
        const end = wholeCharacters(b);
        carry = b.slice(end);
        try {
          parser.push(text(b.subarray(0, end)));
        } catch (e) {
          report(e as PushError); // an event over maxMessageSize was dropped; the stream goes on
        }
      }
      this.fail(new PushError('TRANSPORT_FAILED', 'EventSource: stream ended'));
    } catch (cause) {
      this.fail(new PushError('TRANSPORT_FAILED', 'EventSource: request failed', { cause }));
    }
  }

  private dispatch(m: MessageEvent) {
    if (this.readyState === 2) return;
    if (m.type === 'message') this.onmessage?.(m);
    for (const fn of this.named.get(m.type) || []) fn(m);
  }

  private fail(error: PushError) {
    if (this.readyState === 2) return;
    this.close();
    this.onerror?.({ type: 'error', error } as Event & { error: PushError });
  }
}
