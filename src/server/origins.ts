import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { PushError } from '../protocol';
import { hookRequest } from './fetch-exchange';

/**
 * Which browser origins may use the push server. A function is given the request as its entry point
 * got it: `IncomingMessage` on the Node path, the WHATWG `Request` on `push.fetch`.
 */
export type AllowOrigins<Req = IncomingMessage> = readonly string[] | ((origin: string, req: Req) => boolean);

/** The verdict on one request's `Origin`. */
export type OriginVerdict =
  /** No `Origin` header, or the server's own origin: nothing to check, no CORS headers needed. */
  | 'same'
  /** An allowed cross-origin request: answer with CORS headers for it. */
  | 'cors'
  /** A browser page of another origin that is not allowed: 403. */
  | 'refused';

/**
 * Builds the check for `allowOrigins`. Origins are compared exactly as browsers send them
 * (`https://app.example.com`, no path); `'*'` allows every origin. Requests without an `Origin`
 * (not from a browser page, or a same-origin GET) and same-origin requests always pass: the
 * check is there to stop other sites' pages, which browsers always label.
 */
export function originCheck(allow: AllowOrigins<any>): (req: IncomingMessage) => OriginVerdict {
  let test: (origin: string, req: IncomingMessage | Request) => boolean;
  if (typeof allow === 'function') test = allow;
  else if (Array.isArray(allow) && allow.every((o) => typeof o === 'string')) {
    const set = new Set(allow);
    test = set.has('*') ? () => true : (origin) => set.has(origin);
  } else throw new PushError('BAD_OPTION', 'allowOrigins must be an array of origins or a function');
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return 'same';
    if (sameOrigin(origin, req)) return 'same';
    try {
      return test(origin, hookRequest(req)) ? 'cors' : 'refused';
    } catch {
      return 'refused';
    }
  };
}

/** Same host and port as the request was sent to (the scheme is unknown behind a TLS proxy). */
function sameOrigin(origin: string, req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const i = origin.indexOf('://');
  return i > 0 && origin.slice(i + 3) === host;
}

/** Headers that let an allowed page of `origin` read the answer, cookies included. */
export function corsHeaders(origin: string): OutgoingHttpHeaders {
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
}

/** The answer to a CORS preflight for an allowed origin. */
export function preflightHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  return {
    ...corsHeaders(req.headers.origin!),
    'Access-Control-Allow-Methods': 'GET, POST, DELETE',
    // Content-Type for sends, Last-Event-ID for fetch-based SSE, and whatever headers the client adds for auth.
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || 'Content-Type, Last-Event-ID',
    'Access-Control-Max-Age': '600',
  };
}
