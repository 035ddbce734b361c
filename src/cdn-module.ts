/**
 * The ES-module script for `<script type="module">` (`dist/cdn/push-client.min.mjs`): `push-client`
 * without the opt-in `FetchEventSource`, which has a module of its own beside it
 * (`dist/cdn/fetch-event-source.min.mjs`), so that a page pays for it only where it imports it.
 * @packageDocumentation
 */
export { PushClient } from './client/named-transports';
export { webSocket } from './transports/websocket';
export { eventSource } from './transports/eventsource';
export { longPoll } from './transports/longpoll';
export { PushError } from './protocol/errors';
