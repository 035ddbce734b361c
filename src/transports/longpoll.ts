import { HEARTBEAT, PushError, parseEvents, type SseEvent } from '../protocol';
import { STOPPED, discard, httpError, httpSender, request, utf8 } from './http';
import { helloCid, tooLarge, type Transport, type TransportDefinition, type TransportFactory } from './transport';

/**
 * HTTP long-poll. One request at a time: the next poll is scheduled with `setTimeout` only after the
 * previous response has been read, never with `setInterval`. Each poll names where it is: the last
 * event id it received (`cursor`), so the server answers it from its history
 * and keeps nothing per client, any server process can answer it, and a response lost on the way
 * is answered again. It also says how many events it received (`ack`), which servers that predate
 * cursors go by.
 */
const create: TransportFactory = (options) => {
  let cid: string | undefined;
  /** Aborts the poll in flight. */
  let pollAbort: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let received = 0;
  /**
   * The id of the last event received: the server ends its first answer with one, and any answer
   * that leaves the client short of where it read to. Empty (no cursor) until then.
   */
  let cursor = ''; // sent as CURSOR (protocol/frames.ts), spelt out: a shorthand key costs the bundle least
  let done = false;
  let wake: (() => void) | undefined;
  const sender = httpSender(options, () => cid);
  const page = (globalThis as { document?: Document }).document;

  const end = (err: PushError) => {
    if (done) return;
    transport.stop();
    transport.onclose(err);
  };

  const poll = async () => {
    let body: string;
    try {
      const res = await request(options, { signal: (pollAbort = new AbortController()).signal }, cid ? { cid, ack: received, cursor } : {});
      if (!res.ok || !/^text\/(plain|event-stream)/i.test(res.headers.get('content-type') || '')) {
        discard(res);
        return end(res.ok ? new PushError('BAD_FRAME', 'long-poll: not text/plain') : httpError(res, 'long-poll'));
      }
      body = utf8(transport.onerror)(new Uint8Array(await res.arrayBuffer()));
    } catch (cause) {
      return end(new PushError('TRANSPORT_FAILED', 'long-poll request failed', { cause }));
    }
    if (done) return;
    const events: SseEvent[] = [];
    const dropped = parseEvents(body, options.maxMessageSize, (e) => events.push(e));
    if (dropped) tooLarge(transport, dropped);
    if (!cid && !(cid = events[0] && helloCid(events[0]))) return end(new PushError('BAD_FRAME', 'long-poll: no hello from server'));
    received += events.length + dropped;
    // An empty answer (the server's poll timeout) is the long-poll heartbeat.
    if (!events.length) events.push({ event: 'message', data: HEARTBEAT });
    for (const e of events) {
      cursor = e.id ?? cursor;
      if (!done) transport.onreceive(e);
    }
    if (!done) timer = setTimeout(next);
  };

  /** Waits while the page is hidden (unless told to keep polling), then polls. */
  const next = () => {
    if (options.pollWhenHidden || !page?.hidden) return poll();
    wake = () => {
      if (page.hidden) return;
      page.removeEventListener('visibilitychange', wake!);
      wake = undefined;
      poll();
    };
    page.addEventListener('visibilitychange', wake);
  };

  const transport: Transport = {
    connect() {
      poll();
    },
    send: sender.send,
    stop() {
      // Between two polls the server cannot see us go: tell it, so the session ends now.
      if (cid && !done) request(options, { method: 'DELETE', keepalive: true }, { cid }).catch(() => {});
      done = true;
      clearTimeout(timer);
      pollAbort?.abort(STOPPED);
      sender.stop();
      if (wake) page!.removeEventListener('visibilitychange', wake);
    },
  } as Transport;
  return transport;
};

/** longPoll: pass it in `transports` (push-client/core). */
export const longPoll: TransportDefinition = {
  name: 'longpoll',
  tag: 'lp',
  scheme: 'http',
  create,
  silentWhenHidden: (options) => !options.pollWhenHidden,
};
