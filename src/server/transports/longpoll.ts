import type { IncomingMessage, ServerResponse } from 'node:http';
import { CURSOR, QUERY_PARAMS, TRANSPORT_TAGS } from '../../protocol';
import { reply } from '../http';
import { newConnectionId } from '../ids';
import { LpConnection, type PollPosition } from '../lp-connection';
import type { ServerTransport, TransportContext } from './transport';

/** Longest cursor taken: ids of both backplanes are far shorter. */
const MAX_ID = 200;

/**
 * HTTP long-poll: a GET with `t=lp` opens a session; one with `cid` and `cursor` (the id of the last event it got)
 * is its next poll. A poll with only `ack` (blocks received) comes from a client that predates
 * cursors, and is answered as it expects.
 */
export const longPoll: ServerTransport<'longpoll'> = {
  name: 'longpoll',
  tag: TRANSPORT_TAGS.longpoll,
  label: 'long-poll',
  endpoint<User>(context: TransportContext<User>) {
    const o = context.options;
    const poll = async (req: IncomingMessage, res: ServerResponse, cid: string, q: URLSearchParams): Promise<void> => {
      // Here, or (with a directory) made by another process: then this process takes a view of it.
      const found = await context.locate(req, cid, (status, reason, headers) => reply(res, status, reason, headers), true);
      if (!found) return;
      if ('remote' in found || !(found.conn instanceof LpConnection)) return reply(res, 400, 'not a long-poll connection');
      const c = found.conn;
      const cursor = q.get(CURSOR);
      const ack = q.get(QUERY_PARAMS.ack);
      let at: PollPosition;
      if (cursor) {
        if (cursor.length > MAX_ID) return reply(res, 400, 'cursor too long');
        at = { cursor };
      } else if (ack === null || !/^\d{1,15}$/.test(ack)) return reply(res, 400, 'a poll needs a cursor, or ack as a non-negative integer');
      else at = { ack: +ack };
      if (found.record) context.sync(c, found.record);
      if (o.authorize && !found.checked) {
        const refused = await context.recheck(req, c);
        if (refused) return reply(res, refused.status, refused.reason);
        if (c.closed) return reply(res, 404, 'unknown or expired connection');
        if (req.socket.destroyed) return;
      }
      c.onPoll(res, at);
    };
    return {
      request(req, res, q) {
        const cid = q.get(QUERY_PARAMS.connection);
        if (cid !== null) return poll(req, res, cid, q);
        return context.connect(req, res, q, (admission) => new LpConnection(context.host, newConnectionId(), admission, res, o));
      },
    };
  },
};
