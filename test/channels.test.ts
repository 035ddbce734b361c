/**
 * Issue 8, end to end: channels and targeted messages with the Node client against the real server,
 * on each transport. Every client is told apart on the server by `user.name`, which `authorize`
 * takes from the client's `query`.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { PushClientOptions, TransportName } from '../src';
import type { PushClient } from '../src/node';
import type { Connection } from '../src/server';
import { cleanups, until } from './helpers/net';
import { opened, startPush } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

type User = { name: string };
type Got = { event: string; data: any; id?: string; channel?: string; transport: string };

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
/** Generous: the machine has 2 cores and other suites run beside this one. */
const WAIT = 10_000;

async function setup(extra: Parameters<typeof startPush>[0] = {}) {
  const s = await startPush({
    retryMs: 20, // the server's retry is a floor under the client's backoff
    authorize: (req: IncomingMessage) => ({ name: new URL(req.url!, 'http://x').searchParams.get('name') ?? '?' }),
    onJoin: (_conn: unknown, ch: string) => {
      if (ch === 'secret') return false;
      if (ch === 'boom') throw new Error('no boom for you');
      return true;
    },
    onError: () => {},
    ...extra,
  });
  cleanup.add(() => s.stop());
  /** A client named `name` that records everything it gets, opens, reconnects and errors. */
  const client = (name: string, transports: TransportName[], opts: PushClientOptions = {}) => {
    const c = s.client({ transports, query: { name }, reconnect: { minDelay: 20, maxDelay: 100 }, ...opts });
    const got: Got[] = [];
    const log = { opens: 0, reconnects: 0, errors: [] as Error[] };
    c.onAny((event, data, meta) =>
      got.push({ event, data, id: meta.id, transport: meta.transport, ...(meta.channel !== undefined ? { channel: meta.channel } : {}) }),
    );
    c.lifecycle.on('open', () => log.opens++);
    c.lifecycle.on('reconnecting', () => log.reconnects++);
    c.lifecycle.on('error', (e) => log.errors.push(e));
    return Object.assign(c, { got, log });
  };
  /** The server's connection of the client named `name` (undefined while it has none). */
  const conn = (name: string) => (s.push.connections as ReadonlyArray<Connection<User>>).find((c) => c.user.name === name);
  /** Waits until the client got an event named `event` with data `data`. */
  const got = (c: { got: Got[] }, event: string, data?: unknown) =>
    until(
      () => c.got.some((g) => g.event === event && (data === undefined || JSON.stringify(g.data) === JSON.stringify(data))),
      WAIT,
      `${event} ${JSON.stringify(data)}`,
    );
  /** Cuts the connection of `name` and waits for its client to be back on a new connection. */
  const cut = async (name: string, c: PushClient<any> & { log: { opens: number } }) => {
    const old = conn(name)!;
    const opens = c.log.opens;
    old.close();
    await until(() => c.log.opens > opens && conn(name) && conn(name)!.id !== old.id, WAIT, `${name} back`);
    return old;
  };
  return { ...s, client, conn, got, cut };
}

const names = (g: Got[]) => g.map((e) => e.data);

