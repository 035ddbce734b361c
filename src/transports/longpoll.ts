import { HEARTBEAT, PushError, SseParser, type SseEvent } from '../protocol';
import { HttpSender, httpError, requestInit, utf8, withParam } from './http';
import { helloCid, type Transport, type TransportOptions } from './transport';

/**
 * HTTP long-poll. One request at a time: the next poll is scheduled with `setTimeout` only after the
 * previous response has been read, never with `setInterval`. Each poll acknowledges how many events
 * it has received, so a response lost on the way is sent again by the server and nothing is lost.
 */
export class LongPollTransport implements Transport {
  onreceive!: Transport['onreceive'];
  onclose!: Transport['onclose'];
  onerror!: Transport['onerror'];
  private sender: HttpSender;
  private abort?: AbortController;
  private timer?: ReturnType<typeof setTimeout>;
  private received = 0;
  private done = false;
  private wake?: () => void;

  constructor(private readonly o: TransportOptions) {
    this.sender = new HttpSender(o);
  }

  connect(): void {
    this.poll();
  }

  private async poll() {
    this.timer = undefined;
    const cid = this.sender.cid;
    const url = cid ? withParam(withParam(this.o.url, 'cid', cid), 'ack', '' + this.received) : this.o.url;
    const ac = (this.abort = new AbortController());
    let body: string;
    try {
      const res = await (this.o.fetch || fetch)(url, requestInit(this.o, { signal: ac.signal }));
      const bad = !/^text\/(plain|event-stream)/i.test(res.headers.get('content-type') || '');
      if (!res.ok || bad) {
        res.body?.cancel().catch(() => {});
        return this.end(res.ok ? new PushError('BAD_FRAME', 'long-poll: not text/plain') : httpError(res, 'long-poll'));
      }
      body = utf8((e) => this.onerror(e))(new Uint8Array(await res.arrayBuffer()));
    } catch (cause) {
      return this.end(new PushError('TRANSPORT_FAILED', 'long-poll request failed', { cause }));
    }
    if (this.done) return;
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e), undefined, this.o.maxMessageSize);
    try {
      parser.push(body + '\n\n');
    } catch (e) {
      this.onerror(e as PushError); // an event over maxMessageSize was dropped; the rest go on
    }
    if (!cid) {
      this.sender.cid = events[0] && helloCid(events[0]);
      if (!this.sender.cid) return this.end(new PushError('BAD_FRAME', 'long-poll: no hello from server'));
    }
    this.received += events.length + parser.dropped;
    // An empty answer (the server's poll timeout) is the long-poll heartbeat.
    if (!events.length) events.push({ event: 'message', data: HEARTBEAT });
    for (const e of events) {
      if (this.done) return;
      this.onreceive(e);
    }
    if (!this.done) this.timer = setTimeout(() => this.next(), 0);
  }

  /** Waits while the page is hidden (unless told to keep polling), then polls. */
  private next() {
    const doc = (globalThis as { document?: Document }).document;
    if (!this.o.pollWhenHidden && doc?.hidden) {
      const wake = (this.wake = () => {
        if (doc.hidden) return;
        doc.removeEventListener('visibilitychange', wake);
        this.wake = undefined;
        this.poll();
      });
      doc.addEventListener('visibilitychange', wake);
    } else this.poll();
  }

  send(text: string): Promise<void> {
    return this.sender.send(text);
  }

  stop(): void {
    const cid = this.sender.cid;
    // Between two polls the server cannot see us go: tell it, so the session ends now.
    if (cid && !this.done) {
      (this.o.fetch || fetch)(withParam(this.o.url, 'cid', cid), requestInit(this.o, { method: 'DELETE', keepalive: true })).catch(() => {});
    }
    this.done = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.sender.stop();
    if (this.wake) (globalThis as { document?: Document }).document?.removeEventListener('visibilitychange', this.wake);
  }

  private end(err: PushError) {
    if (this.done) return;
    this.stop();
    this.onclose(err);
  }
}
