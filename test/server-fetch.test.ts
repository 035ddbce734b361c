/**
 * `push.fetch` on Node: the Hono example (examples/hosts/hono-node.ts, @hono/node-server) on
 * 127.0.0.1 with the real PushClient over every transport, then the fetch path's checks and limits
 * called with real `Request`s (they are the Node path's endpoints; these tests show they are
 * reached), and what `push.close()` releases.
 */
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type Started } from '../examples/hosts/hono-node';
import { PushClient } from '../src/node';
import type { IncomingMessage } from 'node:http';
import { createPushServer, type Connection, type PushRequest, type PushServer, PushError, type PushServerOptions, requestHeader } from '../src/server';
import { cleanups, sleep, until } from './helpers/net';
import { opened, take } from './helpers/push';

const TRANSPORTS = ['websocket', 'eventsource', 'longpoll'] as const;
const cleanup = cleanups();
afterEach(() => cleanup.run());

async function startHono(options: Parameters<typeof start>[0] = {}): Promise<Started> {
  const s = await start({ port: 0, ...options });
  cleanup.add(() => s.close());
  return s;
}

function client(url: string, transport: (typeof TRANSPORTS)[number]): PushClient<any> {
  const c = new PushClient<any>(url, { transports: [transport], reconnect: { minDelay: 20, maxDelay: 100 } });
  cleanup.add(() => c.close());
  return c;
}

describe.each(TRANSPORTS)('Hono on Node, %s', (transport) => {
  it('delivers 200 events in order, a send reaches onMessage, conn.send reaches that connection only', async () => {
    const s = await startHono();
    const a = client(s.url, transport);
    const b = client(s.url, transport);
    expect((await opened(a)).transport).toBe(transport);
    await opened(b);
    const sent: [string, unknown, string][] = [];
    s.push.onMessage((event, data, conn) => void sent.push([event, data, conn.transport]));
    const gotA = take(a, 201, ['n', 'only']);
    const gotB = take(b, 200, ['n', 'only']);
    for (let i = 0; i < 200; i++) void s.push.publish('n', i);
    await until(() => s.push.connections.length === 2);
    await a.send('hi', { from: 'a' });
    await until(() => sent.length === 1);
    expect(sent).toEqual([['hi', { from: 'a' }, transport]]);
    // The connection that sent is a's: answer it alone.
    const senderId = await new Promise<string>((resolve) => {
      s.push.onMessage((_e, _d, conn) => resolve(conn.id));
      void a.send('who', null);
    });
    await s.push.connection(senderId)!.send('only', 'for a');
    const fromA = await gotA;
    expect(fromA.filter((e) => e.event === 'n').map((e) => e.data)).toEqual([...Array(200).keys()]);
    expect(fromA.filter((e) => e.event === 'only').map((e) => e.data)).toEqual(['for a']);
    expect(fromA.every((e) => e.transport === transport)).toBe(true);
    expect((await gotB).map((e) => e.data)).toEqual([...Array(200).keys()]);
  });

  it('a connection the server closes comes back and resumes: nothing lost, nothing twice', async () => {
    const s = await startHono();
    const c = client(s.url, transport);
    await opened(c);
    const got = take(c, 20, ['n']);
    for (let i = 0; i < 10; i++) await s.push.publish('n', i);
    await until(() => s.push.connections.length === 1);
    for (const conn of s.push.connections) conn.close();
    for (let i = 10; i < 20; i++) await s.push.publish('n', i);
    expect((await got).map((e) => e.data)).toEqual([...Array(20).keys()]);
  });
});

/** A push server for direct `push.fetch` calls, closed after the test. */
function direct<User, Req extends PushRequest = IncomingMessage>(options: PushServerOptions<User, Req> = {}): PushServer<User> {
  const push = createPushServer<User, Req>({ path: '/push', ...options });
  cleanup.add(() => push.close());
  return push;
}

const URL_ = 'http://push.test/push';
const get = (query: string, headers: Record<string, string> = {}) => new Request(`${URL_}?${query}`, { headers });

