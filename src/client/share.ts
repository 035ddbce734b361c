import { ACK, HELLO, JOIN, LEAVE, encodeClientMessage, isHello, type Ack, type Hello, type SseEvent } from '../protocol';
import { tabTransport, type TabMessage } from '../transports/tab';
import type { TransportDefinition } from '../transports/transport';
import type { PushClient } from './push-client';
import type { Status } from './state';

/**
 * What the client lets its tab sharing see and do. The client fills in the first part; sharing sets
 * the hooks of the second part while this tab leads.
 */
export interface ShareSeam {
  /** The group's name: its Web Lock's and its `BroadcastChannel`'s. */
  readonly name: string;
  /** The client itself: its status, channels and resume point are this tab's. */
  readonly client: PushClient<any, any>;
  /** Connect over these transports from now on (the tab's leader), or the real ones without any, at once. */
  use(transports?: TransportDefinition[]): void;
  /** Waiting out a backoff: go now (the leader's connection is up again). */
  reconnectNow(): void;
  /** Sends text over the open connection. */
  transmit(text: string): Promise<void>;
  /** Hands the client an event as if its connection had delivered it. */
  inject(e: SseEvent): void;
  /** Tells the app whether this tab leads and how many tabs share. */
  setShare(share: Status['share']): void;

  /** Every event the open connection delivers, before the client reads it. */
  relay?: (e: SseEvent) => void;
  /** A join or leave of this tab's own app: `true` when sharing answered it. */
  control?: (text: string) => boolean;
  /** Channels other tabs need, joined on every connect too. */
  otherChannels?: () => Iterable<string>;
}

/** Events kept for followers that (re)attach with an older resume point. */
const REPLAY = 4096;

const ackEvent = (ack: Ack): SseEvent => ({ event: 'message', data: ACK + '\n' + JSON.stringify(ack) });
const helloEvent = (hello: Hello): SseEvent => ({ event: 'message', data: HELLO + '\n' + JSON.stringify(hello) });

/**
 * Joins the tabs of one share group: the tab that holds the group's Web Lock leads (it holds the one
 * connection to the server and passes on what comes in), the others follow over
 * {@link tabTransport}. When the leader goes (tab closed, crashed, navigated away, or `close()`), the
 * browser frees its lock and the next tab takes it and connects with its own resume point, which is
 * the group's: followers reattach and lose nothing. Returns the function that leaves the group.
 */
