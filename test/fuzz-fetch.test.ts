/**
 * A fuzz run of `push.fetch`, in-process: seeded random and mutated WHATWG requests (every method,
 * query values that are empty, huge, negative, percent-encoded garbage, a live connection id or
 * another, random headers the `Request` constructor accepts, bodies of random bytes or broken
 * JSON, some aborted mid-way). What a `Request` cannot carry (bad header bytes, a broken request
 * line) never reaches a fetch handler, so unlike test/fuzz-server.test.ts there are no raw bytes.
 *
 * Afterwards: every call resolved (none rejected), no answer was a 5xx other than the connection
 * limit's 503 and the 501 of an upgrade on a host that offers none, `onError` saw nothing, every slot came back once the streams were cancelled, and a
 * real client still connects and receives. FUZZ_SEED and FUZZ_INPUTS replay or extend a run.
 */
import { describe, expect, it } from 'vitest';
import { PushClient } from '../src/node';
import { createPushServer } from '../src/server';
import { until } from './helpers/net';
import { opened, take } from './helpers/push';
import { getRequestListener } from '@hono/node-server';
import http from 'node:http';
import { listen, shut } from './helpers/net';

const NO_UPGRADE = 'this host offers no WebSocket upgrade: use SSE or long-poll, or serve WebSocket with handleUpgrade';
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  return { next, int, pick };
}

const VALUES = ['', '0', '-1', '1', '1e400', '99999999999999999999', 'NaN', '%00', '%ff%fe', '..%2f..', 'ws', 'sse', 'lp', 'x'.repeat(5000)];
/** Weighted towards the methods the server takes, so that most inputs get past the method check. */
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'DELETE', 'OPTIONS', 'PUT', 'PATCH', 'HEAD'];
const PARAMS = ['t', 'cid', 'ack', 'ch', 'lastEventId', 'x'];
const HEADERS = ['content-type', 'accept', 'last-event-id', 'origin', 'upgrade', 'content-length', 'access-control-request-headers', 'authorization'];
const HEADER_VALUES = ['application/json', 'text/event-stream', 'websocket', 'https://evil.example', 'null', '0', '-5', '999999999', 'a, b', ''];
const BODIES = ['[]', '[{"e":"hi","d":1}]', '{"e":"$join","d":"c","r":1}', '[{"e":"$leave"}]', '[', 'null', '[1,2]', '"str"', '[{"e":"x".repeat(3)}]'];

describe('fuzz: push.fetch', () => {
  it(`takes ${INPUTS} random and mutated requests without a 5xx, a rejection or an onError, gives every slot back, and still serves a client`, async () => {
    const errors: unknown[] = [];
    const push = createPushServer({
      path: '/push',
      maxConnections: 64,
      maxBodySize: 256,
      pollTimeout: 50,
      sessionTimeout: 300,
      onError: (e) => void errors.push(e),
    });
    const rng = prng(SEED);
    const base = 'http://push.test/push';
    const hello = await (await push.fetch(new Request(base + '?t=lp'))).text();
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(hello)![1]).cid as string;
    const statuses = new Map<number, number>();
    const open: Response[] = [];
    for (let i = 0; i < INPUTS; i++) {
      const query = new URLSearchParams();
      if (rng.next() < 0.6) query.set('t', rng.pick(['sse', 'lp', 'ws']));
      if (rng.next() < 0.4) query.set('cid', cid);
      for (let n = rng.int(4); n > 0; n--) query.append(rng.pick(PARAMS), rng.next() < 0.3 ? cid : rng.pick(VALUES));
      const headers = new Headers();
      for (let n = rng.int(4); n > 0; n--) headers.set(rng.pick(HEADERS), rng.pick(HEADER_VALUES));
      const method = rng.pick(METHODS);
      const abort = new AbortController();
      let body: BodyInit | undefined;
      if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
        body = rng.next() < 0.5 ? rng.pick(BODIES) : new Uint8Array(Array.from({ length: rng.int(400) }, () => rng.int(256)));
      }
      const path = rng.next() < 0.9 ? '/push' : rng.pick(['/', '/push/', '/pushx', '/PUSH']);
      const request = new Request(`http://push.test${path}?${query}`, { method, headers, body, signal: abort.signal });
      if (rng.next() < 0.05) abort.abort();
      const res = await push.fetch(request);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      // The two 5xx by design: the connection limit, and an upgrade on a host that offers none.
      if (res.status >= 500) {
        const allowed = [
          [503, 'too many connections'],
          [501, NO_UPGRADE],
        ];
        expect(allowed, `${method} ${request.url}`).toContainEqual([res.status, await res.text()]);
        continue;
      }
      // Streams are cut at random: the client went away.
      if (res.body && res.headers.get('content-type')?.startsWith('text/event-stream')) {
        if (rng.next() < 0.5) await res.body.cancel();
        else open.push(res);
      } else await res.body?.cancel();
    }
    for (const res of open) await res.body!.cancel();
    expect(errors).toEqual([]);
    // Every slot comes back: long-poll sessions end (DELETE, abort) or expire.
    await push.fetch(new Request(`${base}?cid=${cid}`, { method: 'DELETE' }));
    await until(() => push.connections.length === 0, 8000, 'every connection to end');
    console.log(`[fuzz] push.fetch seed ${SEED}: ${INPUTS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);

    // A real client still gets in.
    const server = http.createServer(getRequestListener((request) => push.fetch(request)));
    const url = `http://127.0.0.1:${await listen(server)}/push`;
    const client = new PushClient<any>(url, { transports: ['eventsource'] });
    try {
      await opened(client);
      const got = take(client, 1, ['after']);
      await push.publish('after', 1);
      expect((await got).map((e) => e.data)).toEqual([1]);
    } finally {
      client.close();
      await push.close();
      await shut(server);
    }
  });
});
