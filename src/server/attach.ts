import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { abortUpgrade, reply } from './http';

type RequestListener = (this: unknown, req: IncomingMessage, res: ServerResponse) => void;
/** What `EventEmitter.once` registers: a wrapper that knows the original listener. */
type Raw = RequestListener & { listener?: RequestListener };

/** The two entry points attaching needs. */
export interface Handler {
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

/**
 * Puts `handler` in front of an existing server without breaking the app on it: the server's
 * `request` listeners are taken out and called, in order, for every request the handler declines.
 * Returns a function that puts everything back as it was.
 */
export function attach(server: HttpServer | HttpsServer, handler: Handler): () => void {
  const chain = server.rawListeners('request') as Raw[];
  server.removeAllListeners('request');
  let attached = true;

  const onRequest = function (this: unknown, req: IncomingMessage, res: ServerResponse): void {
    if (handler.handleRequest(req, res)) return;
    if (chain.length === 0) return reply(res, 404, 'not found');
    for (const l of chain) l.call(server, req, res);
  };

  // A listener added after us (say, an app created later) would see our requests too and answer
  // them a second time. 'newListener' fires just before it is added, so it is moved into our chain
  // on the next microtask, before any request can reach it.
  const onNewListener = (event: string | symbol, listener: RequestListener): void => {
    if (event !== 'request' || listener === onRequest) return;
    queueMicrotask(() => {
      if (!attached) return;
      const raw = (server.rawListeners('request') as Raw[]).find((r) => r === listener || r.listener === listener);
      if (!raw) return;
      server.removeListener('request', raw);
      chain.push(raw);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (handler.handleUpgrade(req, socket, head)) return;
    // Other paths belong to other upgrade listeners; with none, nobody would ever answer.
    if (server.listenerCount('upgrade') === 1) abortUpgrade(socket, 400, 'no WebSocket endpoint here');
  };

  server.on('request', onRequest);
  server.on('newListener', onNewListener);
  server.on('upgrade', onUpgrade);

  return () => {
    if (!attached) return;
    attached = false;
    server.off('newListener', onNewListener);
    server.off('request', onRequest);
    server.off('upgrade', onUpgrade);
    for (let i = chain.length - 1; i >= 0; i--) server.prependListener('request', chain[i]);
  };
}
