import type { EventSourceLike } from './eventsource';
import type { Carry } from './transport';

/** Events an EventSource may deliver while it waits for the next attempt; past this it is closed (the attempt then opens afresh from the client's last id). */
const KEPT = 256;

/** Where the messages and errors of a held EventSource go: the transport that holds it. */
export interface Holder {
  message(m: MessageEvent): void;
  error(event: Event): void;
}

/**
 * One EventSource with the listeners on it, added once whoever holds it: a transport, or a
 * {@link Carry} slot between two of them. (Closures rather than a class: they minify smaller.)
 */
export interface Held {
  readonly source: EventSourceLike;
  /** Its last event id as the transport saw it (for the `id` of each event). */
  lastEventId: string;
  /** It opened once: an error while it reconnects is then a stream that went down, not one that never came up. */
  opened: boolean;
  /** Listens for a named event (once per name, whoever holds it). */
  listen(name: string): void;
  /** Gives it to `holder`, with what it delivered while nobody held it; `undefined` lets it wait. */
  hold(holder?: Holder): void;
  close(): void;
}

export function held(source: EventSourceLike, lastEventId: string): Held {
  let holder: Holder | undefined;
  const names = new Set<string>();
  const kept: MessageEvent[] = [];
  const message = (m: MessageEvent) => {
    handle.opened = true;
    if (holder) holder.message(m);
    else if (kept.push(m) > KEPT) source.close();
  };
  const handle: Held = {
    source,
    lastEventId,
    opened: false,
    listen: (name) => void (names.has(name) || (names.add(name), source.addEventListener(name, message))),
    hold(to) {
      holder = to;
      if (to) for (const m of kept.splice(0)) to.message(m);
    },
    close: () => source.close(),
  };
  source.onmessage = message;
  source.addEventListener('open', () => (handle.opened = true));
  // Waiting for the next attempt, one that fails for good (CLOSED) is closed: only one reconnecting is taken.
  source.onerror = (event) => (holder ? holder.error(event) : source.readyState > 1 && source.close());
  return handle;
}

/**
 * On a plain SSE server, an EventSource whose stream went down reconnects by itself after the
 * server's `retry:` (which every EventSource honours but most hide from scripts), with
 * `Last-Event-ID`. The transport that lost its stream leaves the EventSource in its {@link Carry}
 * slot, and the client's next SSE attempt takes it over rather than send a request of its own, which
 * would go sooner than the server asked. The client closes it when another transport opens or it closes.
 */
export function park(carry: Carry, handle: Held): void {
  carry.value?.close();
  handle.hold();
  carry.value = handle;
}

/** The EventSource left in `carry`, if it is still reconnecting or open. */
export function take(carry: Carry | undefined): Held | undefined {
  const parked = carry?.value as Held | undefined;
  if (carry) carry.value = undefined;
  return parked && parked.source.readyState < 2 ? parked : undefined;
}