/** The hello of an SSE stream, read from its body (the stream is left open). */
async function readUntil(body: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!pattern.test(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

describe('push.fetch: the Node path’s checks, on WHATWG requests', () => {
  it('answers another path with 404, a bad method with 405, and rejects what is not a Request with BAD_OPTION', async () => {
    const push = direct();
    expect((await push.fetch(new Request('http://push.test/other'))).status).toBe(404);
    const put = await push.fetch(new Request(URL_, { method: 'PUT' }));
    expect([put.status, put.headers.get('allow')]).toEqual([405, 'GET, POST, DELETE']);
    expect((await push.fetch(get('t=nope'))).status).toBe(400);
    await expect(push.fetch(undefined as never)).rejects.toBeInstanceOf(PushError);
    await expect(push.fetch({ url: URL_ } as never)).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('allowOrigins: 403 for another site on every transport and the upgrade; CORS and preflight for an allowed one', async () => {
    const push = direct({ allowOrigins: ['https://app.example'] });
    const evil = { origin: 'https://evil.example' };
    for (const q of ['t=sse', 't=lp']) expect((await push.fetch(get(q, evil))).status).toBe(403);
    expect((await push.fetch(new Request(URL_ + '?cid=x', { method: 'POST', headers: evil }))).status).toBe(403);
    expect((await push.fetch(get('t=ws', { ...evil, upgrade: 'websocket', connection: 'upgrade' }))).status).toBe(403);
    const pre = await push.fetch(
      new Request(URL_, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-headers': 'authorization' } }),
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization');
    const ac = new AbortController();
    const sse = await push.fetch(new Request(URL_ + '?t=sse', { headers: { origin: 'https://app.example' }, signal: ac.signal }));
    expect(sse.status).toBe(200);
    expect(sse.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(sse.headers.get('access-control-allow-credentials')).toBe('true');
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers.get('connection')).toBeNull(); // the host frames the connection itself
    expect(await readUntil(sse.body!, /\$hello/)).toMatch(/^retry: 500\n\n/);
    await sse.body!.cancel();
  });

  it('sends: 400 without cid, 415 without JSON, 404 for an unknown cid, 413 above maxBodySize (declared or streamed), 204 and onMessage when valid', async () => {
    const push = direct({ maxBodySize: 64 });
    const got: unknown[] = [];
    push.onMessage((event, data) => void got.push([event, data]));
    const lp = await push.fetch(get('t=lp'));
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(await lp.text())![1]).cid as string;
    const post = (body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }, q = `cid=${cid}`) =>
      push.fetch(new Request(`${URL_}?${q}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit));
    expect((await post('[]', undefined, '')).status).toBe(400);
    expect((await post('[]', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('[]', undefined, 'cid=nobody')).status).toBe(404);
    expect((await post('x'.repeat(65))).status).toBe(413);
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(20)));
        controller.close();
      },
    });
    const streamed = await post(chunks);
    expect([streamed.status, await streamed.text()]).toEqual([413, 'body larger than 64 bytes']);
    expect((await post('{"not":"a list"')).status).toBe(400);
    expect((await post('[{"e":"hi","d":1}]')).status).toBe(204);
    expect(got).toEqual([['hi', 1]]);
    const del = await push.fetch(new Request(`${URL_}?cid=${cid}`, { method: 'DELETE' }));
    expect(del.status).toBe(204);
    expect((await post('[{"e":"hi","d":2}]')).status).toBe(404);
  });

  it('authorize is given the Request: refusals keep their status, and a poll by another identity gets 403', async () => {
    const seen: unknown[] = [];
    const push = direct({
      authorize: (req: Request) => {
        seen.push(req instanceof Request);
        const token = requestHeader(req, 'authorization');
        if (token === 'slow down') throw Object.assign(new Error('later'), { status: 429 });
        return token?.startsWith('user ') ? { id: token.slice(5) } : false;
      },
      identify: (user: { id: string }) => user.id,
    });
    expect((await push.fetch(get('t=sse'))).status).toBe(401);
    const limited = await push.fetch(get('t=lp', { authorization: 'slow down' }));
    expect([limited.status, await limited.text()]).toEqual([429, 'later']);
    const lp = await push.fetch(get('t=lp', { authorization: 'user ann' }));
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(await lp.text())![1]).cid as string;
    expect((push.connection(cid) as Connection<{ id: string }>).user).toEqual({ id: 'ann' });
    const stolen = await push.fetch(get(`t=lp&cid=${cid}&ack=1`, { authorization: 'user bob' }));
    expect([stolen.status, await stolen.text()]).toEqual([403, 'connection belongs to another identity']);
    expect(seen.every((x) => x === true)).toBe(true);
  });

  it('limits: maxConnectionsPerIp counts the address the host passes (Hono’s env), maxConnections every connection, and slots come back', async () => {
    const push = direct({ maxConnectionsPerIp: 1, maxConnections: 3 });
    const from = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
    const first = new AbortController();
    const a = await push.fetch(new Request(URL_ + '?t=sse', { signal: first.signal }), from('10.0.0.1'));
    expect(a.status).toBe(200);
    const refused = await push.fetch(get('t=sse'), from('10.0.0.1'));
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '5']);
    expect((await push.fetch(get('t=lp'), from('10.0.0.2'))).status).toBe(200);
    // No address (a Next.js route handler): counted under maxConnections only.
    expect((await push.fetch(get('t=lp'))).status).toBe(200);
    expect((await push.fetch(get('t=lp'))).status).toBe(503);
    await a.body!.cancel(); // the client went away: its slot comes back
    await until(() => push.connections.length === 2);
    expect((await push.fetch(get('t=lp'), from('10.0.0.1'))).status).toBe(200);
  });

  it('a WebSocket upgrade on a host that offers none gets 501 (Node serves it with handleUpgrade)', async () => {
    const push = direct();
    const res = await push.fetch(get('t=ws', { upgrade: 'websocket', connection: 'Upgrade' }));
    expect(res.status).toBe(501);
    expect((await push.fetch(get('t=ws'))).status).toBe(426);
  });

  it('drops an SSE stream whose reader takes nothing once maxBufferedBytes wait, and one that took nothing for a heartbeat interval', async () => {
    const push = direct({ maxBufferedBytes: 10_000, heartbeatMs: 100 });
    const res = await push.fetch(get('t=sse'));
    const hello = await readUntil(res.body!, /\$hello/);
    expect(hello).toContain('$hello');
    await until(() => push.connections.length === 1);
    for (let i = 0; i < 20; i++) await push.publish('big', 'x'.repeat(1000));
    await until(() => push.connections.length === 0, 2000, 'the slow stream dropped');
    // The body errors: the host cuts the response and the client reconnects.
    await expect(readAll(res.body!)).rejects.toThrow();
    // The dead-peer rule: bytes wait and nothing is taken for one interval.
    const stuck = await push.fetch(get('t=sse'));
    await readUntil(stuck.body!, /\$hello/);
    await until(() => push.connections.length === 1);
    await push.publish('small', 1);
    await until(() => push.connections.length === 0, 2000, 'the stuck stream dropped');
  });

  it('bad input gets a 4xx with a reason, never a crash or a rejection', async () => {
    const errors: unknown[] = [];
    const push = direct({ onError: (e) => void errors.push(e) });
    const lp = await push.fetch(get('t=lp'));
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(await lp.text())![1]).cid as string;
    const post = (body: BodyInit) => push.fetch(new Request(`${URL_}?cid=${cid}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    const cases: [Request | Promise<Response>, number][] = [
      [get(`t=lp&cid=${cid}&ack=-1`), 400],
      [get(`t=lp&cid=${cid}&ack=abc`), 400],
      [get(`t=lp&cid=${cid}&ack=99`), 400],
      [get(`t=lp&cid=${cid}`), 400],
      [get('t=lp&cid=%00%ff'), 404],
      [get('t=sse&ch=' + 'x'.repeat(300)), 200],
      [get('t=sse', { 'last-event-id': 'not:an:id:at all' }), 200],
      [post(new Uint8Array([0xff, 0xfe, 0xfd])), 400],
      [post('[{"e":"$join","d":"c","r":1.5}]'), 400],
      [post('[{"e":1,"d":2}]'), 400],
      [new Request(URL_, { method: 'PATCH' }), 405],
      [new Request('http://push.test/push/../push?t=lp'), 200],
      [new Request('http://push.test/push/'), 404],
    ];
    for (const [input, status] of cases) {
      const res = input instanceof Request ? await push.fetch(input) : await input;
      expect([res.status, (input as Request).url ?? 'post']).toEqual([status, (input as Request).url ?? 'post']);
      await res.body?.cancel();
    }
    expect(errors).toEqual([]);
  });

  it('a held long-poll whose client aborts ends its session at once (not at sessionTimeout)', async () => {
    const push = direct({ pollTimeout: 10_000, sessionTimeout: 20_000 });
    const lp = await push.fetch(get('t=lp'));
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(await lp.text())![1]).cid as string;
    await until(() => push.connections.length === 1);
    const abort = new AbortController();
    const held = push.fetch(new Request(`${URL_}?t=lp&cid=${cid}&ack=1`, { signal: abort.signal }));
    await sleep(20);
    abort.abort();
    await until(() => push.connections.length === 0, 1000, 'the session to end');
    expect((await held).status).toBe(499);
  });

  it('close() ends SSE streams, answers held polls, closes later requests with 503, and leaves no timer', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    const push = createPushServer({ path: '/push', heartbeatMs: 1000, pollTimeout: 10_000 });
    const sse = await push.fetch(get('t=sse'));
    const text = readAll(sse.body!);
    const lp = await push.fetch(get('t=lp'));
    const cid = JSON.parse(/data: \$hello\ndata: (.*)\n/.exec(await lp.text())![1]).cid as string;
    const held = push.fetch(get(`t=lp&cid=${cid}&ack=1`));
    await sleep(20);
    await push.close();
    expect(await text).toContain('$hello');
    expect((await held).status).toBe(200);
    expect((await push.fetch(get('t=sse'))).status).toBe(503);
    await sleep(20);
    const left = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
    expect(left).toBeLessThanOrEqual(before);
  });
});

/** Everything a stream gives until it ends. */
async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(body).text();
}

describe('Hono on Node serving both paths (fetch for SSE and long-poll, handleUpgrade for WebSocket)', () => {
  it('one authorize typed PushRequest is given a Request on fetch and an IncomingMessage on the upgrade, and refuses a bad token on both', async () => {
    const seen: string[] = [];
    const s = await startHono({
      options: {
        authorize: (req: PushRequest) => {
          seen.push(req instanceof Request ? 'Request' : 'IncomingMessage');
          // The same code reads both: a header by requestHeader, the query from either URL form.
          expect(requestHeader(req, 'host')).toMatch(/^127\.0\.0\.1:\d+$/);
          return new URL(req.url!, 'http://base').searchParams.get('token') === 'good' ? { id: 'ann' } : false;
        },
      },
    });
    for (const transport of TRANSPORTS) {
      const good = new PushClient<any>(s.url, { transports: [transport], query: { token: 'good' } });
      cleanup.add(() => good.close());
      expect((await opened(good)).transport).toBe(transport);
      good.close();
      const bad = new PushClient<any>(s.url, { transports: [transport], query: { token: 'bad' }, reconnect: { maxRetries: 0 } });
      cleanup.add(() => bad.close());
      await until(() => bad.status.state === 'closed', 5000, `the ${transport} refusal`);
    }
    expect(new Set(seen)).toEqual(new Set(['Request', 'IncomingMessage']));
  });
});

describe('Hono app', () => {
  it('other routes of the app keep working beside /push', async () => {
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.get('/hello', (c) => c.text('world'));
    const s = await startHono({ app });
    expect(await (await fetch(s.url.replace('/push', '/hello'))).text()).toBe('world');
    expect((await fetch(s.url + '?t=lp')).status).toBe(200);
  });
});
