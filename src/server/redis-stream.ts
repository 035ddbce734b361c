/**
 * What the Redis backplane needs from the `redis` client, the stream entry format and the replies
 * it parses. Written against raw commands (`sendCommand`) so that node-redis v4, v5 and v6 clients,
 * with RESP2 or RESP3, all work.
 */
import type { BackplaneEntry } from './backplane';

/** The part of a node-redis client (v4 or later) that the Redis backplane uses. */
export interface RedisClientLike {
  readonly isOpen?: boolean;
  connect(): Promise<unknown>;
  duplicate(): RedisClientLike;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** v5+: graceful close; v4: `quit`. */
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  /** v5+: immediate close; v4: `disconnect`. */
  destroy?(): unknown;
  disconnect?(): Promise<unknown>;
}

/** A stream id split into its epoch (milliseconds part) and its sequence number. */
export interface StreamId {
  ms: string;
  seq: bigint;
}

/** A raw stream entry: its id and its field/value list. */
export interface StreamEntry {
  id: string;
  fields: string[];
}

/** Parses `<ms>-<seq>` as Redis writes it; `null` for anything else. */
export function parseId(s: unknown): StreamId | null {
  if (typeof s !== 'string') return null;
  const m = /^(0|[1-9]\d{0,15})-(0|[1-9]\d{0,19})$/.exec(s);
  if (!m) return null;
  const seq = BigInt(m[2]);
  return seq < 1n << 64n ? { ms: m[1], seq } : null;
}

/** Orders two stream ids as Redis does. */
export function cmpId(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms.length - b.ms.length || (a.ms < b.ms ? -1 : 1);
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/**
 * Creates the stream if it does not exist, with one marker entry whose id `<now>-0` starts a new
 * epoch taken from the Redis server's clock; returns the stream's last generated id. Every later
 * XADD uses `<epoch>-*`, so the sequence numbers of one epoch have no holes.
 */
export const ENSURE_STREAM = `if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  local id = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)) .. '-0'
  redis.call('XADD', KEYS[1], id, '${'$'}', 'epoch')
  return id
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return redis.error_reply('no last-generated-id')`;

// Field names in a stream entry. The marker that starts an epoch has only `$`.
const EVENT = 'e';
const DATA = 'd';
const CHANNEL = 'c';
const EXCEPT = 'x';
const TARGET = 't';

/**
 * XADD of one entry to an existing stream (NOMKSTREAM: the reply is null when the stream is gone,
 * so that a wiped stream is re-created with a new epoch rather than reusing the old one).
 */
export function xaddArgs(key: string, maxLen: string, approximate: boolean, epoch: string, e: BackplaneEntry): string[] {
  return ['XADD', key, 'NOMKSTREAM', 'MAXLEN', approximate ? '~' : '=', maxLen, epoch + '-*', ...fieldsOf(e)];
}

/** The field/value list of an entry: event and data, then channel, except and target where set. */
function fieldsOf(e: BackplaneEntry): string[] {
  const f = [EVENT, e.event, DATA, e.data];
  if (e.channel !== undefined) f.push(CHANNEL, e.channel);
  if (e.except !== undefined) f.push(EXCEPT, e.except);
  if (e.target !== undefined) f.push(TARGET, e.target);
  return f;
}

/**
 * Several XADDs in one call, in order, each as `xaddArgs` would send it. Returns their ids, or
 * nil when the stream does not exist (NOMKSTREAM on the first one). An XADD refused for an older
 * epoch fails the first one, so a batch is written whole or not at all.
 */
export const XADD_BATCH = `local ids = {}
local i = 4
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  local id = redis.call('XADD', KEYS[1], 'NOMKSTREAM', 'MAXLEN', ARGV[2], ARGV[1], ARGV[3] .. '-*', unpack(ARGV, i + 1, i + k))
  if not id then return false end
  ids[#ids + 1] = id
  i = i + k + 1
end
return ids`;

export function xaddBatchArgs(key: string, maxLen: string, approximate: boolean, epoch: string, entries: BackplaneEntry[]): string[] {
  const a = ['EVAL', XADD_BATCH, '1', key, maxLen, approximate ? '~' : '=', epoch];
  for (const e of entries) {
    const f = fieldsOf(e);
    a.push(String(f.length), ...f);
  }
  return a;
}

/** The backplane entry of a stream entry (one fixed shape); `null` for markers and foreign entries. */
export function toEntry(s: StreamEntry): BackplaneEntry | null {
  let event: string | undefined;
  let data: string | undefined;
  let channel: string | undefined;
  let except: string | undefined;
  let target: string | undefined;
  const f = s.fields;
  for (let i = 0; i + 1 < f.length; i += 2) {
    const v = String(f[i + 1]);
    switch (String(f[i])) {
      case EVENT:
        event = v;
        break;
      case DATA:
        data = v;
        break;
      case CHANNEL:
        channel = v;
        break;
      case EXCEPT:
        except = v;
        break;
      case TARGET:
        target = v;
        break;
    }
  }
  if (event === undefined || data === undefined) return null;
  // A targeted entry has no event id; its stream id is only its place (long-poll cursors step over it).
  const targeted = target !== undefined;
  return { id: targeted ? undefined : s.id, position: targeted ? s.id : undefined, event, data, channel, except, target };
}

function toFields(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  // RESP3 with a map type mapping.
  if (v instanceof Map) return [...v].flat().map(String);
  if (v && typeof v === 'object') return Object.entries(v).flat().map(String);
  return [];
}

/** Entries of an XRANGE reply (also the per-stream part of an XREAD reply). */
export function readEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: StreamEntry[] = [];
  for (const item of reply) {
    // node-redis' own transforms give { id, message }; raw replies give [id, fields].
    if (Array.isArray(item)) out.push({ id: String(item[0]), fields: toFields(item[1]) });
    else if (item && typeof item === 'object' && 'id' in item) {
      out.push({ id: String((item as { id: unknown }).id), fields: toFields((item as { message: unknown }).message) });
    }
  }
  return out;
}

/** Entries of an XREAD reply for one stream: RESP2 `[[key, entries]]`, RESP3 `{ key: entries }` or a Map; null on timeout. */
export function readStream(reply: unknown, key: string): StreamEntry[] {
  if (reply == null) return [];
  if (Array.isArray(reply)) {
    for (const s of reply) if (Array.isArray(s) && String(s[0]) === key) return readEntries(s[1]);
    return [];
  }
  if (reply instanceof Map) return readEntries(reply.get(key));
  if (typeof reply === 'object') return readEntries((reply as Record<string, unknown>)[key]);
  return [];
}

/** Connects a client unless it is already open (or opening). */
export async function connectClient(c: RedisClientLike): Promise<void> {
  if (c.isOpen) return;
  await c.connect();
}

/** Closes a client: at once (`hard`, pending commands fail), or after pending replies. */
export async function releaseClient(c: RedisClientLike, hard: boolean): Promise<void> {
  try {
    if (hard) {
      if (c.destroy) c.destroy();
      else await c.disconnect?.();
    } else if (c.close) await c.close();
    else await c.quit?.();
  } catch {
    /* already closed */
  }
}
