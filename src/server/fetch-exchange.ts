import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * The fetch path (`push.fetch`) runs the same endpoints as the Node path: the route, the origin
 * check and CORS, the connection limits, `authorize`, sends with their body limit, `DELETE`, and the
 * long-poll sessions. They were written against Node's `IncomingMessage` and `ServerResponse`, so a
 * WHATWG `Request` is presented to them through the two adapters below, which implement the few
 * members those endpoints use (listed on each). Sharing the code, not copying it, is what keeps the
 * checks the same on both paths; the Node path itself is untouched (its hot loop never sees these).
 * Hooks (`authorize`, `clientIp`, an `allowOrigins` function) are given the `Request` itself
 * ({@link hookRequest}).
 */

/** Headers a fetch host frames itself: a handler may not set them (HTTP/2 forbids the first three). */
const HOST_FRAMED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/**
 * A WHATWG `Request` as the endpoints read an `IncomingMessage`: `method`, `url` (path and query),
 * lower-case `headers`, `socket.remoteAddress` and `socket.destroyed` (the request was aborted), and
 * the body as `data` / `end` / `error` / `close` events, read only once a `data` listener is added
 * (a send refused before its body is read never reads it).
 */
export class FetchRequest extends EventEmitter {
  readonly method: string;
  /** Path and query, as a Node request's target. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly httpVersion = '1.1';
  readonly socket: { readonly remoteAddress: string | undefined; readonly destroyed: boolean };
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(
    /** The request as the host handed it: what hooks are given. */
    readonly request: Request,
    target: URL,
    remoteAddress: string | undefined,
  ) {
    super();
    this.method = request.method;
    this.url = target.pathname + target.search;
    this.headers = Object.fromEntries(request.headers);
    const signal = request.signal;
    this.socket = {
      remoteAddress,
      get destroyed() {
        return signal.aborted;
      },
    };
    this.on('newListener', (event: string) => {
      if (event === 'data' && !this.reader) void this.pump();
    });
  }

  /** Reads the body into `data` events; stops (and cancels the body) once nobody listens. */
  private async pump(): Promise<void> {
    const body = this.request.body;
    if (!body) {
      queueMicrotask(() => this.emit('end'));
      return;
    }
    const reader = (this.reader = body.getReader());
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return void this.emit('end');
        if (this.listenerCount('data') === 0) return void reader.cancel().catch(() => {});
        this.emit('data', Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        // A reader that gave up (413) removed its listeners: the rest of the body is not read.
        if (this.listenerCount('data') === 0) return void reader.cancel().catch(() => {});
      }
    } catch {
      // The client went away mid-body. `readBody` listens to 'error' and answers 400; a reader that
      // gave up meanwhile does not, and an 'error' with no listener would throw.
      if (this.listenerCount('error') > 0) this.emit('error', new Error('request aborted'));
    }
  }
}

/**
 * What the endpoints write to a `ServerResponse`, collected into the WHATWG `Response` that
 * `push.fetch` resolves with: `setHeader`, `writeHead` (an object or a flat list), `headersSent`,
 * `end`, `destroy`, and a `close` event when the client aborts while the answer is still pending (a
 * held long-poll). A streamed answer (SSE) is given whole by {@link stream}.
 */
export class FetchResponse extends EventEmitter {
  headersSent = false;
  /** The answer, once there is one. */
  readonly response: Promise<Response>;
  private settle!: (response: Response) => void;
  private settled = false;
  private status = 200;
  private readonly headers = new Headers();

  constructor(private readonly signal: AbortSignal) {
    super();
    this.response = new Promise((resolve) => (this.settle = resolve));
    if (signal.aborted) queueMicrotask(this.onAbort);
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * The client went away while the answer is pending (a held long-poll). The listener goes once
   * the answer is given: Deno aborts a request's signal after a successful answer too.
   */
  private readonly onAbort = (): void => {
    if (this.settled) return;
    this.emit('close');
    // Nobody reads it; it only settles the promise so that nothing waits on it forever.
    this.finish(new Response(null, { status: 499 }));
  };

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (!HOST_FRAMED.has(name.toLowerCase())) {
      this.headers.delete(name);
      for (const v of Array.isArray(value) ? value : [value]) this.headers.append(name, String(v));
    }
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders | readonly (string | number)[]): this {
    this.status = status;
    this.headersSent = true;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(String(headers[i]), headers[i + 1]);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) if (value !== undefined) this.setHeader(name, value);
    }
    return this;
  }

  end(body?: string | Uint8Array, done?: () => void): this {
    // 204 and 304 may not have a body, not even an empty one.
    const empty = this.status === 204 || this.status === 304 || body === undefined || body.length === 0;
    this.finish(new Response(empty ? null : (body as BodyInit), { status: this.status, headers: this.headers }));
    if (typeof done === 'function') queueMicrotask(done);
    return this;
  }

  /** Answers with a streamed body (SSE). */
  stream(status: number, headers: Record<string, string>, body: ReadableStream<Uint8Array>): void {
    this.writeHead(status, headers);
    this.finish(new Response(body, { status, headers: this.headers }));
  }

  /** Answers with a `Response` made elsewhere (a WebSocket upgrade's). */
  answer(response: Response): Response {
    this.finish(response);
    return response;
  }

  /** A Node response is destroyed to cut the connection; here the closest is a bare 500. */
  destroy(): this {
    this.finish(new Response(null, { status: 500 }));
    return this;
  }

  private finish(response: Response): void {
    if (this.settled) return;
    this.settled = true;
    this.headersSent = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.settle(response);
  }
}

/** The adapters as the endpoints' types: the endpoints use only what the adapters implement (above). */
export function asNode(exchange: { req: FetchRequest; res: FetchResponse }): { req: IncomingMessage; res: ServerResponse } {
  return exchange as unknown as { req: IncomingMessage; res: ServerResponse };
}

/** The request a hook is given: the host's `Request` on the fetch path, else the Node request. */
export function hookRequest(req: IncomingMessage): IncomingMessage | Request {
  return req instanceof FetchRequest ? req.request : req;
}

/** True when `res` answers a `push.fetch` request. */
export function isFetchResponse(res: ServerResponse | FetchResponse): res is FetchResponse {
  return res instanceof FetchResponse;
}

/**
 * A request header, whichever path the request came by: `req.headers.get(name)` on a WHATWG
 * `Request`, `req.headers[name]` (several values joined with `, `) on a Node `IncomingMessage`.
 * For hooks of a server that serves both (`push.fetch` and `handleUpgrade` on Node).
 *
 * @example
 * ```ts
 * createPushServer({ authorize: (req: PushRequest) => requestHeader(req, 'authorization') === `Bearer ${token}` });
 * ```
 */
export function requestHeader(req: IncomingMessage | Request, name: string): string | undefined {
  const headers = req.headers;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = (headers as IncomingMessage['headers'])[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
