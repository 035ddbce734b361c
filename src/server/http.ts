import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Ends `res` with a status and a short plain-text reason, as every non-2xx answer does. */
export function reply(res: ServerResponse, status: number, reason: string, headers?: OutgoingHttpHeaders): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(reason),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(reason);
}

/** Refuses an upgrade with a plain HTTP answer on the raw socket, then closes it. */
export function abortUpgrade(socket: Duplex, status: number, reason: string, headers?: Record<string, string>): void {
  if (socket.writable) {
    let extra = '';
    for (const k in headers) extra += `${k}: ${headers[k]}\r\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
        'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        `${extra}Content-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
    );
  }
  // end() flushes first; destroy covers a peer that never reads, so the socket cannot linger.
  socket.once('finish', () => socket.destroy());
  if (!socket.writable) socket.destroy();
}

/** Pathname and query of a request target, or `null` when it cannot be parsed. */
export function splitTarget(url: string | undefined): { pathname: string; query: URLSearchParams } | null {
  if (!url) return null;
  if (url[0] === '/') {
    // The common origin-form target: avoid a full URL parse on every request of the host app.
    const q = url.indexOf('?');
    return q < 0 ? { pathname: url, query: new URLSearchParams() } : { pathname: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
  }
  try {
    const u = new URL(url); // absolute-form, as sent to proxies
    return { pathname: u.pathname, query: u.searchParams };
  } catch {
    return null;
  }
}

/** Why a body could not be read, with the status to answer. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a request body as UTF-8 text, refusing (413) once it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new BodyError(413, `body larger than ${limit} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        cleanup();
        reject(new BodyError(413, `body larger than ${limit} bytes`));
      } else chunks.push(c);
    };
    const onEnd = (): void => {
      cleanup();
      try {
        resolve(utf8.decode(Buffer.concat(chunks, size)));
      } catch {
        reject(new BodyError(400, 'body is not valid UTF-8'));
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new BodyError(400, 'request aborted'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/**
 * Answers a send without reading (the rest of) its body: too large, or refused before it was read.
 * The connection is closed after the answer, so the unread bytes are neither taken for the next
 * request nor read and thrown away, however many a client sends.
 */
export function refuseBody(res: ServerResponse, status: number, reason: string, headers?: OutgoingHttpHeaders): void {
  reply(res, status, reason, { ...headers, Connection: 'close' });
}
