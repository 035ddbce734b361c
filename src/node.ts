/**
 * The Node flavour of `push-client` (chosen by the `node` export condition): the same client, with
 * the `ws` package as WebSocket where the runtime has no global one, and SSE read with `fetch`
 * ({@link FetchEventSource}: headers, HTTP status codes) unless an `EventSource` is given.
 */
import WebSocket from 'ws';
import { PushClient as Base, type PushClientOptions } from './client/named-transports';
import type { PushUrl } from './client/options';
import { FetchEventSource } from './transports/fetch-event-source';

export class PushClient<E extends Record<string, any> = Record<string, any>, S extends Record<string, any> = E> extends Base<E, S> {
  constructor(url: PushUrl, options: PushClientOptions = {}) {
    super(url, {
      ...options,
      WebSocket: options.WebSocket || globalThis.WebSocket || (WebSocket as unknown as typeof globalThis.WebSocket),
      EventSource: options.EventSource || FetchEventSource,
    });
  }
}
export type { PushClientOptions };
export type { PushUrl } from './client/options';
export type { ReconnectOptions, ReconnectPolicy, RetryContext } from './client/backoff';
export type { Status, State, Meta, Lifecycle } from './client/state';
export type { TransportName, TransportDefinition, Transport, TransportOptions } from './transports/transport';
export type { SseEvent } from './protocol/sse';
export { webSocket } from './transports/websocket';
export { eventSource } from './transports/eventsource';
export { longPoll } from './transports/longpoll';
export { PushError, type PushErrorCode } from './protocol/errors';
export { FetchEventSource };
export type { EventSourceInitPlus, EventSourceClass, EventSourceLike } from './transports/eventsource';
