import { afterEach, describe, expect, it } from 'vitest';
import { lpGet, post, startServer, until, type TestServer } from './helpers/server-clients';

const servers: TestServer<any>[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer<any>> {
  const s = await startServer({ pollTimeout: 300, ...options });
  servers.push(s);
  return s;
}

/** Creates a long-poll session; returns its cid and the creating response. */
async function create(s: TestServer<any>, query = {}) {
  const r = await lpGet(s.url, query);
  expect(r.status).toBe(200);
  expect(r.res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(r.res.headers.get('cache-control')).toBe('no-store');
  expect(r.frames[0].event).toBe('$hello');
  return { cid: JSON.parse(r.frames[0].data).cid as string, first: r };
}

describe('long-poll', () => {
  it('answers the creating request at once with hello and replay', async () => {
    const s = await start();
    const id = await s.push.publish('n', 1);
    await s.push.publish('n', 2);
    const { first } = await create(s, { lastEventId: id });
    expect(first.frames.map((f) => f.event)).toEqual(['$hello', 'n']);
    expect(first.frames[1].data).toBe('2');
  });

  it('re-sends what was not acknowledged, drops what was', async () => {
    const s = await start();
    const { cid } = await create(s);
    await s.push.publish('n', 1);
    await s.push.connection(cid)!.send('t', 'targeted');
    const a = await lpGet(s.url, { cid, ack: '1' });
    expect(a.frames.map((f) => f.data)).toEqual(['1', '"targeted"']);
    // The answer is "lost": the same ack gets the same blocks again, targeted send included.
    const again = await lpGet(s.url, { cid, ack: '1' });
    expect(again.text).toBe(a.text);
    await s.push.publish('n', 2);
    const b = await lpGet(s.url, { cid, ack: '2' }); // acknowledges only the first of the two
    expect(b.frames.map((f) => f.data)).toEqual(['"targeted"', '2']);
    const c = await lpGet(s.url, { cid, ack: '4' }); // all acknowledged: held until the timeout
    expect(c.status).toBe(200);
    expect(c.text).toBe('');
  });

  it('holds a poll until something arrives and batches a burst into one answer', async () => {
    const s = await start({ pollTimeout: 5000 });
    const { cid } = await create(s);
    const t0 = Date.now();
    const held = s.handled(`cid=${cid}`);
    const pending = lpGet(s.url, { cid, ack: '1' });
    await held;
    for (let i = 0; i < 100; i++) void s.push.publish('n', i);
    const r = await pending;
    expect(Date.now() - t0).toBeLessThan(4000); // answered when the burst came, not at the timeout
    expect(r.frames.map((f) => +f.data)).toEqual([...Array(100).keys()]);
  });

  it('answers an empty 200 after pollTimeout', async () => {
    const s = await start({ pollTimeout: 100 });
    const { cid } = await create(s);
    const t0 = Date.now();
    const r = await lpGet(s.url, { cid, ack: '1' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('keeps one poll at a time: a second poll answers the first one empty at once', async () => {
    const s = await start({ pollTimeout: 5000 });
    const { cid } = await create(s);
    const t0 = Date.now();
    const held = s.handled(`cid=${cid}`);
    const first = lpGet(s.url, { cid, ack: '1' });
    await held;
    const second = lpGet(s.url, { cid, ack: '1' });
    const r1 = await first;
    expect(r1.status).toBe(200);
    expect(r1.text).toBe('');
    expect(Date.now() - t0).toBeLessThan(4000); // at once, not at the timeout
    await s.push.publish('n', 'x');
    const r2 = await second;
    expect(r2.frames.map((f) => f.data)).toEqual(['"x"']);
  });

  it('answers 404 with a reason for an unknown cid, 400 for a bad or impossible ack', async () => {
    const s = await start();
    const unknown = await lpGet(s.url, { cid: 'nope', ack: '0' });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toMatch(/unknown/);
    const { cid } = await create(s);
    for (const ack of ['', 'x', '-1', '1.5']) expect((await lpGet(s.url, { cid, ack })).status).toBe(400);
    const ahead = await lpGet(s.url, { cid, ack: '5' });
    expect(ahead.status).toBe(400);
    expect(ahead.text).toMatch(/out of range/);
    // The session survives a bad poll.
    expect((await lpGet(s.url, { cid, ack: '1' })).status).toBe(200);
  });

  it('reaps a session that stops polling', async () => {
    const s = await start({ sessionTimeout: 100 });
    const { cid } = await create(s);
    expect(s.push.connection(cid)).toBeDefined();
    await until(() => !s.push.connection(cid), 2000, 'session reaped');
    expect((await lpGet(s.url, { cid, ack: '1' })).status).toBe(404);
  });

  it('keeps a session that falls behind: what it did not poll for is read from the history, not queued', async () => {
    const s = await start({ maxBufferedBytes: 10_000 });
    const { cid } = await create(s);
    for (let i = 0; i < 200; i++) await s.push.publish('n', 'x'.repeat(100));
    expect(s.push.connection(cid)).toBeDefined();
    const r = await lpGet(s.url, { cid, ack: '2' });
    expect(r.frames.length).toBe(200);
  });
});

describe('POST sends', () => {
  it('applies the content-type, size, syntax and cid rules', async () => {
    const s = await start({ maxBodySize: 1000 });
    const got: unknown[] = [];
    s.push.onMessage((e, d) => got.push([e, d]));
    const { cid } = await create(s);

    const wrongType = await post(s.url, cid, { e: 'a' }, 'text/plain');
    expect(wrongType.status).toBe(415);
    expect(await wrongType.text()).toMatch(/application\/json/);

    const big = await post(s.url, cid, { e: 'a', d: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(await big.text()).toMatch(/1000/);

    for (const body of ['{', '[{"e":"$x"}]', '[{"e":"a"},{"e":""}]', '42']) {
      const bad = await post(s.url, cid, body);
      expect(bad.status, body).toBe(400);
      expect((await bad.text()).length).toBeGreaterThan(0);
    }
    const unknown = await post(s.url, 'nope', { e: 'a' });
    expect(unknown.status).toBe(404);
    const missing = await fetch(s.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(missing.status).toBe(400);

    expect(got).toEqual([]); // nothing from a refused body was dispatched
    const ok = await post(s.url, cid, [{ e: 'a', d: 1 }, { e: 'b' }], 'application/json; charset=utf-8');
    expect(ok.status).toBe(204);
    expect(got).toEqual([
      ['a', 1],
      ['b', undefined],
    ]);
  });

  it('refuses a chunked body that grows past the limit', async () => {
    const s = await start({ maxBodySize: 1000 });
    const { cid } = await create(s);
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode('x'.repeat(400)));
        c.close();
      },
    });
    const r = await fetch(`${s.url}?cid=${cid}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(413);
  });
});
