import { PushError, SseParser, type SseEvent } from '../protocol';
import { HttpSender, httpError, requestInit, utf8 } from './http';
import { helloCid, type Transport, type TransportOptions } from './transport';

/**
 * Server-Sent Events. Uses the runtime's `EventSource` when there is one and no headers are needed;
 * otherwise reads the stream with `fetch`, which also sees HTTP status codes (401, 429 + Retry-After)
 * and comments. Either way the native auto-reconnect is not used: the client owns reconnects.
 */
export class EventSourceTransport implements Transport {
  onreceive!: Transport['onreceive'];
  onclose!: Transport['onclose'];
  onerror!: Transport['onerror'];
  private es?: EventSource;
  private abort?: AbortController;
  private sender: HttpSender;
  private done = false;

  constructor(private readonly o: TransportOptions) {
    this.sender = new HttpSender(o);
  }

  connect(): void {
    const ES = this.o.EventSource || (this.o.headers ? undefined : globalThis.EventSource);
    if (ES) this.native(ES);
    else this.fetched();
  }

  private native(ES: typeof EventSource) {
    const es = (this.es = new ES(this.o.url, { withCredentials: !!this.o.withCredentials }));
    const on = (m: MessageEvent) => {
      const e: SseEvent = { event: m.type, data: m.data };
      if (m.lastEventId) e.id = m.lastEventId;
      this.receive(e);
    };
    es.onmessage = on;
    for (const name of this.o.names?.() || []) if (name !== 'message') es.addEventListener(name, on);
    // A native EventSource hides the status; an error before or after open ends this attempt.
    es.onerror = () => this.end(new PushError('TRANSPORT_FAILED', 'EventSource error'));
  }

  private async fetched() {
    const ac = (this.abort = new AbortController());
    try {
      const res = await (this.o.fetch || fetch)(
        this.o.url,
        requestInit(this.o, { headers: { accept: 'text/event-stream' }, signal: ac.signal }),
      );
      if (!res.ok) return this.end(httpError(res, 'EventSource'));
      if (!/^text\/event-stream/i.test(res.headers.get('content-type') || '') || !res.body) {
        res.body?.cancel().catch(() => {});
        return this.end(new PushError('BAD_FRAME', 'EventSource: response is not text/event-stream'));
      }
      const parser = new SseParser((e) => this.receive(e), undefined, this.o.maxMessageSize);
      const text = utf8((e) => this.onerror(e));
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.done) break;
        try {
          parser.push(text(value));
        } catch (e) {
          this.onerror(e as PushError); // an event over maxMessageSize was dropped; the stream goes on
        }
      }
      this.end(new PushError('TRANSPORT_FAILED', 'EventSource: stream ended'));
    } catch (cause) {
      this.end(new PushError('TRANSPORT_FAILED', 'EventSource: request failed', { cause }));
    }
  }

  private receive(e: SseEvent) {
    if (this.done) return;
    if (!this.sender.cid) this.sender.cid = helloCid(e);
    this.onreceive(e);
  }

  send(text: string): Promise<void> {
    return this.sender.cid
      ? this.sender.send(text)
      : Promise.reject(new PushError('SEND_UNSUPPORTED', 'this SSE server takes no sends'));
  }

  stop(): void {
    this.done = true;
    this.es?.close();
    this.abort?.abort();
    this.sender.stop();
  }

  private end(err: PushError) {
    if (this.done) return;
    this.stop();
    this.onclose(err);
  }
}
