import { PushError } from './errors';
import type { SseEvent } from './sse';

/**
 * push-client's own layer on top of the SSE grammar. Every event is an unnamed SSE event whose first
 * data line is `<event>` or `<event>\t<channel>` and whose remaining data is the payload. Unnamed
 * events reach a native `EventSource`'s `onmessage`, so the client never needs to know event names
 * in advance. Names that start with `$` are control messages; applications cannot publish them.
 */

/** Control events from server to client. */
export const HELLO = '$hello';

/** True when `e` is a push-client server's hello (the first message of every connection). */
export const isHello = (e: SseEvent): boolean => e.data.startsWith(HELLO + '\n');
/** Also sent with an `id` in place of an event published with `except` this connection: only the resume point moves. */
export const HEARTBEAT = '$hb';
export const ACK = '$ack';
/**
 * Several events in one SSE message, so that a browser pays its per-message cost (a `MessageEvent`,
 * its `lastEventId`) once per batch: see {@link encodeBatch}.
 */
export const BATCH = '$batch';

/** Query parameters the client sends and the server reads. */
export const QUERY_PARAMS = {
  transport: 't',
  lastEventId: 'lastEventId',
  connection: 'cid',
  ack: 'ack',
  channel: 'ch',
} as const;

/**
 * The query parameter of a long-poll's cursor: the id of the last event it received. (`lastEventId`
 * is the resume point of the connect request, which the polls' URL keeps.) Not in `QUERY_PARAMS`, whose keys
 * every client bundle carries.
 */
export const CURSOR = 'cursor';

/** Values of the `t` parameter: which transport a request belongs to. */
export const TRANSPORT_TAGS = { websocket: 'ws', eventsource: 'sse', longpoll: 'lp' } as const;

/** Names of the three built-in transports, in the default fallback order. */
export type TransportName = keyof typeof TRANSPORT_TAGS;

/** The first message on every transport. */
export interface Hello {
  /** Connection id: used for sends over HTTP and by `push.connection(id)`. */
  cid: string;
  /** Identity of the id sequence; ids from another epoch cannot be resumed. */
  epoch: string;
  /** `false` when the client's last-event-id could not be resumed: events may have been missed. */
  replay: boolean;
  /** Server heartbeat interval in ms. */
  hb: number;
  /** Reconnect base delay the server asks for, in ms. */
  retry?: number;
  /** Channels requested at connect that the server refused, with the reason. */
  refused?: Record<string, string>;
  /**
   * The resume point of a client that sent no last-event-id: the id of the newest event before
   * its stream starts. A client with no event yet resumes from it, so a drop loses nothing.
   */
  last?: string;
}

/** The answer to a join or leave. */
export interface Ack {
  r: number;
  ok: boolean;
  error?: string;
}

/** A decoded server message. */
export interface Frame {
  event: string;
  channel?: string;
  data: string;
  id?: string;
}

const BAD_NAME = /[\t\r\n]/;

/** True when `name` may be published or listened to as an application event. */
export function isEventName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 200 && name[0] !== '$' && !BAD_NAME.test(name);
}

/** True when `name` is usable as a channel name. */
export function isChannelName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 200 && !BAD_NAME.test(name);
}

/** Encodes one server event as an SSE block. `data` is already a string (JSON for our server). */
export function encodeEvent(event: string, data: string, id?: string, channel?: string): string {
  const head = channel === undefined ? event : event + '\t' + channel;
  // `includes` finds no newline in a 4 KiB payload some 40 times faster than a regular expression.
  const body = data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data;
  return (id === undefined ? '' : 'id: ' + id + '\n') + 'data: ' + head + '\ndata: ' + body + '\n\n';
}

/**
 * One event as a line of a {@link encodeBatch} message: `<id>\t<event>\t<channel>\t<payload>`, an
 * empty id or channel meaning none. Undefined when the event does not fit one line (a payload of
 * several lines, an id with a tab): it then goes as a message of its own.
 */
export function encodeBatchLine(event: string, data: string, id?: string, channel?: string): string | undefined {
  if (data.includes('\n') || data.includes('\r') || id?.includes('\t')) return undefined;
  return (id ?? '') + '\t' + event + '\t' + (channel ?? '') + '\t' + data;
}

/**
 * Several events as one SSE message: its first data line is `$batch`, then one data line per event
 * (from {@link encodeBatchLine}), and its `id:` is the last event id. One line per event, where a
 * message of its own takes three or four, is what makes a batch cheap for a browser's SSE parser and
 * its dispatch. A browser dispatches a message only at its blank line, so a batch arrives whole or
 * not at all, and its id is the resume point once every event in it was read; each event inside
 * keeps its own id.
 */
