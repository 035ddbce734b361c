import { PushError, isEventName } from '../protocol';

/**
 * The app's sends: checked and serialised at `send()`, sent at once while open, or kept in a
 * bounded queue until the next open.
 */
export function createSending(
  maxQueued: number,
  io: {
    /** `'open'`, `'closed'`, or anything else while connecting. */
    state(): string;
    /** Sends `data` of `event`, already serialised as `json`, over the open transport. */
    transmit(event: string, data: unknown, json: string | undefined): Promise<void>;
    /** A send is a moment to check the heartbeat by the clock (a tab may have slept). */
    touch(): void;
  },
) {
  /** Sends waiting for a connection: called with nothing to go out, or with the error to reject. */
  const queue: ((e?: PushError) => void)[] = [];

  const send = (event: string, data?: unknown): Promise<void> => {
    if (!isEventName(event)) return Promise.reject(new PushError('BAD_OPTION', 'send: invalid event name'));
    if (io.state() === 'closed') return Promise.reject(new PushError('CLOSED', 'client is closed'));
    let json: string | undefined;
    try {
      // Now, not when a queued send goes out: there a throw would stop the queue half-way, and what
      // the app changes after `send()` must not matter.
      json = JSON.stringify(data);
    } catch (cause) {
      return Promise.reject(new PushError('BAD_OPTION', 'send: data is not JSON', { cause }));
    }
    io.touch();
    return new Promise<void>((resolve, reject) => {
      const go = (e?: PushError) => (e ? reject(e) : io.transmit(event, data, json).then(resolve, reject));
      if (io.state() === 'open') go();
      else if (queue.length >= maxQueued) reject(new PushError('QUEUE_FULL', `${maxQueued} sends already queued`));
      else queue.push(go);
    });
  };

  return {
    send,
    /** Sends every queued message, in order (on open), or rejects them all with `e` (on close). */
    flush(e?: PushError) {
      for (const go of queue.splice(0)) go(e);
    },
  };
}
