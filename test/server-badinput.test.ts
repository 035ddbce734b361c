import { rawExchange } from './helpers/net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, lpGet, post, sseClient, startServer, wsClient, type TestServer } from './helpers/server-clients';

const servers: TestServer<any>[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A small deterministic PRNG so that a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const pieces = ['{', '}', '[', ']', '"e"', ':', ',', '"$join"', '"$leave"', '"d"', '"r"', '1', '-1', '1e400', 'null', '"x"', '\\u0000', '\u2028', '"\t"', ' '];

function garbage(rand: () => number): string {
  let s = '';
  const n = Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(rand() * pieces.length)];
  return s;
}

describe('bad input', () => {
  it('survives random frames, bodies, queries and raw bytes, then serves a good client', async () => {
    const errors: unknown[] = [];
    const s = await startServer({ pollTimeout: 200, onError: (e) => errors.push(e) });
    servers.push(s);
    const rand = rng(42);
    const port = +new URL(s.origin).port;

    // WebSocket: a few sockets, each fed garbage until the server closes it.
    for (let i = 0; i < 5; i++) {
      const w = await wsClient(s.url);
      for (let j = 0; j < 20 && w.ws.readyState === w.ws.OPEN; j++) w.send(garbage(rand) || '{}');
      w.send('{');
      const closed = await w.closed;
      expect([1003, 1007, 1008]).toContain(closed.code);
    }

    // POST: garbage bodies to a real connection.
    const lp = await lpGet(s.url, {});
    const cid = JSON.parse(lp.frames[0].data).cid;
    for (let i = 0; i < 40; i++) {
      const r = await post(s.url, cid, garbage(rand));
      expect([204, 400]).toContain(r.status);
    }

    // Queries that are wrong in every way we could think of.
    const queries = [
      '?t=lp&cid=&ack=',
      '?t=lp&cid=' + cid + '&ack=99999999999999999999',
      '?t=lp&lastEventId=%00%ff',
      '?t=lp&ch=&ch=' + 'x'.repeat(300) + '&ch=a%09b',
      '?t=sse&lastEventId=' + 'z'.repeat(5000),
      '?t=%ff',
      '?t=lp&t=sse',
    ];
    for (const q of queries) {
      const ac = new AbortController();
      const r = await fetch(s.url + q, { signal: ac.signal });
      expect(r.status, q).toBeLessThan(500);
      ac.abort();
    }
    const refused = await lpGet(s.url, { ch: ['', 'a\tb'] });
    expect(JSON.parse(refused.frames[0].data).refused).toEqual({ '': 'invalid channel name', 'a\tb': 'invalid channel name' });

    // Raw bytes: not HTTP, broken upgrades, a truncated request.
    for (const text of [
      'hello\r\n\r\n',
      'GET /push HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /push?t=lp HTTP/1.1\r\nHost: x\r\n',
      'POST /push?cid=' + cid + ' HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"e"',
      '\u0000\u0001\u0002'.repeat(100),
    ]) {
      await rawExchange(port, text, { end: true, ms: 1000 });
    }

    // Still up and serving.
    const sse = await sseClient(s.url, { t: 'sse' });
    expect(sse.res.status).toBe(200);
    const good = await connect('websocket', s.url);
    await s.push.publish('ok', 1);
    await good.inbox.waitEvents(1);
    await good.stop();
    sse.close();
    expect(errors).toEqual([]);
  });
});
