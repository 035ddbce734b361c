import { PushError, SseParser } from '../protocol';
import type { Transport, TransportOptions } from './transport';

/**
 * WebSocket. Frames from a push-client server hold SSE blocks (the first one is the hello); a plain
 * server's text frames are each one `message` event, so a tutorial echo server works unchanged.
 */
export class WebSocketTransport implements Transport {
  onreceive!: Transport['onreceive'];
  onclose!: Transport['onclose'];
  onerror!: Transport['onerror'];
  private ws?: WebSocket;
  /** `undefined` until the first frame says which kind of peer this is. */
  private parser?: SseParser | null;

  constructor(private readonly o: TransportOptions) {}

  connect(): void {
    const WS = this.o.WebSocket || globalThis.WebSocket;
    if (!WS) return this.end('no WebSocket implementation: pass options.WebSocket');
    let ws: WebSocket;
    try {
      ws = this.ws = new WS(this.o.url.replace(/^http/, 'ws'));
    } catch {
      // No cause: the runtime's message quotes the URL, query (tokens) included.
      return this.end('cannot open WebSocket');
    }
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (m) => this.frame(typeof m.data === 'string' ? m.data : new TextDecoder().decode(m.data));
    ws.onclose = (c) => this.end(`WebSocket closed (${c.code}${c.reason ? ' ' + c.reason : ''})`);
    ws.onerror = () => {}; // onclose always follows, with the code
  }

  private frame(text: string) {
    if (text.length > this.o.maxMessageSize) {
      return this.onerror(new PushError('TOO_LARGE', `frame of ${text.length} characters dropped`));
    }
    if (this.parser === undefined) {
      this.parser = text.startsWith('data: $hello\n')
        ? new SseParser((e) => this.onreceive(e), undefined, this.o.maxMessageSize)
        : null;
    }
    if (!this.parser) return this.onreceive({ event: 'message', data: text });
    try {
      this.parser.push(text);
    } catch (e) {
      this.onerror(e as PushError);
    }
  }

  send(text: string): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return Promise.reject(new PushError('SEND_FAILED', 'WebSocket not open'));
    ws.send(text);
    return Promise.resolve();
  }

  stop(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = undefined;
    ws.onmessage = ws.onclose = null;
    // onerror stays a no-op: closing a CONNECTING socket reports an error we do not care about.
    // Node's `ws` would keep a dead socket and a timer for 30 s waiting for the peer's close frame.
    'terminate' in ws ? (ws as { terminate(): void }).terminate() : ws.close();
  }

  private end(message: string, cause?: unknown) {
    if (this.ws) this.stop();
    this.onclose(new PushError('TRANSPORT_FAILED', message, { cause }));
  }
}
