import { PushError } from '../protocol';
import type { Endpoints } from './endpoints';
import { asNode, FetchRequest, FetchResponse } from './fetch-exchange';
import { denoUpgrade, FetchWsConnection, type HostSocket, UpgradedSocket, upgradeWithDeno } from './fetch-websocket';
import { reply } from './http';
import { newConnectionId } from './ids';
import type { FetchHost } from './types';

/** A plain-text answer, as the Node path's `reply` gives. */
function plain(status: number, reason: string, headers?: Record<string, string>): Response {
  return new Response(reason, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers } });
}

/**
 * The client's address from what the host passed beside the request: Bun's server
 * (`requestIP`), Deno.serve's handler info (`remoteAddr`, read now: Deno refuses it once the request
 * is answered), or @hono/node-server's `env` (`incoming`). `undefined` when none of them says.
 */
function remoteAddressOf(request: Request, host: FetchHost | undefined): string | undefined {
  if (!host || typeof host !== 'object') return undefined;
  try {
    if (typeof host.requestIP === 'function') {
      const address = host.requestIP(request)?.address;
      if (typeof address === 'string') return address;
    }
    const hostname = host.remoteAddr?.hostname;
    if (typeof hostname === 'string') return hostname;
    const address = host.incoming?.socket?.remoteAddress;
    if (typeof address === 'string') return address;
  } catch {
    // A host object of another shape: the address is unknown, nothing worse.
  }
  return undefined;
}

/** Where the host offers a WebSocket upgrade: Bun's server, else Deno, else nowhere. */
function upgraderOf(host: FetchHost | undefined): 'bun' | 'deno' | null {
  if (host && typeof host === 'object' && typeof host.upgrade === 'function') return 'bun';
  return denoUpgrade() ? 'deno' : null;
}

/**
 * `push.fetch`: serves a WHATWG `Request` and resolves with its `Response`. Everything but the
 * WebSocket upgrade goes through the same endpoints as the Node path (./fetch-exchange.ts); the
 * upgrade is checked as the Node path checks it (origin, then limits and `authorize`) and then
 * handed to the host's own WebSocket (./fetch-websocket.ts).
 */
export class FetchHandler<User> {
  constructor(
    private readonly endpoints: Endpoints<User>,
    private readonly isClosed: () => boolean,
  ) {}

  async handle(request: Request, host?: FetchHost): Promise<Response> {
    if (!(request instanceof Request)) throw new PushError('BAD_OPTION', 'push.fetch takes a Request');
    const options = this.endpoints.options;
    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      return plain(400, 'bad request URL');
    }
    if (target.pathname !== options.path) return plain(404, 'not found');
    if (this.isClosed()) return plain(503, 'server closing');
    const req = new FetchRequest(request, target, remoteAddressOf(request, host));
    const res = new FetchResponse(request.signal);
    if (request.method === 'GET' && /^websocket$/i.test(request.headers.get('upgrade') ?? '')) {
      return this.upgrade(req, res, target.searchParams, host);
    }
    const node = asNode({ req, res });
    if (!this.endpoints.handleRequest(node.req, node.res)) return plain(503, 'server closing');
    return res.response;
  }

  /** A WebSocket upgrade: the Node path's checks, in its order, then the host's upgrade. */
  private async upgrade(req: FetchRequest, res: FetchResponse, query: URLSearchParams, host: FetchHost | undefined): Promise<Response> {
    const options = this.endpoints.options;
    if (!options.transports.has('websocket')) return plain(400, 'websocket transport not enabled');
    const node = asNode({ req, res });
    // Browsers send no preflight for WebSocket, so this is the only guard against other sites' pages.
    if (options.origin?.(node.req) === 'refused') return plain(403, 'origin not allowed');
    const upgrader = upgraderOf(host);
    if (!upgrader) return plain(501, 'this host offers no WebSocket upgrade: use SSE or long-poll, or serve WebSocket with handleUpgrade');
    const admission = await this.endpoints.admit(node.req, (status, reason, headers) => reply(node.res, status, reason, headers));
    if (!admission) return res.response;
    if (req.socket.destroyed) {
      admission.release();
      return res.response;
    }
    const upgraded = new UpgradedSocket((socket: HostSocket) => {
      if (this.isClosed()) {
        socket.close(1001, 'server shutting down');
        admission.release();
        return null;
      }
      const conn = new FetchWsConnection(
        this.endpoints.host,
        newConnectionId(),
        admission,
        socket,
        (c, text) => this.endpoints.receive(c, text),
        options.maxMessageSize,
      );
      this.endpoints.start(conn, node.req, query).catch(options.onError);
      return conn;
    }, admission.release);
    // Answered through `res`, so that it lets go of the request's abort listener.
    try {
      if (upgrader === 'deno') return res.answer(upgradeWithDeno(denoUpgrade()!, req.request, upgraded, options.heartbeatMs));
      if (host!.upgrade!(req.request, { data: upgraded })) {
        // Bun answers the upgrade itself and ignores what fetch returns after a successful one.
        return res.answer(new Response(null));
      }
    } catch (err) {
      options.onError(err);
    }
    admission.release();
    return res.answer(plain(400, 'not a valid WebSocket upgrade'));
  }
}
