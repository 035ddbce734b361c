import type { IncomingMessage, ServerResponse } from 'node:http';
import { Q, T } from '../../protocol';
import { reply } from '../http';
import { newConnectionId } from '../ids';
import { LpConnection } from '../lp-connection';
import type { ServerTransport, TransportContext } from './transport';

/** HTTP long-poll: a GET with `t=lp` opens a session; one with `cid` and `ack` is its next poll. */
export const longPoll: ServerTransport<'longpoll'> = {
  name: 'longpoll',
  tag: T.longpoll,
  label: 'long-poll',
  endpoint<User>(context: TransportContext<User>) {
    const o = context.options;
    const poll = async (req: IncomingMessage, res: ServerResponse, cid: string, ack: string | null): Promise<void> => {
      const c = context.find(cid);
      if (!c || c.closed) return reply(res, 404, 'unknown or expired connection');
      if (!(c instanceof LpConnection)) return reply(res, 400, 'not a long-poll connection');
      if (ack === null || !/^\d{1,15}$/.test(ack)) return reply(res, 400, 'ack must be a non-negative integer');
      if (o.authorize) {
        const refused = await context.recheck(req, c);
        if (refused) return reply(res, refused.status, refused.reason);
        if (c.closed) return reply(res, 404, 'unknown or expired connection');
        if (req.socket.destroyed) return;
      }
      c.onPoll(res, +ack);
    };
    return {
      request(req, res, q) {
        const cid = q.get(Q.connection);
        if (cid !== null) return poll(req, res, cid, q.get(Q.ack));
        return context.connect(req, res, q, (admission) => new LpConnection(context.host, newConnectionId(), admission, res, o));
      },
    };
  },
};