export function encodeBatch(lines: readonly string[]): string {
  let id: string | undefined;
  for (let i = lines.length - 1; i >= 0 && id === undefined; i--) {
    const tab = lines[i].indexOf('\t');
    if (tab) id = lines[i].slice(0, tab);
  }
  // Concatenated, not joined: the server copies the whole tick's text once, when it writes it.
  let text = (id === undefined ? '' : 'id: ' + id + '\n') + 'data: ' + BATCH;
  for (const line of lines) text += '\ndata: ' + line;
  return text + '\n\n';
}

/** True when `e` is a {@link encodeBatch} message. */
export const isBatch = (e: SseEvent): boolean => e.data.startsWith(BATCH + '\n');

/**
 * Passes each event of a {@link encodeBatch} message to `on`, in order, with its own id, as the SSE
 * event its block would have been. A line that is not an event reaches `on` without a name, which
 * {@link decodeFrame} rejects with `BAD_FRAME`. Events over `max` characters are dropped; returns
 * how many were.
 */
export function unbatch(e: SseEvent, max: number, on: (e: SseEvent) => void): number {
  let dropped = 0;
  const text = e.body ?? e.data.slice(BATCH.length + 1);
  for (let start = 0, end = 0; start <= text.length; start = end + 1) {
    end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const idEnd = text.indexOf('\t', start);
    const eventEnd = text.indexOf('\t', idEnd + 1);
    const channelEnd = text.indexOf('\t', eventEnd + 1);
    // Not an event (fewer than four fields, or no name): it goes on without a name, for decodeFrame to reject.
    const fields = idEnd >= 0 && eventEnd > idEnd + 1 && channelEnd > eventEnd && channelEnd < end;
    // `<event>\t<channel>` as a block's head has it, or `<event>` alone when the channel is empty.
    const head = fields ? text.slice(idEnd + 1, channelEnd === eventEnd + 1 ? eventEnd : channelEnd) : '';
    const body = text.slice(head ? channelEnd + 1 : start, end);
    const inner: SseEvent = { event: 'message', data: head + '\n' + body, head, body };
    if (head && idEnd > start) inner.id = text.slice(start, idEnd);
    if (end - start > max) dropped++;
    else on(inner);
  }
  return dropped;
}

/** Decodes an SSE event that came from a push-client server. Throws `BAD_FRAME` when it is not one. */
export function decodeFrame(e: SseEvent): Frame {
  const nl = e.body === undefined ? e.data.indexOf('\n') : -2;
  const head = nl === -2 ? e.head! : nl < 0 ? e.data : e.data.slice(0, nl);
  const tab = head.indexOf('\t');
  if (!head || !tab) throw new PushError('BAD_FRAME', 'event without a name');
  const f: Frame = { event: tab < 0 ? head : head.slice(0, tab), data: nl === -2 ? e.body! : nl < 0 ? '' : e.data.slice(nl + 1) };
  if (tab >= 0) f.channel = head.slice(tab + 1);
  if (e.id !== undefined) f.id = e.id;
  return f;
}

/** A message from client to server: `e` event, `d` data, `r` request number for control messages. */
export interface ClientMessage {
  e: string;
  d?: unknown;
  r?: number;
}

/** Control events from client to server. */
export const JOIN = '$join';
export const LEAVE = '$leave';

/** Encodes client messages: one per WebSocket frame, or an array as one HTTP POST body. */
export const encodeClientMessage = (m: ClientMessage | ClientMessage[]): string => JSON.stringify(m);

/**
 * Parses what a client sent (one message or an array). Throws a `PushError` with code `BAD_FRAME`
 * for anything that is not well formed, so a server can answer 400 and go on.
 */
export function parseClientMessages(text: string): ClientMessage[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new PushError('BAD_FRAME', 'body is not JSON', { cause });
  }
  const list = Array.isArray(v) ? v : [v];
  for (const m of list) {
    if (typeof m !== 'object' || m === null) throw new PushError('BAD_FRAME', 'message is not an object');
    const { e, r } = m as ClientMessage;
    if (!(isEventName(e) || e === JOIN || e === LEAVE)) throw new PushError('BAD_FRAME', 'bad event name');
    if (r !== undefined && !Number.isSafeInteger(r)) throw new PushError('BAD_FRAME', 'bad request number');
  }
  return list as ClientMessage[];
}
