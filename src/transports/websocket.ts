import { PushError, parseEvents } from '../protocol';
import { tooLarge, type TransportDefinition, type TransportFactory } from './transport';

/**
 * WebSocket. Frames from a push-client server hold whole SSE events (the first frame is the hello);
 * a plain server's text frames are each one `message` event, so a tutorial broadcast server works
 * unchanged. (The client counts a connection open at its first frame: a server that speaks only
 * when spoken to, an echo server, never opens.)
 */
const create: TransportFactory = (options) => {
  let ws: WebSocket | undefined;
  /** `undefined` until the first frame says which kind of peer this is. */
  let ours: boolean | undefined;
  /** Whether the handshake succeeded: a socket that closes before is a refused or unreachable upgrade. */
  let upgraded = false;
  /** The runtime's error event, the closing's cause (Node's `ws` names the HTTP status of a refused upgrade). */
  let cause: unknown;
  const stop = () => {
    if (!ws) return;
    ws.onmessage = ws.onclose = null;
    // onerror stays: closing a CONNECTING socket reports an error we do not care about.
    // Node's `ws` would keep a dead socket and a timer for 30 s waiting for the peer's close frame.
    'terminate' in ws ? (ws as { terminate(): void }).terminate() : ws.close();
    ws = undefined;
  };
  const end = (message: string) => {
    stop();
    transport.onclose(new PushError('TRANSPORT_FAILED', message, { cause }));
  };
  const frame = (text: string) => {
    ours ??= text.startsWith('data: $hello\n');
    // A plain server's frame is one message; ours batch events, and parseEvents holds each to the limit.
    if (!ours) return text.length > options.maxMessageSize ? tooLarge(transport, 1) : transport.onreceive({ event: 'message', data: text });
    const dropped = parseEvents(text, options.maxMessageSize, (e) => ws && transport.onreceive(e));
    if (dropped) tooLarge(transport, dropped);
  };
  const transport = {
    connect() {
      const WebSocketClass = options.WebSocket || globalThis.WebSocket;
      try {
        ws = new WebSocketClass(options.url.replace(/^http/, 'ws'));
      } catch {
        // No cause: the runtime's message quotes the URL, query (tokens) included.
        return end(WebSocketClass ? 'cannot open WebSocket' : 'no WebSocket: pass options.WebSocket');
      }
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (m) => frame(typeof m.data === 'string' ? m.data : new TextDecoder().decode(m.data));
      ws.onopen = () => (upgraded = true);
      ws.onclose = (c) => end(`WebSocket ${upgraded ? 'closed' : 'did not open'} (${c.code}${c.reason && ' ' + c.reason})`);
      ws.onerror = (e) => (cause = e); // onclose always follows, with the code
    },
    send(text: string) {
      if (ws?.readyState !== 1) return Promise.reject(new PushError('SEND_FAILED', 'WebSocket not open'));
      ws.send(text);
      return Promise.resolve();
    },
    stop,
  } as ReturnType<TransportFactory>;
  return transport;
};

/** webSocket: pass it in `transports` (push-client/core). */
export const webSocket: TransportDefinition = { name: 'websocket', tag: 'ws', scheme: 'ws', create };
