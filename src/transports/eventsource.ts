import { isBatch, PushError, type SseEvent, unbatch } from '../protocol';
import { held, park, take } from './handover';
import { httpSender } from './http';
import { helloCid, tooLarge, type Transport, type TransportDefinition, type TransportFactory, type TransportOptions } from './transport';

/**
 * What the SSE transport passes to the `EventSource` constructor beyond the standard
 * `withCredentials`. A native `EventSource` ignores the rest; {@link FetchEventSource} reads them,
 * event-source-polyfill and `eventsource` 2 read `headers`, and the `eventsource` package 4 and 5
 * `fetch` (which the transport makes add the headers).
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
  /** 0 connecting (or reconnecting by itself), 1 open, 2 closed. */
  readonly readyState: number;
  close(): void;
}

/** A class that makes one: the runtime's `EventSource`, {@link FetchEventSource}, or a polyfill. */
export type EventSourceClass = new (url: string, init?: EventSourceInitPlus) => EventSourceLike;

/**
 * Server-Sent Events over the runtime's `EventSource`, or the one given in the options (for headers
 * and HTTP status codes in a browser, pass {@link FetchEventSource}; the Node entry does so itself).
 *
 * The client owns reconnects, but a plain server's `retry:` must be honoured, and most EventSources
 * hide it. So an error ends the attempt at once, except where the EventSource is reconnecting by
 * itself (`readyState` CONNECTING) on a plain stream that had opened, and does not say why it failed
 * (a native one, the `eventsource` package, event-source-polyfill): it is left in the client's
 * {@link Handover}, and the next attempt takes it over, so the next request goes when the server
 * asked, with `Last-Event-ID`. An EventSource that says why, with a `PushError` as `error`
 * (FetchEventSource: a 401, a Retry-After, or on a plain stream the server's `retry:` as
 * `retryAfter`), is closed and the client waits as long as that error says.
 */
const create: TransportFactory = (options) => {
  let source: EventSourceLike | undefined;
  let cid: string | undefined;
  let previousId = '';
  const sender = httpSender(options, () => cid);
  const stop = () => {
    source?.close();
    source = undefined;
    sender.stop();
  };
  const transport = {
    connect() {
      let handover = take(options.carry);
      if (!handover) {
        const EventSourceClassToUse: EventSourceClass | undefined = options.EventSource || globalThis.EventSource;
        if (!EventSourceClassToUse) return transport.onclose(new PushError('TRANSPORT_FAILED', 'no EventSource: pass options.EventSource'));
        // The client resumes with the id in the query (`lastEventId`, for our server); a plain server
        // reads Last-Event-ID, which an EventSource that takes headers sends as well.
        const last = new URL(options.url).searchParams.get('lastEventId');
        const headers = last === null ? options.headers : { ...options.headers, 'Last-Event-ID': last };
        // The `eventsource` package takes headers through a `fetch` of its own: one that adds them
        // (its own go last: Accept, and Last-Event-ID when it reconnects by itself).
        const fetchWithHeaders: typeof fetch = (url, init) => (options.fetch || fetch)(url, { ...init, headers: { ...headers, ...(init?.headers as object) } });
        handover = held(
          new EventSourceClassToUse(options.url, { ...options, headers, fetch: fetchWithHeaders, report: (e) => transport.onerror(e) } as EventSourceInitPlus),
          last || '',
        );
      }
      const { source: attemptSource } = handover;
      source = attemptSource;
      previousId = handover.lastEventId;
      const onMessage = (message: MessageEvent) => {
        if (source !== attemptSource) return;
        const e: SseEvent = { event: message.type, data: message.data };
        // `lastEventId` outlives the event that set it: an event without an id repeats the last one.
        if (message.lastEventId !== previousId && (previousId = message.lastEventId)) e.id = previousId;
        // Our server sends a tick's events as one message (after its hello): each keeps its own id.
        if (cid && isBatch(e)) {
          const dropped = unbatch(e, options.maxMessageSize, (inner) => source === attemptSource && transport.onreceive(inner));
          if (dropped) tooLarge(transport, dropped);
          return;
        }
        cid ||= helloCid(e);
        transport.onreceive(e);
      };
      const error = (ev: Event) => {
        if (source !== attemptSource) return;
        let err = (ev as { error?: unknown }).error;
        if (err instanceof PushError) {
          // Our server's `retry:` is in its hello too, the client's backoff floor: only a plain server's
          // (the `retryAfter` of a stream that ended, without a status) is a delay to wait out.
          if (cid && err.status === undefined) err = new PushError(err.code, err.message);
        } else if (!attemptSource.readyState && handover.opened && !cid && options.carry) {
          // Reconnecting by itself after the plain server's `retry:`: the next attempt takes it over.
          handover.lastEventId = previousId;
          source = undefined;
          park(options.carry, handover);
          sender.stop();
          return transport.onclose(new PushError('TRANSPORT_FAILED', 'EventSource reconnecting'));
        }
        stop();
        transport.onclose(err instanceof PushError ? err : new PushError('TRANSPORT_FAILED', 'EventSource error'));
      };
      // Named events need a listener each. Taken a microtask later, so that handlers added just after
      // `new PushClient()` (which connects at once) are listened to; nothing arrives before then
      // (what an EventSource taken over delivered meanwhile is handed over then too).
      queueMicrotask(() => {
        if (source !== attemptSource) return;
        for (const name of options.names?.() || []) if (name !== 'message') handover.listen(name);
        handover.hold({ message: onMessage, error });
      });
    },
    send: (text: string) => (cid ? sender.send(text) : Promise.reject(new PushError('SEND_UNSUPPORTED', 'this SSE server takes no sends'))),
    stop,
  } as Transport;
  return transport;
};

/** eventSource: pass it in `transports` (push-client/core). */
export const eventSource: TransportDefinition = { name: 'eventsource', tag: 'sse', scheme: 'http', create };
