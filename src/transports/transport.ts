import { PushError, isHello, type SseEvent } from '../protocol';
import type { EventSourceClass } from './eventsource';

export type { TransportName } from '../protocol';

/** What a transport needs from outside; the client fills it in for every attempt. */
export interface TransportOptions {
  /** The full URL for this attempt, query included. */
  url: string;
  WebSocket?: typeof WebSocket;
  EventSource?: EventSourceClass;
  fetch?: typeof fetch;
  /** Extra request headers (fetch-based SSE, long-poll and HTTP sends only). */
  headers?: Record<string, string>;
  withCredentials?: boolean;
  /** Longest message or line accepted, in characters. */
  maxMessageSize: number;
  /** Event names to listen for on an `EventSource` talking to a plain server (named events). */
  names?: () => Iterable<string>;
  /** Long-poll only: keep polling while the page is hidden. */
  pollWhenHidden?: boolean;
  /**
   * What this transport's last attempt left for its next one, of the same client (the SSE transport:
   * an EventSource reconnecting by itself after a plain server's `retry:`). The client closes it when
   * another transport opens, and when it closes.
   */
  carry?: Carry;
}

/** A transport's slot, one per client and transport, for something its next attempt takes over. */
export interface Carry {
  value?: { close(): void };
}

/**
 * The seam between the client and a way of talking to the server: five members, as in SignalR's
 * `ITransport`, plus a non-fatal error report. A transport opens, delivers raw SSE events, sends text,
 * and reports its end once. It knows nothing of the client: fallback, backoff, resume and dedup
 * live above it.
 */
export interface Transport {
  /** Starts opening; success shows as the first `onreceive`, failure as `onclose`. */
  connect(): void;
  /** Sends one encoded client message. Resolves once written (WebSocket) or accepted (HTTP). */
  send(text: string): Promise<void>;
  /** Closes without calling `onclose`. Idempotent. */
  stop(): void;
  /** Every event as the SSE grammar gives it. */
  onreceive: (e: SseEvent) => void;
  /** The transport ended by itself (never after `stop()`); called at most once. */
  onclose: (error: PushError) => void;
  /** Something bad arrived but the transport goes on (a malformed or oversized message). */
  onerror: (error: PushError) => void;
  /**
   * The transport that really carries the connection, where this one relays another's (a follower
   * tab's transport is its leader's connection): shown in `status` and `meta` instead of its own name.
   */
  name?: string;
}

/** Reports events dropped for being over `maxMessageSize` (the stream goes on). */
export const tooLarge = (t: Transport, n: number) => t.onerror(new PushError('TOO_LARGE', `${n} message(s) over maxMessageSize dropped`));

/** Builds a transport for one attempt. */
export type TransportFactory = (o: TransportOptions) => Transport;

/**
 * Everything about one way of reaching the server, as one value the app passes in `transports`
 * (as engine.io-client does): what an app does not import is not in its bundle. A fourth transport
 * is one more such value; the client has no list of its own.
 */
export interface TransportDefinition {
  /** Its name in `status`, `meta`, lifecycle notifications and per-transport URL objects. */
  readonly name: string;
  /** The value of the `t` query parameter on which a push-client server routes the request. */
  readonly tag: string;
  /** The URL scheme it speaks: one http(s) URL given to the client is turned into this one. */
  readonly scheme: 'http' | 'ws';
  /** Opens one attempt. */
  readonly create: TransportFactory;
  /**
   * True when, with these options, it goes quiet on purpose while the page is hidden (long-poll
   * pauses): silence then is not a dead connection.
   */
  readonly silentWhenHidden?: (o: Pick<TransportOptions, 'pollWhenHidden'>) => boolean;
}

/** The hello's connection id (HTTP sends and polls need it), read without the rest of the hello. */
export function helloCid(e: SseEvent): string | undefined {
  if (!isHello(e)) return;
  try {
    const cid = JSON.parse(e.data.slice(e.data.indexOf('\n') + 1)).cid;
    return typeof cid === 'string' ? cid : undefined;
  } catch {
    return;
  }
}
