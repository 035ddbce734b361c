import { describe, expect, it } from 'vitest';
import { memoryBackplane } from '../src/server';
import { eventsBeforeMarker, KINDS, sseClient, useServers } from './helpers/server-clients';

const { clients, start, open } = useServers();

type Frames = Awaited<ReturnType<typeof eventsBeforeMarker>>;
const payloads = (events: Frames) => events.map((f) => JSON.parse(f.data));

describe.each(KINDS)('%s resume', (kind) => {
  it('replays exactly the events after lastEventId, then goes live', async () => {
    const s = await start();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await s.push.publish('n', i));
    const c = await open(kind, s, { lastEventId: ids[6] });
    expect(c.inbox.hello!.replay).toBe(true);
    await s.push.publish('n', 10);
    const events = await eventsBeforeMarker(s.push, c);
    expect(payloads(events)).toEqual([7, 8, 9, 10]);
    expect(events.slice(0, 3).map((f) => f.id)).toEqual(ids.slice(7));
  });

  it('replays only the channels the connection is in, and no targeted sends', async () => {
    const s = await start();
    const first = await open(kind, s, { ch: 'A' });
    const start_ = await s.push.publish('mark', 0);
    await s.push.publish('x', 'a1', { channel: 'A' });
    await s.push.publish('x', 'b1', { channel: 'B' });
    await s.push.connection(first.cid)!.send('x', 'targeted');
    await s.push.publish('x', 'all');
    const c = await open(kind, s, { ch: 'A', lastEventId: start_ });
    expect(payloads(await eventsBeforeMarker(s.push, c))).toEqual(['a1', 'all']);
  });

  it('says replay:false for an id from another epoch, an unparsable id, or one older than history', async () => {
    const s = await start({ history: 3 });
    const other = await start();
    const foreign = await other.push.publish('n', 0);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await s.push.publish('n', i));
    for (const lastEventId of [foreign, 'garbage', ids[0], ids[1]]) {
      const c = await open(kind, s, { lastEventId });
      expect(c.inbox.hello!.replay, lastEventId).toBe(false);
      expect(await eventsBeforeMarker(s.push, c), lastEventId).toEqual([]);
    }
    // The oldest id still resumable is the one just before the history.
    const c = await open(kind, s, { lastEventId: ids[2] });
    expect(c.inbox.hello!.replay).toBe(true);
    expect(payloads(await eventsBeforeMarker(s.push, c))).toEqual([3, 4, 5]);
  });

  it('delivers events published during onJoin exactly once, after the hello and the replay', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let joining!: () => void;
    const inOnJoin = new Promise<void>((r) => (joining = r));
    const s = await start({
      onJoin: () => {
        joining();
        return gate.then(() => true);
      },
    });
    const before = await s.push.publish('n', 0);
    await s.push.publish('n', 1, { channel: 'A' });
    const pending = open(kind, s, { ch: 'A', lastEventId: before });
    await inOnJoin; // the server is deciding the join now: what follows is published during onJoin
    await s.push.publish('n', 2, { channel: 'A' });
    await s.push.publish('n', 3, { channel: 'B' });
    await s.push.publish('n', 4);
    release();
    const c = await pending;
    await s.push.publish('n', 5);
    const events = await eventsBeforeMarker(s.push, c);
    expect(c.inbox.frames[0].event).toBe('$hello');
    expect(payloads(events)).toEqual([1, 2, 4, 5]);
  });
});