export function joinGroup(seam: ShareSeam): () => void {
  const channel = new BroadcastChannel(seam.name);
  const post = (message: TabMessage) => channel.postMessage(message);
  const quit = new AbortController();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let leading = false;
  let unsubscribe: (() => void) | undefined;

  // ---- what came in, in either role --------------------------------------------------------------
  /**
   * Every event this tab received, kept in both roles: a follower that becomes the leader answers the
   * others' reattach from the same stream they saw.
   */
  seam.relay = (e) => {
    if (isHello(e)) {
      if (leading) hello = JSON.parse(e.data.slice(HELLO.length + 1));
      return;
    }
    if (e.data.startsWith(ACK + '\n')) return leading && routeAck(JSON.parse(e.data.slice(ACK.length + 1)));
    replay.push(e);
    if (replay.length > REPLAY) replay.splice(0, replay.length - REPLAY);
    if (!leading) return;
    // One message per burst: a WebSocket frame or long-poll body holds many events.
    if (!outbox.length) queueMicrotask(flush);
    outbox.push(e);
  };

  // ---- following -------------------------------------------------------------------------------
  const follow = () => {
    seam.setShare({ leader: false, tabs: 0 });
    seam.use([tabTransport(seam.name)]);
  };
  channel.onmessage = ({ data: message }: MessageEvent<TabMessage>) => {
    if (leading) return onFollowerMessage(message);
    if (message.kind === 'up') {
      seam.setShare({ leader: false, tabs: message.tabs });
      seam.reconnectNow();
    }
  };

  // ---- leading ---------------------------------------------------------------------------------
  /** Attached followers and the channels each of them joined. */
  const followers = new Map<string, Set<string>>();
  /** Attaches that came while the connection was not open: answered when it opens. */
  const waiting = new Map<string, string>();
  const replay: SseEvent[] = [];
  let outbox: SseEvent[] = [];
  let hello: Hello | undefined;
  let transportName = '';
  let wasOpen = false;
  /** Channel requests forwarded for followers, by the (negative) request number they went out with. */
  const forwarded = new Map<number, { tab: string; r: number; channel: string; join: boolean }>();
  let forwardNumber = 0;

  const flush = () => {
    if (outbox.length) post({ kind: 'events', name: transportName, events: outbox });
    outbox = [];
  };
  const count = () => {
    seam.setShare({ leader: true, tabs: followers.size + 1 });
    if (wasOpen) post({ kind: 'up', tabs: followers.size + 1 });
  };
  /** Whether this tab's app or an attached follower holds `channel`. */
  const heldByAnyTab = (channel: string) => seam.client.channels.includes(channel) || [...followers.values()].some((set) => set.has(channel));

  /** Sends a follower's (or a leaving follower's) join or leave with a request number of ours. */
  const forward = (tab: string, r: number, channel: string, join: boolean) => {
    forwarded.set(--forwardNumber, { tab, r, channel, join });
    return seam.transmit(encodeClientMessage({ e: join ? JOIN : LEAVE, d: channel, r: forwardNumber })).catch(() => {});
  };

  /** An answer to a follower's channel request, to that follower alone. */
  const ackTo = (tab: string, ack: Ack) => post({ kind: 'events', to: tab, name: transportName, events: [ackEvent(ack)] });

  /** The server's answer to a channel request forwarded for a follower goes back to it alone, with its own request number. */
  const routeAck = (ack: Ack) => {
    const request = forwarded.get(ack.r);
    if (!request) return;
    forwarded.delete(ack.r);
    const channels = followers.get(request.tab);
    if (ack.ok && request.join) channels?.add(request.channel);
    if (!ack.ok) channels?.delete(request.channel);
    if (request.tab) ackTo(request.tab, { ...ack, r: request.r });
  };

  /** The server's hello as a follower gets it: from this tab's connection, resuming where this tab is. */
  const followerHello = (resumed: boolean) => helloEvent({ ...hello!, cid: 'tab', replay: resumed, last: seam.client.lastEventId, refused: undefined });

  const answerAttach = (tab: string, url: string) => {
    const params = new URL(url).searchParams;
    const lastEventId = params.get('lastEventId') ?? undefined;
    const channels = new Set(params.getAll('ch'));
    for (const ch of channels) if (!heldByAnyTab(ch)) void forward('', 0, ch, true);
    flush();
    const from = lastEventId === undefined ? replay.length : replay.findIndex((e) => e.id === lastEventId) + 1;
    const resumed = lastEventId === undefined || lastEventId === seam.client.lastEventId || from > 0;
    followers.set(tab, channels);
    post({
      kind: 'events',
      to: tab,
      name: transportName,
      events: [followerHello(resumed), ...(from > 0 ? replay.slice(from) : [])],
    });
    count();
  };

  const detach = (tab: string) => {
    const channels = followers.get(tab);
    waiting.delete(tab);
    if (!followers.delete(tab)) return;
    for (const ch of channels!) if (!heldByAnyTab(ch)) void forward('', 0, ch, false);
    count();
  };

  const onFollowerMessage = (message: TabMessage) => {
    if (message.kind === 'attach') {
      seam.client.status.state === 'open' && hello ? answerAttach(message.tab, message.url) : waiting.set(message.tab, message.url);
    } else if (message.kind === 'detach') {
      detach(message.tab);
    } else if (message.kind === 'send') {
      const { tab, id, text } = message;
      const answer = (error?: { code: any; message: string; status?: number }) => post({ kind: 'sent', to: tab, id, error });
      let request: { e?: string; d?: string; r?: number } | undefined;
      if (text.startsWith('{"e":"$')) request = JSON.parse(text);
      const channels = followers.get(tab);
      if (request && channels && (request.e === JOIN || request.e === LEAVE)) {
        const join = request.e === JOIN;
        if (!join) channels.delete(request.d!);
        // A channel another tab still needs stays joined: this tab's leave is answered here.
        if (!join && heldByAnyTab(request.d!)) ackTo(tab, { r: request.r!, ok: true });
        else void forward(tab, request.r!, request.d!, join);
        return answer();
      }
      seam.transmit(text).then(
        () => answer(),
        (e) => answer({ code: e.code, message: e.message, status: e.status }),
      );
    }
  };

  const lead = () => {
    leading = true;
    // Followers attached to the tab that led before: it is gone; reattach to this one.
    post({ kind: 'down', reason: 'a new leader' });
    seam.setShare({ leader: true, tabs: 1 });
    seam.control = (text) => {
      const request = JSON.parse(text) as { e: string; d: string; r: number };
      if (request.e !== LEAVE || ![...followers.values()].some((set) => set.has(request.d))) return false;
      seam.inject(ackEvent({ r: request.r, ok: true }));
      return true;
    };
    seam.otherChannels = () => new Set([...followers.values()].flatMap((set) => [...set]));
    unsubscribe = seam.client.subscribe((status) => {
      const open = status.state === 'open';
      if (open && (!wasOpen || status.transport !== transportName)) {
        const changed = wasOpen;
        transportName = status.transport!;
        wasOpen = true;
        flush();
        // An upgrade: attached followers learn the new transport from a hello.
        if (changed) post({ kind: 'events', name: transportName, events: [followerHello(true)] });
        else post({ kind: 'up', tabs: followers.size + 1 });
        waiting.forEach((url, tab) => answerAttach(tab, url));
        waiting.clear();
      } else if (!open && wasOpen) {
        wasOpen = false;
        flush();
        followers.clear();
        post({ kind: 'down', reason: status.error?.message || status.state });
      }
    });
    seam.use();
  };

  const locks = navigator.locks;
  locks
    .request(seam.name, { ifAvailable: true }, async (lock) => {
      if (!lock) {
        follow();
        // Queued: granted when the leader's tab lets go of the lock.
        return void locks.request(seam.name, { signal: quit.signal }, () => (lead(), held)).catch(() => {});
      }
      lead();
      return held;
    })
    .catch(() => {});

  return () => {
    quit.abort();
    release();
    unsubscribe?.();
    if (leading) {
      flush();
      post({ kind: 'down', reason: 'the leader closed' });
    }
    seam.relay = seam.control = seam.otherChannels = undefined;
    replay.length = 0;
    channel.close();
  };
}
