import type { TransportName } from '../protocol';
import { eventSource } from '../transports/eventsource';
import { longPoll } from '../transports/longpoll';
import type { TransportDefinition } from '../transports/transport';
import { webSocket } from '../transports/websocket';
import { channels } from './channels';
import type { Feature } from './feature';
import { transportMemory } from './memory';
import { pageLifecycle } from './page';
import { PushClient as CorePushClient } from './push-client';
import { tabSharing } from './tab-sharing';
import { upgrade } from './upgrade';
import type { PushClientOptions as CoreOptions, PushUrl } from './options';

/** The three transports by name, in the default fallback order. */
export const BUILT_IN: Record<TransportName, TransportDefinition> = { websocket: webSocket, eventsource: eventSource, longpoll: longPoll };

/** Every feature, in the order their hooks run: `push-client` has them all. */
export const ALL_FEATURES: Feature[] = [channels, upgrade, pageLifecycle, transportMemory, tabSharing];

/** Options of `push-client`'s `PushClient`: `transports` also takes the built-in transports by name; every feature is on. */
export interface PushClientOptions extends Omit<CoreOptions, 'transports' | 'features'> {
  /** Fallback order, by name (`'websocket'`, `'eventsource'`, `'longpoll'`) or as transport values. Default: all three, or the keys of a per-transport URL object. */
  transports?: (TransportName | TransportDefinition)[];
}

/** Turns names into the built-in transport values; without `transports`, all three (or those the URL object names). */
export function withBuiltInTransports(url: PushUrl, options: PushClientOptions = {}): CoreOptions {
  const names = Object.keys(BUILT_IN) as TransportName[];
  const list = options?.transports ?? (typeof url === 'object' && url ? names.filter((name) => url[name]) : names);
  // An unknown name stays as it is, for the option check to name it.
  const transports = Array.isArray(list) ? list.map((t) => (typeof t === 'string' ? BUILT_IN[t] || t : t)) : list;
  return { ...options, transports, features: ALL_FEATURES } as CoreOptions;
}

/**
 * {@link CorePushClient | The client} with WebSocket, Server-Sent Events and long-poll built in, and
 * every feature on: by default it tries them in that order, and `transports` takes their names.
 */
export class PushClient<E extends Record<string, any> = Record<string, any>, S extends Record<string, any> = E> extends CorePushClient<E, S> {
  constructor(url: PushUrl, options?: PushClientOptions) {
    super(url, withBuiltInTransports(url, options));
  }
}
