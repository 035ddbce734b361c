/**
 * `push-client/core`: the client with no transport built in. Pass the ones you import
 * (`transports: [webSocket, eventSource, longPoll]`, or one written outside this package): what an
 * app does not import is not in its bundle.
 * @packageDocumentation
 */
export { PushClient } from './client/push-client';
export type { PushClientOptions, PushUrl } from './client/options';
export type { ReconnectOptions, ReconnectPolicy, RetryContext } from './client/backoff';
export type { Status, State, Meta, Lifecycle } from './client/state';
export { webSocket } from './transports/websocket';
export { eventSource } from './transports/eventsource';
export { longPoll } from './transports/longpoll';
export { FetchEventSource } from './transports/fetch-event-source';
export type { EventSourceInitPlus, EventSourceClass, EventSourceLike } from './transports/eventsource';
export { channels } from './client/channels';
export { upgrade } from './client/upgrade';
export { pageLifecycle } from './client/page';
export { transportMemory } from './client/memory';
export type { Feature, FeatureHooks, ClientInternals } from './client/feature';
export type { Transport, TransportDefinition, TransportOptions } from './transports/transport';
export { PushError, type PushErrorCode } from './protocol/errors';
export type { SseEvent } from './protocol/sse';
/** For transports written outside this package: the wire format's parsers and the server's route tags. */
export { SseParser, parseEvents } from './protocol/sse';
export { isBatch, unbatch, TRANSPORT_TAGS } from './protocol/frames';
