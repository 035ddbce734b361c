/**
 * push-client: one typed client for server push over WebSocket, Server-Sent Events and HTTP long-poll.
 * @packageDocumentation
 */
export { PushClient, type PushClientOptions } from './client/named-transports';
export type { PushUrl } from './client/options';
export type { ReconnectOptions, ReconnectPolicy, RetryContext } from './client/backoff';
export type { Status, State, Meta, Lifecycle } from './client/state';
export type { TransportName, TransportDefinition, Transport, TransportOptions } from './transports/transport';
export type { SseEvent } from './protocol/sse';
export { webSocket } from './transports/websocket';
export { eventSource } from './transports/eventsource';
export { longPoll } from './transports/longpoll';
export { PushError, type PushErrorCode } from './protocol/errors';
export { FetchEventSource } from './transports/fetch-event-source';
export type { EventSourceInitPlus, EventSourceClass, EventSourceLike } from './transports/eventsource';
