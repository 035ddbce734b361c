import { PushError, SseParser, isBatch, unbatch, type SseEvent, type Transport, type TransportDefinition } from 'push-client/core';

/** A transport of the app's own: the server's SSE stream read with `fetch` and a streaming parser. */
export const httpStream: TransportDefinition = {
  name: 'httpstream',
  tag: 'sse', // the push-client server's SSE route: the same wire format
  scheme: 'http',
  create(options) {
    const abort = new AbortController();
    let stopped = false;
    const deliver = (e: SseEvent) => !stopped && transport.onreceive(e);
    // Our server sends a tick's events as one `$batch` message: each inside keeps its own id.
    const parser = new SseParser((e) => (isBatch(e) ? unbatch(e, options.maxMessageSize, deliver) : deliver(e)), undefined, options.maxMessageSize);
    const transport: Transport = {
      connect() {
        (async () => {
          const response = await fetch(options.url, { headers: options.headers, signal: abort.signal });
          if (!response.ok || !response.body) throw new PushError('TRANSPORT_FAILED', `http stream: HTTP ${response.status}`);
          // One decoder for the whole stream: a character split across two chunks stays whole.
          const decoder = new TextDecoder();
          const reader = response.body.getReader();
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
            try {
              parser.push(decoder.decode(chunk.value, { stream: true }));
            } catch (error) {
              transport.onerror(error as PushError); // an event over maxMessageSize was dropped; the stream goes on
            }
          }
          throw new PushError('TRANSPORT_FAILED', 'http stream ended');
        })().catch((error) => {
          if (stopped) return;
          stopped = true;
          transport.onclose(error instanceof PushError ? error : new PushError('TRANSPORT_FAILED', 'http stream failed', { cause: error }));
        });
      },
      send: () => Promise.reject(new PushError('SEND_UNSUPPORTED', 'http stream is receive-only')),
      stop() {
        stopped = true;
        abort.abort();
      },
      onreceive: () => {},
      onclose: () => {},
      onerror: () => {},
    };
    return transport;
  },
};
