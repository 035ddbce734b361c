import { PushError } from '../protocol';
import type { TransportOptions } from './transport';

/** Turns a non-2xx response into the error the client acts on: 401/403 fatal, Retry-After kept. */
export function httpError(res: Response, what: string): PushError {
  const s = res.status;
  const ra = res.headers.get('retry-after');
  let retryAfter: number | undefined;
  if (ra) retryAfter = /^\d+$/.test(ra) ? +ra * 1000 : Math.max(0, Date.parse(ra) - Date.now()) || undefined;
  return new PushError(s === 401 || s === 403 ? 'UNAUTHORIZED' : 'TRANSPORT_FAILED', `${what}: HTTP ${s}`, {
    status: s,
    retryAfter,
  });
}

/**
 * UTF-8 decoding that reports the first invalid byte sequence (`BAD_FRAME`), then goes on with
 * U+FFFD in its place, as `EventSource` does.
 */
export function utf8(report: (e: PushError) => void): (bytes: Uint8Array) => string {
  let d = new TextDecoder('utf-8', { fatal: true });
  return (b) => {
    try {
      return d.decode(b, { stream: true });
    } catch {
      report(new PushError('BAD_FRAME', 'invalid UTF-8'));
      return (d = new TextDecoder()).decode(b, { stream: true });
    }
  };
}

/** Options for `fetch` shared by SSE, long-poll and sends. */
export function requestInit(o: TransportOptions, init: RequestInit): RequestInit {
  init.headers = { ...o.headers, ...(init.headers as Record<string, string>) };
  init.credentials = o.withCredentials ? 'include' : 'same-origin';
  init.cache = 'no-store';
  return init;
}

/** The URL with `key=value` set in its query. */
export function withParam(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.href;
}

/**
 * Client sends over HTTP: one POST in flight at a time, and whatever was sent meanwhile goes in the
 * next POST as one JSON array, so order is kept and a burst costs few requests.
 */
export class HttpSender {
  private batch: { text: string; done: (e?: PushError) => void }[] = [];
  private busy = false;
  /** Set once the hello gave the connection id. */
  cid?: string;
  private abort = new AbortController();

  constructor(private readonly o: TransportOptions) {}

  send(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.push({ text, done: (e) => (e ? reject(e) : resolve()) });
      this.flush();
    });
  }

  stop(): void {
    this.abort.abort();
    this.fail(new PushError('SEND_FAILED', 'transport stopped'));
  }

  private fail(e: PushError) {
    for (const b of this.batch.splice(0)) b.done(e);
  }

  private async flush(): Promise<void> {
    if (this.busy || !this.batch.length || !this.cid) return;
    this.busy = true;
    const batch = this.batch.splice(0);
    let err: PushError | undefined;
    try {
      const res = await (this.o.fetch || fetch)(
        withParam(this.o.url, 'cid', this.cid),
        requestInit(this.o, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '[' + batch.map((b) => b.text).join(',') + ']',
          signal: this.abort.signal,
        }),
      );
      if (!res.ok) err = httpError(res, 'send');
      res.body?.cancel().catch(() => {});
    } catch (cause) {
      err = new PushError('SEND_FAILED', 'send failed', { cause });
    }
    for (const b of batch) b.done(err);
    this.busy = false;
    this.flush();
  }
}