describe.each(ALL)('channels over %s', (transport) => {
  const T = [transport];

  it("a member of A gets A's events and broadcasts, none of B's; meta.channel names the channel", async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A'] });
    const b = s.client('b', T, { channels: ['B'] });
    const n = s.client('n', T);
    await Promise.all([opened(a, WAIT), opened(b, WAIT), opened(n, WAIT)]);
    const ids = [
      await s.push.publish('x', 'A1', { channel: 'A' }),
      await s.push.publish('x', 'B1', { channel: 'B' }),
      await s.push.publish('x', 'all1'),
      await s.push.publish('x', 'A2', { channel: 'A' }),
      await s.push.publish('x', 'B2', { channel: 'B' }),
      await s.push.publish('end', 'all2'),
    ];
    await Promise.all([s.got(a, 'end'), s.got(b, 'end'), s.got(n, 'end')]);
    expect(a.got).toEqual([
      { event: 'x', data: 'A1', id: ids[0], channel: 'A', transport },
      { event: 'x', data: 'all1', id: ids[2], transport },
      { event: 'x', data: 'A2', id: ids[3], channel: 'A', transport },
      { event: 'end', data: 'all2', id: ids[5], transport },
    ]);
    expect(b.got.map((g) => [g.data, g.channel])).toEqual([
      ['B1', 'B'],
      ['all1', undefined],
      ['B2', 'B'],
      ['all2', undefined],
    ]);
    expect(names(n.got)).toEqual(['all1', 'all2']);
    expect(a.channels).toEqual(['A']);
    expect(n.channels).toEqual([]);
  });

  it('join and leave take effect at once, on the same connection', async () => {
    const s = await setup();
    const a = s.client('a', T);
    await opened(a, WAIT);
    const id = s.conn('a')!.id;
    await s.push.publish('x', 'A0', { channel: 'A' });
    await a.join('A');
    expect(a.channels).toEqual(['A']);
    expect([...s.conn('a')!.channels]).toEqual(['A']);
    await s.push.publish('x', 'A1', { channel: 'A' });
    await s.got(a, 'x', 'A1');
    await a.join('B');
    expect(a.channels).toEqual(['A', 'B']);
    await a.leave('A');
    expect(a.channels).toEqual(['B']);
    expect([...s.conn('a')!.channels]).toEqual(['B']);
    await s.push.publish('x', 'A2', { channel: 'A' });
    await s.push.publish('x', 'B1', { channel: 'B' });
    await s.push.publish('end', 'all');
    await s.got(a, 'end');
    expect(a.got.map((g) => [g.data, g.channel])).toEqual([
      ['A1', 'A'],
      ['B1', 'B'],
      ['all', undefined],
    ]);
    // Same connection throughout: no reconnect, one open.
    expect(s.conn('a')!.id).toBe(id);
    expect(s.push.connections).toHaveLength(1);
    expect(a.log).toMatchObject({ opens: 1, reconnects: 0 });
  });

  it('join and leave called before the connection is open are honoured by the server', async () => {
    const s = await setup();
    // Right after construction: the first connect request is already on its way.
    const a = s.client('a', T, { channels: ['A'] });
    const joined = a.join('B');
    const left = a.leave('A');
    await Promise.all([joined, left]);
    await opened(a, WAIT);
    await until(() => s.conn('a'), WAIT, 'connection');
    expect(a.channels).toEqual(['B']);
    expect([...s.conn('a')!.channels]).toEqual(['B']);
    await s.push.publish('x', 'A1', { channel: 'A' });
    await s.push.publish('x', 'B1', { channel: 'B' });
    await s.push.publish('end', 'all');
    await s.got(a, 'end');
    expect(names(a.got)).toEqual(['B1', 'all']);
  });

  it('except skips the sender, given as the connection object or as its id', async () => {
    const s = await setup();
    s.push.onMessage((event, d: any, conn) => {
      if (event === 'say') void s.push.publish('chat', d.text, { channel: 'room', except: d.byId ? conn.id : conn });
    });
    const a = s.client('a', T, { channels: ['room'] });
    const b = s.client('b', T, { channels: ['room'] });
    const o = s.client('o', T, { channels: ['elsewhere'] });
    await Promise.all([opened(a, WAIT), opened(b, WAIT), opened(o, WAIT)]);
    await a.send('say', { text: 'from a', byId: false });
    await s.got(b, 'chat', 'from a');
    await b.send('say', { text: 'from b', byId: true });
    await s.got(a, 'chat', 'from b');
    await s.push.publish('end', 'all');
    await Promise.all([s.got(a, 'end'), s.got(b, 'end'), s.got(o, 'end')]);
    expect(a.got.map((g) => [g.data, g.channel])).toEqual([
      ['from b', 'room'],
      ['all', undefined],
    ]);
    expect(b.got.map((g) => [g.data, g.channel])).toEqual([
      ['from a', 'room'],
      ['all', undefined],
    ]);
    expect(names(o.got)).toEqual(['all']);
  });

  it('the sender does not get its own excepted message after a reconnect either', async () => {
    const s = await setup();
    let mine: Promise<string> | undefined;
    s.push.onMessage((event, d, conn) => {
      if (event === 'say') mine = s.push.publish('chat', d, { channel: 'room', except: conn });
    });
    const a = s.client('a', T, { channels: ['room'] });
    const b = s.client('b', T, { channels: ['room'] });
    await Promise.all([opened(a, WAIT), opened(b, WAIT)]);
    await s.push.publish('x', 'before');
    await s.got(a, 'x', 'before');
    // a's own message is the newest event: a's resume point must still move past it.
    await a.send('say', 'mine');
    await s.got(b, 'chat', 'mine');
    const id = await mine!;
    await until(() => a.lastEventId === id, WAIT, 'the resume point to pass the excepted event');
    await s.cut('a', a);
    await s.push.publish('end', 'after');
    await s.got(a, 'end');
    expect(names(a.got)).toEqual(['before', 'after']);
  });

  it('conn.send reaches exactly one client, without id or channel; it is never replayed', async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A'] });
    const b = s.client('b', T, { channels: ['A'] });
    const n = s.client('n', T);
    await Promise.all([opened(a, WAIT), opened(b, WAIT), opened(n, WAIT)]);
    expect(s.push.connection(s.conn('b')!.id)).toBe(s.conn('b'));
    const first = await s.push.publish('x', 'first');
    await s.got(b, 'x', 'first');
    await s.conn('b')!.send('dm', 'just b');
    await s.push.connection(s.conn('n')!.id)!.send('dm', 'just n');
    const end = await s.push.publish('end', 'all');
    await Promise.all([s.got(a, 'end'), s.got(b, 'end'), s.got(n, 'end')]);
    expect(names(a.got)).toEqual(['first', 'all']);
    expect(b.got).toEqual([
      { event: 'x', data: 'first', id: first, transport },
      { event: 'dm', data: 'just b', id: undefined, transport },
      { event: 'end', data: 'all', id: end, transport },
    ]);
    expect(names(n.got)).toEqual(['first', 'just n', 'all']);
    expect(b.lastEventId).toBe(end); // a targeted message has no id: the resume point stays

    // Delivered once while connected, never replayed: b resumes from an id before the targeted
    // message, and does not get it again.
    await s.conn('b')!.send('dm', 'once');
    await s.got(b, 'dm', 'once');
    const old = await s.cut('b', b);
    expect(s.push.connection(old.id)).toBeUndefined();
    await expect(old.send('dm', 'to a closed connection')).rejects.toMatchObject({ code: 'CLOSED' });
    await s.conn('b')!.send('dm', 'to the new connection');
    await s.push.publish('end', 'after');
    await s.got(b, 'end', 'after');
    expect(names(b.got)).toEqual(['first', 'just b', 'all', 'once', 'to the new connection', 'after']);
    expect(b.got.filter((g) => g.event === 'dm').map((g) => g.id)).toEqual([undefined, undefined, undefined]);
  });

  it("after a cut, the replay holds A's missed events and broadcasts, and no B events", async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A'] });
    await opened(a, WAIT);
    const gate = transport === 'websocket' ? 'ws' : transport === 'eventsource' ? 'sse' : 'lp';
    await s.push.publish('x', 'A1', { channel: 'A' });
    await s.got(a, 'x', 'A1');
    const opens = a.log.opens;
    // Keep it out while the events are published, so that they can only come by replay.
    s.gate[gate] = false;
    s.conn('a')!.close();
    await until(() => a.log.reconnects > 0, WAIT, 'client to see the cut');
    const missed = [
      await s.push.publish('x', 'A2', { channel: 'A' }),
      await s.push.publish('x', 'B1', { channel: 'B' }),
      await s.push.publish('x', 'all'),
      await s.push.publish('x', 'A3', { channel: 'A' }),
    ];
    // Nothing can come now (the client is kept out); what follows shows the three came by replay, on one reconnection.
    expect(names(a.got)).toEqual(['A1']);
    const resumed: boolean[] = [];
    a.lifecycle.on('open', (e) => resumed.push(e.resumed));
    s.gate[gate] = true;
    // A later event, live: a repeat of the replay would have come before it.
    const marked = new Promise((resolve) => a.once('end', resolve));
    await until(() => a.got.length === 4, WAIT, 'the replay');
    await s.push.publish('end', 'marker');
    await marked;
    expect(a.got.at(-1)).toMatchObject({ event: 'end' });
    a.got.pop();
    expect(a.log.opens).toBe(opens + 1);
    expect(resumed).toEqual([true]);
    expect(a.got.slice(1)).toEqual([
      { event: 'x', data: 'A2', id: missed[0], channel: 'A', transport },
      { event: 'x', data: 'all', id: missed[2], transport },
      { event: 'x', data: 'A3', id: missed[3], channel: 'A', transport },
    ]);
  });

  it('a refused join rejects with JOIN_REFUSED and the connection stays up', async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A'] });
    await opened(a, WAIT);
    const id = s.conn('a')!.id;
    const refused = a.join('secret');
    await expect(refused).rejects.toMatchObject({ code: 'JOIN_REFUSED', name: 'PushError' });
    await expect(refused).rejects.toThrow(/secret/);
    await expect(a.join('boom')).rejects.toMatchObject({ code: 'JOIN_REFUSED', message: expect.stringContaining('no boom for you') });
    expect(a.channels).toEqual(['A']);
    expect([...s.conn('a')!.channels]).toEqual(['A']);
    // Still the same connection, and still working.
    await a.join('B');
    await s.push.publish('x', 'B1', { channel: 'B' });
    await s.push.publish('x', 'secret1', { channel: 'secret' });
    await s.push.publish('end', 'all');
    await s.got(a, 'end');
    expect(names(a.got)).toEqual(['B1', 'all']);
    expect(s.conn('a')!.id).toBe(id);
    expect(a.log).toMatchObject({ opens: 1, reconnects: 0 });
    expect(a.status.state).toBe('open');
  });

  it('a channel of the options refused at connect is dropped and reported; the rest are joined', async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A', 'secret'] });
    await opened(a, WAIT);
    await until(() => a.log.errors.length > 0, WAIT, 'error report');
    expect(a.log.errors).toEqual([expect.objectContaining({ code: 'JOIN_REFUSED', message: expect.stringContaining('secret') })]);
    expect(a.channels).toEqual(['A']);
    expect([...s.conn('a')!.channels]).toEqual(['A']);
    expect(a.status.state).toBe('open');
  });

  it('channels of the options and later joins are re-joined after a reconnect; client.channels lists them', async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A', 'B'] });
    await opened(a, WAIT);
    expect(a.channels).toEqual(['A', 'B']);
    expect([...s.conn('a')!.channels]).toEqual(['A', 'B']);
    await a.join('C');
    await a.leave('B');
    await s.cut('a', a);
    expect(a.channels).toEqual(['A', 'C']);
    expect([...s.conn('a')!.channels].sort()).toEqual(['A', 'C']);
    await s.push.publish('x', 'A1', { channel: 'A' });
    await s.push.publish('x', 'B1', { channel: 'B' });
    await s.push.publish('x', 'C1', { channel: 'C' });
    await s.push.publish('end', 'all');
    await s.got(a, 'end');
    expect(a.got.map((g) => [g.data, g.channel])).toEqual([
      ['A1', 'A'],
      ['C1', 'C'],
      ['all', undefined],
    ]);
  });

  it('push.connections shows ids, transport, channels and what authorize returned', async () => {
    const s = await setup();
    const a = s.client('a', T, { channels: ['A'] });
    const b = s.client('b', T);
    await Promise.all([opened(a, WAIT), opened(b, WAIT)]);
    await b.join('B');
    const list = [...s.push.connections].sort((x, y) => (x.user as User).name.localeCompare((y.user as User).name));
    expect(list.map((c) => ({ transport: c.transport, channels: [...c.channels], user: c.user }))).toEqual([
      { transport, channels: ['A'], user: { name: 'a' } },
      { transport, channels: ['B'], user: { name: 'b' } },
    ]);
    for (const c of list) {
      expect(c.id).toMatch(/\S/);
      expect(s.push.connection(c.id)).toBe(c);
    }
    expect(list[0].id).not.toBe(list[1].id);
    a.close();
    await until(() => s.push.connections.length === 1 || transport === 'longpoll', WAIT, 'a to go');
  });
});

