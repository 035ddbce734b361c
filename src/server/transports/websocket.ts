import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { TRANSPORT_TAGS } from '../../protocol';
import { abortUpgrade, reply } from '../http';
import { newConnectionId } from '../ids';
import { WsConnection } from '../ws-connection';
import type { ServerTransport, TransportContext } from './transport';

/** WebSocket: any upgrade on the push path; a GET with `t=ws` is told to upgrade. */
export const webSocket: ServerTransport<'websocket'> = {
  name: 'websocket',
  tag: TRANSPORT_TAGS.websocket,
  label: 'websocket',
  upgrades: true,
  endpoint<User>(context: TransportContext<User>) {
    const o = context.options;
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: o.maxMessageSize,
      // Compression costs CPU per connection and opens the door to compression bombs.
      perMessageDeflate: false,
    });
    const receive = (conn: WsConnection<User>, text: string): void => context.receive(conn, text);
    return {
      request: (_req, res) => reply(res, 426, 'WebSocket upgrade required', { Upgrade: 'websocket', Connection: 'Upgrade' }),
      async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, q: URLSearchParams) {
        // Until `ws` takes the socket over, an error on it (a reset while authorize runs) would have no
        // listener and crash the process.
        const onError = (): void => void socket.destroy();
        socket.on('error', onError);
        try {
          const admission = await context.admit(req, (status, reason, headers) => abortUpgrade(socket, status, reason, headers));
          if (!admission) return;
          if (socket.destroyed) return admission.release();
          // `ws` may refuse the handshake itself (a bad key or version) and never call back: the slot
          // goes back when the socket closes, whoever closes it.
          socket.once('close', admission.release);
          wss.handleUpgrade(req, socket, head, (ws) => {
            socket.off('error', onError);
            if (context.closed) return void ws.terminate();
            context.start(new WsConnection(context.host, newConnectionId(), admission, ws, socket, receive), req, q).catch(o.onError);
          });
        } catch (err) {
          o.onError(err);
          socket.destroy();
        }
      },
      close: () => wss.close(),
    };
  },
};
