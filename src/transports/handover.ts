import type { EventSourceLike } from './eventsource';

/** Events an EventSource may deliver while it waits for the next attempt; past this it is closed (the attempt then opens afresh from the client's last id). */
const KEPT = 256;
const CLOSED = 2;

/** Where the messages and errors of a held EventSource go: the transport that holds it. */
export interface Holder {
  message(m: MessageEvent): void;
  error(event: Event): void;
}

/**
 * One EventSource with the listeners on it, added once whoever holds it: a transport, or a
 * {@link Handover} between two of them.
 */
export class Held {
  /** The EventSource's last event id as the transport has seen it (for the `id` of each event). */
  lastEventId: string;
  /** It opened once: an error while it reconnects is then a stream that went down, not one that never came up. */
  opened = false;
  private holder: Holder | undefined;
  private names = new Set<string>();
  private kept: MessageEvent[] = [];

  constructor(
    readonly source: EventSourceLike,
    lastEventId: string,
  ) {
    this.lastEventId = lastEventId;
    const message = (m: MessageEvent) => {
      this.opened = true;
      if (this.holder) this.holder.message(m);
      else if (this.kept.push(m) > KEPT) source.close();
    };
    this.listen = (name) => void (this.names.has(name) || (this.names.add(name), source.addEventListener(name, message)));
    source.onmessage = message;
    source.addEventListener('open', () => (this.opened = true));
    // Waiting for the next attempt, an EventSource that fails for good is closed (it is taken only while it reconnects).
    source.onerror = (event) => (this.holder ? this.holder.error(event) : source.readyState === CLOSED && source.close());
  }

  /** Listens for a named event (once per name, whoever holds it). */
  readonly listen: (name: string) => void;

  /** Gives it to `holder`, with what it delivered while nobody held it; `undefined` lets it wait. */
  hold(holder: Holder | undefined): void {
    this.holder = holder;
    if (holder) for (const m of this.kept.splice(0)) holder.message(m);
  }
}

/**
 * One per client. On a plain SSE server, an EventSource whose stream went down reconnects by itself
 * after the server's `retry:` (which every EventSource honours but most hide from scripts), with
 * `Last-Event-ID`. The transport that loses its stream leaves the EventSource here, and the client's
 * next SSE attempt takes it over rather than sending a request of its own, which would come sooner
 * than the server asked. The client closes it when it closes.
 */
export class Handover {
  private held: Held | undefined;

  /** Leaves `held` for the next attempt (closing one left before). */
  park(held: Held): void {
    this.close();
    held.hold(undefined);
    this.held = held;
  }

  /** The EventSource left here, if it is still reconnecting or open. */
  take(): Held | undefined {
    const held = this.held;
    this.held = undefined;
    return held && held.source.readyState !== CLOSED ? held : undefined;
  }

  close(): void {
    this.held?.source.close();
    this.held = undefined;
  }
}