describe('channels across a change of transport', () => {
  it('are re-joined on the fallback transport and again on the upgrade back', async () => {
    const s = await setup();
    const a = s.client('a', ALL, { channels: ['A'], upgradeInterval: 300 });
    expect(await opened(a, WAIT)).toMatchObject({ transport: 'websocket' });
    await a.join('B');
    // WebSocket refused: the client falls back to SSE with both channels.
    s.gate.ws = false;
    s.conn('a')!.close();
    await until(() => a.status.transport === 'eventsource' && s.conn('a')?.transport === 'eventsource', WAIT, 'SSE');
    expect(a.channels).toEqual(['A', 'B']);
    expect([...s.conn('a')!.channels].sort()).toEqual(['A', 'B']);
    await s.push.publish('x', 'A1', { channel: 'A' });
    await s.push.publish('x', 'C1', { channel: 'C' });
    await s.push.publish('x', 'B1', { channel: 'B' });
    await s.got(a, 'x', 'B1');
    // WebSocket works again: the upgrade probe moves back, with the channels.
    s.gate.ws = true;
    await until(() => a.status.transport === 'websocket' && s.conn('a')?.transport === 'websocket', WAIT, 'upgrade');
    await until(() => s.push.connections.length === 1, WAIT, 'old SSE connection to go');
    expect([...s.conn('a')!.channels].sort()).toEqual(['A', 'B']);
    await s.push.publish('x', 'A2', { channel: 'A' });
    await s.push.publish('x', 'C2', { channel: 'C' });
    await s.push.publish('end', 'all');
    await s.got(a, 'end');
    expect(a.got.map((g) => [g.data, g.channel, g.transport])).toEqual([
      ['A1', 'A', 'eventsource'],
      ['B1', 'B', 'eventsource'],
      ['A2', 'A', 'websocket'],
      ['all', undefined, 'websocket'],
    ]);
  });
});
