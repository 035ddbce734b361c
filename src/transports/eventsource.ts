import { isBatch, PushError, type SseEvent, T, unbatch } from '../protocol';
import { httpSender } from './http';
import { helloCid, tooLarge, type Transport, type TransportDefinition, type TransportFactory, type TransportOptions } from './transport';

/**
 * What the SSE transport passes to the `EventSource` constructor beyond the standard
 * `withCredentials`. A native `EventSource` ignores the rest; {@link FetchEventSource} (and
 * event-source-polyfill, for `headers`) read them.
 */
export interface EventSourceInitPlus extends EventSourceInit, Partial<Pick<TransportOptions, 'headers' | 'fetch' | 'maxMessageSize'>> {
  /** Something bad arrived but the stream goes on (invalid UTF-8, an event over the size limit). */
  report?: (e: PushError) => void;
}

/** What the SSE transport uses of an EventSource: a native one has it, and so has {@link FetchEventSource}. */
export interface EventSourceLike {
  onmessage: ((m: MessageEvent) => void) | null;
  onerror: ((e: Event) => void) | null;
  addEventListener(type: string, fn: (m: MessageEvent) => void): void;
  close(): void;
}

/** A class that makes one: the runtime's `EventSource`, {@link FetchEventSource}, or a polyfill. */
export type EventSourceClass = new (url: string, init?: EventSourceInitPlus) => EventSourceLike;

/**
 * Server-Sent Events over the runtime's `EventSource`, or the one given in the options (for headers
 * and HTTP status codes in a browser, pass {@link FetchEventSource}; the Node entry does so itself).
 * The native auto-reconnect is never used: any error ends the attempt and the client owns reconnects.
 * An error event may carry a `PushError` as `error` (FetchEventSource does: 401, Retry-After).
 */
const create: TransportFactory = (o) => {
  let es: EventSourceLike | undefined;
  let cid: string | undefined;
  let prev = '';
  const sender = httpSender(o, () => cid);
  const stop = () => {
    es?.close();
    es = undefined;
    sender.stop();
  };
  const t = {
    connect() {
      const ES: EventSourceClass | undefined = o.EventSource || globalThis.EventSource;
      if (!ES) return t.onclose(new PushError('TRANSPORT_FAILED', 'no EventSource: pass options.EventSource'));
      const init: EventSourceInitPlus = { ...o, report: (e) => t.onerror(e) };
      const s = (es = new ES(o.url, init));
      const on = (m: MessageEvent) => {
        if (es !== s) return;
        const e: SseEvent = { event: m.type, data: m.data };
        // `lastEventId` outlives the event that set it: an event without an id repeats the last one.
        if (m.lastEventId !== prev && (prev = m.lastEventId)) e.id = prev;
        // Our server sends a tick's events as one message (after its hello): each keeps its own id.
        if (cid && isBatch(e)) {
          const dropped = unbatch(e, o.maxMessageSize, (inner) => es === s && t.onreceive(inner));
          if (dropped) tooLarge(t, dropped);
          return;
        }
        cid ||= helloCid(e);
        t.onreceive(e);
      };
      s.onmessage = on;
      // Named events need a listener each. Taken a microtask later, so that handlers added just after
      // `new PushClient()` (which connects at once) are listened to; nothing arrives before then.
      queueMicrotask(() => {
        for (const n of o.names?.() || []) if (n !== 'message') s.addEventListener(n, on);
      });
      s.onerror = (ev) => {
        if (es !== s) return;
        stop();
        const err = (ev as { error?: unknown }).error;
        t.onclose(err instanceof PushError ? err : new PushError('TRANSPORT_FAILED', 'EventSource error'));
      };
    },
    send: (text: string) => (cid ? sender.send(text) : Promise.reject(new PushError('SEND_UNSUPPORTED', 'this SSE server takes no sends'))),
    stop,
  } as Transport;
  return t;
};

/** eventSource: pass it in `transports` (push-client/core). */
export const eventSource: TransportDefinition = { name: 'eventsource', tag: T.eventsource, scheme: 'http', create };
