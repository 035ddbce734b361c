/**
 * push-client: one typed client for server push over WebSocket, Server-Sent Events and HTTP long-poll.
 * @packageDocumentation
 */
export { PushClient } from './client/PushClient';
export type { PushClientOptions, PushUrl } from './client/options';
export type { ReconnectOptions } from './client/backoff';
export type { Status, State, Meta, Lifecycle } from './client/state';
export type { TransportName } from './transports/transport';
export { PushError, type PushErrorCode } from './protocol/errors';
export { FetchEventSource } from './transports/fetch-event-source';
export type { EventSourceInitPlus, EventSourceClass, EventSourceLike } from './transports/eventsource';
