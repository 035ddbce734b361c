import { PushError, type SseEvent } from '../protocol';
import type { Transport, TransportDefinition } from './transport';

/**
 * What the tabs of one share group say to each other on their `BroadcastChannel`. The leader (the
 * tab that holds the group's connection) answers attaches and sends, and passes on what the server
 * sends; a follower's transport is {@link tabTransport}.
 */
export type TabMessage =
  /** Follower → leader: attach me; `url` holds my resume point and channels as a server URL would. */
  | { kind: 'attach'; tab: string; url: string }
  /** Follower → leader: I am gone (closed, or reattaching). */
  | { kind: 'detach'; tab: string }
  /** Follower → leader: send this text over the connection; answer with `sent`. */
  | { kind: 'send'; tab: string; id: number; text: string }
  /** Leader → one follower: the answer to `send`. */
  | { kind: 'sent'; to: string; id: number; error?: { code: PushError['code']; message: string; status?: number } }
  /**
   * Leader → one follower (`to`), or every attached one: events as the server sent them (an
   * attach's answer starts with a hello). `name` is the transport the connection uses.
   */
  | { kind: 'events'; to?: string; name: string; events: SseEvent[] }
  /** Leader → all: my connection is down (or I am a new leader): reattach when it is up. */
  | { kind: 'down'; reason: string }
  /** Leader → all: my connection is up: attach now. */
  | { kind: 'up'; tabs: number };

/** A random id for one follower's attachment. */
const newTabId = () => Math.random().toString(36).slice(2);

/**
 * The transport of a follower tab: the group's leader, over a `BroadcastChannel` named `channelName`.
 * It receives the leader's events and sends through it; to the client it is one more transport, the
 * only one it has while another tab leads. Its connection ends when the leader's does.
 */
export function tabTransport(channelName: string): TransportDefinition {
  return {
    name: 'tab',
    tag: 'tab',
    scheme: 'http',
    create(options) {
      const tab = newTabId();
      let channel: BroadcastChannel | undefined;
      let attached = false;
      let sendNumber = 0;
      const pending = new Map<number, [resolve: () => void, reject: (e: PushError) => void]>();
      const post = (message: TabMessage) => channel?.postMessage(message);
      const stop = () => {
        if (!channel) return;
        post({ kind: 'detach', tab });
        channel.close();
        channel = undefined;
        const e = new PushError('SEND_FAILED', 'the leader tab is gone');
        pending.forEach(([, reject]) => reject(e));
        pending.clear();
      };
      const transport: Transport = {
        connect() {
          channel = new BroadcastChannel(channelName);
          channel.onmessage = ({ data: message }: MessageEvent<TabMessage>) => {
            if (message.kind === 'events' && (message.to === tab || (!message.to && attached))) {
              // The first answer to our attach starts with the hello.
              attached = true;
              transport.name = message.name;
              for (const e of message.events) if (channel) transport.onreceive(e);
            } else if (message.kind === 'sent' && message.to === tab) {
              const waiter = pending.get(message.id);
              pending.delete(message.id);
              const error = message.error;
              if (waiter) error ? waiter[1](new PushError(error.code, error.message, { status: error.status })) : waiter[0]();
            } else if (message.kind === 'down' && attached) {
              stop();
              transport.onclose(new PushError('TRANSPORT_FAILED', 'leader tab: ' + message.reason));
            }
          };
          post({ kind: 'attach', tab, url: options.url });
        },
        send(text) {
          return new Promise<void>((resolve, reject) => {
            if (!channel) return reject(new PushError('SEND_FAILED', 'the leader tab is gone'));
            pending.set(++sendNumber, [resolve, reject]);
            post({ kind: 'send', tab, id: sendNumber, text });
          });
        },
        stop,
        onreceive: () => {},
        onclose: () => {},
        onerror: () => {},
      };
      return transport;
    },
  };
}