describe('resume details', () => {
  it('prefers the Last-Event-ID header over the query (native EventSource reconnects)', async () => {
    const s = await start();
    const a = await s.push.publish('n', 1);
    const b = await s.push.publish('n', 2);
    await s.push.publish('n', 3);
    const e = await sseClient(s.url, { t: 'sse', lastEventId: a }, { 'Last-Event-ID': b });
    clients.push({ inbox: e.inbox, cid: '', send: async () => 0, stop: async () => e.close() });
    await e.inbox.waitFor((f) => f.length > 0, 5000, 'the hello');
    expect((await eventsBeforeMarker(s.push, e)).map((f) => f.data)).toEqual(['3']);
  });

  it('memory backplane: epochs differ per instance and history 0 replays only an up-to-date id', async () => {
    const bp = memoryBackplane({ history: 0 });
    expect(bp.epoch).not.toBe(memoryBackplane().epoch);
    const seen: string[] = [];
    bp.start((e) => seen.push(e.id ?? 'no id'));
    const id1 = await bp.publish({ event: 'a', data: '1' });
    const id2 = await bp.publish({ event: 'a', data: '2' });
    expect(await bp.publish({ event: 'a', data: '3', target: 'x' })).toBe('');
    expect(seen).toEqual([id1, id2, 'no id']);
    expect(bp.replay(id1, () => true)).toBeNull();
    expect(bp.replay(id2, () => true)).toEqual([]);
    await bp.close();
  });

  it('memory backplane: a targeted entry gets no event id, only a place in the history for long-poll cursors', async () => {
    const bp = memoryBackplane({ history: 10 });
    const seen: (string | undefined)[] = [];
    bp.start((e) => seen.push(e.id ?? e.position));
    const id1 = await bp.publish({ event: 'a', data: '1' });
    expect(await bp.publish({ event: 'a', data: '2', target: 'x' })).toBe('');
    const id3 = await bp.publish({ event: 'a', data: '3' });
    expect(seen[1]).toBeDefined();
    expect(bp.compareIds(id1, seen[1]!)).toBeLessThan(0);
    expect(bp.compareIds(seen[1]!, id3)).toBeLessThan(0);
    // replay (resume) never returns targeted entries; read (long-poll) returns every entry.
    expect((await bp.replay(id1, () => true))!.map((e) => e.data)).toEqual(['3']);
    expect((await bp.read!(id1, 10))!.map((e) => e.data)).toEqual(['2', '3']);
    expect((await bp.read!(id1, 1))!.map((e) => e.data)).toEqual(['2']);
    // A cursor on a targeted entry reads on after it.
    expect((await bp.read!(seen[1]!, 10))!.map((e) => e.data)).toEqual(['3']);
    // Targeted sends take no room from the published entries that resumes need.
    for (let i = 0; i < 50; i++) await bp.publish({ event: 'a', data: 't', target: 'x' });
    expect((await bp.replay(id1, () => true))!.map((e) => e.data)).toEqual(['3']);
    await bp.close();
  });

  it('memory backplane: history is bounded in bytes too, keeping at least the newest entry', async () => {
    const bp = memoryBackplane({ history: 100, historyBytes: 1000 });
    bp.start(() => {});
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await bp.publish({ event: 'a', data: String(i).padEnd(299) }));
    // 300 characters each: three fit in 1000.
    expect((await bp.replay(ids[6], () => true))!.map((e) => e.data.trim())).toEqual(['7', '8', '9']);
    expect(bp.replay(ids[5], () => true)).toBeNull();
    await bp.publish({ event: 'a', data: 'x'.repeat(5000) });
    expect((await bp.replay(ids[9], () => true))!.length).toBe(1);
    expect(() => memoryBackplane({ historyBytes: -1 })).toThrow(/historyBytes/);
    await bp.close();
  });

  it('memory backplane: a ring keeps the newest entries in order across wrap-around', async () => {
    const bp = memoryBackplane({ history: 4 });
    bp.start(() => {});
    const ids: string[] = [];
    for (let i = 0; i < 11; i++) ids.push(await bp.publish({ event: 'a', data: String(i), channel: i % 2 ? 'odd' : undefined }));
    expect((await bp.replay(ids[6], () => true))!.map((e) => e.data)).toEqual(['7', '8', '9', '10']);
    expect((await bp.replay(ids[6], (e) => e.channel === 'odd'))!.map((e) => e.data)).toEqual(['7', '9']);
    expect(bp.replay(ids[5], () => true)).toBeNull();
    expect(bp.replay(ids[10], () => true)).toEqual([]);
    expect(bp.replay(ids[10].replace(/\d+$/, '99'), () => true)).toBeNull(); // from the future
    expect(bp.replay(ids[8] + 'x', () => true)).toBeNull();
    await bp.close();
  });
});
