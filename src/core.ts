/**
 * `push-client/core`: the client without any transport built in. Pass the transports you import
 * (`transports: [webSocket, eventSource, longPoll]`); what an app does not import is not in its bundle.
 * @packageDocumentation
 */
export { PushClient } from './client/PushClient';
export { webSocket } from './transports/websocket';
export { eventSource } from './transports/eventsource';
export { longPoll } from './transports/longpoll';
export { PushError, type PushErrorCode } from './protocol/errors';
