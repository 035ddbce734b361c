import { eventSource } from './eventsource';
import { longPoll } from './longpoll';
import { webSocket } from './websocket';

/**
 * Every transport the server speaks, in the order of the `transports` option's default. A new
 * transport is one module exporting a `ServerTransport` and one line here.
 */
export const SERVER_TRANSPORTS = [webSocket, eventSource, longPoll] as const;

export type { ServerTransport, TransportContext, TransportEndpoint } from './transport';
