import { TRANSPORT_TAGS } from '../../protocol';
import { isFetchResponse } from '../fetch-exchange';
import { FetchSseConnection } from '../fetch-sse';
import { newConnectionId } from '../ids';
import { SseConnection } from '../sse-connection';
import type { ServerTransport, TransportContext } from './transport';

/** Server-Sent Events: a GET with `t=sse`, or with none but `Accept: text/event-stream`. */
export const eventSource: ServerTransport<'eventsource'> = {
  name: 'eventsource',
  tag: TRANSPORT_TAGS.eventsource,
  label: 'eventsource',
  claims: (req) => /text\/event-stream/i.test(req.headers.accept ?? ''),
  endpoint<User>(context: TransportContext<User>) {
    const retryMs = context.options.retryMs;
    return {
      request: (req, res, q) =>
        context.connect(req, res, q, (admission) =>
          // push.fetch's answer is a streamed Response; a Node response is written to its socket.
          isFetchResponse(res)
            ? new FetchSseConnection(context.host, newConnectionId(), admission, res, retryMs)
            : new SseConnection(context.host, newConnectionId(), admission, req, res, retryMs),
        ),
    };
  },
};
