import { PushError } from '../protocol';
import type { TransportOptions } from './transport';

/**
 * The reason every request of ours is aborted with, made once. A bare `abort()` makes a DOMException
 * whose stack trace holds the objects of the frames that called it (the client being closed), and
 * Node's fetch may keep an aborted request, reason and all, until its connection is used again: a
 * closed client then stayed in memory.
 */
export const STOPPED = /* @__PURE__ */ new PushError('CLOSED', 'stopped');

/** Turns a non-2xx response into the error the client acts on: 401/403 fatal, Retry-After kept. */
export function httpError(res: Response, what: string): PushError {
  const status = res.status;
  const retryAfter = res.headers.get('retry-after');
  return new PushError(status === 401 || status === 403 ? 'UNAUTHORIZED' : 'TRANSPORT_FAILED', `${what}: HTTP ${status}`, {
    status,
    retryAfter: retryAfter ? (/^\d+$/.test(retryAfter) ? +retryAfter * 1000 : Math.max(0, Date.parse(retryAfter) - Date.now()) || undefined) : undefined,
  });
}

/**
 * UTF-8 decoding of whole bodies that reports the first invalid byte sequence (`BAD_FRAME`), then
 * goes on with U+FFFD in its place, as `EventSource` does. (No `stream` mode: in V8 it decodes
 * about 3× slower; a stream cuts its chunks at character boundaries instead, see FetchEventSource.)
 * Each call is decoded on its own, so a leading BOM is dropped from every one of them, unless
 * `keepBom`: a stream read in chunks may drop only the one at its very start, which its reader does.
 */
export function utf8(report: (e: PushError) => void, keepBom = false): (bytes: Uint8Array) => string {
  let decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: keepBom });
  return (bytes) => {
    try {
      return decoder.decode(bytes);
    } catch {
      report(new PushError('BAD_FRAME', 'invalid UTF-8'));
      return (decoder = new TextDecoder('utf-8', { ignoreBOM: keepBom })).decode(bytes);
    }
  };
}

type HttpOptions = Pick<TransportOptions, 'url' | 'fetch' | 'headers' | 'withCredentials'>;

/** One request with the options SSE, long-poll and sends share; `cid` and `ack` go in the query. */
export function request(options: HttpOptions, init: RequestInit, query?: Record<string, string | number>): Promise<Response> {
  const url = new URL(options.url);
  for (const key in query) url.searchParams.set(key, '' + query[key]);
  return (options.fetch || fetch)(url.href, {
    ...init,
    headers: { ...options.headers, ...(init.headers as Record<string, string>) },
    credentials: options.withCredentials ? 'include' : 'same-origin',
    cache: 'no-store',
  });
}

/**
 * A response body we will not read: released, so the connection is free again. A body that is no
 * web stream (from a custom `fetch`) has no `cancel`: it is left alone rather than throwing where
 * the caller was about to report the response's error.
 */
export const discard = (res: Response) => (res.body as Partial<ReadableStream> | null)?.cancel?.().catch(() => {});

/**
 * Client sends over HTTP: one POST in flight at a time, and whatever was sent meanwhile goes in the
 * next POST as one JSON array, so order is kept and a burst costs few requests. Nothing is posted
 * before `cid()` (the hello's connection id) is known. `stop()` rejects what was not posted yet; a
 * POST already on its way is not aborted: the server's answer says whether it took those sends
 * (a stream cut by a proxy or a platform's time limit leaves the POSTs of its connection valid,
 * and aborting one made a send the server had taken look failed, which an app's retry repeated).
 */
export function httpSender(options: TransportOptions, cid: () => string | undefined) {
  /** Sends waiting for the next POST: each one's text, and what settles its promise. */
  let batch: [text: string, done: (e?: PushError) => void][] = [];
  let busy = false;
  let stopped = false;
  const flush = async () => {
    const id = cid();
    if (busy || !batch.length || !id) return;
    busy = true;
    const posted = batch;
    batch = [];
    let err: PushError | undefined;
    try {
      const body = `[${posted.map(([text]) => text)}]`; // Array#toString joins with commas
      const res = await request(options, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, { cid: id });
      if (!res.ok) err = httpError(res, 'send');
      discard(res);
    } catch (cause) {
      err = new PushError('SEND_FAILED', 'send failed', { cause });
    }
    for (const [, done] of posted) done(err);
    busy = false;
    flush();
  };
  const stop = () => {
    stopped = true;
    const e = new PushError('SEND_FAILED', 'transport stopped');
    for (const [, done] of batch.splice(0)) done(e);
  };
  return {
    send: (text: string) =>
      new Promise<void>((resolve, reject) => {
        batch.push([text, (e) => (e ? reject(e) : resolve())]);
        stopped ? stop() : flush();
      }),
    stop,
  };
}
