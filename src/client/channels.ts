import { ACK, JOIN, LEAVE, PushError, encodeClientMessage, isChannelName, type Ack, type Hello } from '../protocol';
import type { Feature } from './feature';

type Waiter = { resolve: () => void; reject: (e: PushError) => void };
/** `$join\tchannel` or `$leave\tchannel`: one pending request per channel and kind. */
type RequestKey = string;

/**
 * Channels: the set joined (re-joined by every connect through the URL), and joins and leaves the
 * server has yet to acknowledge. A request is sent while open, or by the next hello otherwise.
 */
export function createChannels(
  initial: string[] | undefined,
  io: {
    isOpen(): boolean;
    isClosed(): boolean;
    /** Sends a control message over the open transport. */
    send(text: string): void;
    /** `undefined` while the peer's kind is unknown, true for a plain server (it has no channels). */
    plain(): boolean | undefined;
    /** The set changed: an upgrade probe on its way asked with the old one. */
    changed(): void;
    report(e: PushError): void;
  },
) {
  const joined = new Set(initial);
  const waiting = new Map<RequestKey, Waiter>();
  /** Request number → the request it answers. */
  const sent = new Map<number, RequestKey>();
  let requestNumber = 0;

  /** Asks the server; it answers with an ack (or, if the send is lost, the next hello asks again). */
  const ask = (key: RequestKey) => {
    const [e, d] = key.split('\t');
    sent.set(++requestNumber, key);
    io.send(encodeClientMessage({ e, d, r: requestNumber }));
  };

  /** A join the server refused: the channel is forgotten; `join()` rejects, or for a channel of the options, `error` says so. */
  const refused = (key: RequestKey, why: string) => {
    const channel = key.split('\t')[1];
    const waiter = waiting.get(key);
    const e = new PushError('JOIN_REFUSED', `join "${channel}" refused: ${why}`);
    joined.delete(channel);
    waiting.delete(key);
    waiter ? waiter.reject(e) : io.report(e);
  };

  const request = (kind: typeof JOIN | typeof LEAVE, channel: string): Promise<void> => {
    if (!isChannelName(channel)) return Promise.reject(new PushError('BAD_OPTION', kind.slice(1) + ': invalid channel name'));
    if (io.isClosed()) return Promise.reject(new PushError('CLOSED', 'client is closed'));
    if (io.plain()) return Promise.reject(new PushError('SEND_UNSUPPORTED', 'a plain server has no channels'));
    kind === JOIN ? joined.add(channel) : joined.delete(channel);
    io.changed();
    return new Promise<void>((resolve, reject) => {
      const key = kind + '\t' + channel;
      waiting.get(key)?.resolve(); // superseded by this request
      // Deleted first, so that it goes after any request made since (a hello sends them in order).
      waiting.delete(key);
      waiting.set(key, { resolve, reject });
      if (io.isOpen()) ask(key); // else the next hello sends it
    });
  };

  return {
    joined,
    join: (channel: string) => request(JOIN, channel),
    leave: (channel: string) => request(LEAVE, channel),
    /** A hello: refused channels of the URL are forgotten; requests made while connecting are sent again. */
    hello(h: Hello) {
      sent.clear();
      for (const channel in h.refused) refused(JOIN + '\t' + channel, h.refused[channel]);
      waiting.forEach((_, key) => ask(key));
    },
    ack(a: Ack) {
      const key = sent.get(a.r);
      if (!key) return;
      sent.delete(a.r);
      if (!a.ok) return refused(key, a.error || 'refused');
      waiting.get(key)?.resolve();
      waiting.delete(key);
    },
    /** Every pending request fails with `e` (closed, or the peer turned out to be plain). */
    rejectAll(e: PushError) {
      waiting.forEach((waiter) => waiter.reject(e));
      waiting.clear();
      sent.clear();
    },
  };
}

/**
 * The channels feature: `join()`, `leave()`, the `channels` getter and the `channels` option,
 * joined again by every connect (each channel in the URL), acknowledged by the server.
 */
export const channels: Feature = (internals) => {
  const state = createChannels(internals.options.channels, {
    isOpen: () => internals.status().state === 'open',
    isClosed: () => internals.status().state === 'closed',
    send: (text) => internals.control(text),
    plain: () => internals.plain,
    // An upgrade probe on its way asked for the old channel list: ask again later with the new one.
    changed: () => internals.reprobe?.(),
    report: internals.report,
  });
  Object.defineProperty(internals.client, 'channels', { get: () => [...state.joined] });
  Object.assign(internals.client, { join: state.join, leave: state.leave });
  return {
    params: (params) => state.joined.forEach((channel) => params.append('ch', channel)),
    hello: state.hello,
    control: (event, data) => event === ACK && typeof data?.r === 'number' && (state.ack(data as Ack), true),
    plain: () => state.rejectAll(new PushError('SEND_UNSUPPORTED', 'a plain server has no channels')),
    accepts: (channel) => state.joined.has(channel),
    stopped: state.rejectAll,
  };
};
