/**
 * Issue 4: a fuzz run of the server's HTTP and WebSocket entry points, on 127.0.0.1 only, bounded in
 * count (FUZZ_INPUTS, default 2000) and in time (FUZZ_SECONDS, default 15 s).
 *
 * Inputs are raw bytes on fresh TCP connections: valid requests of every kind the server takes
 * (SSE, long-poll connect and poll, send, leave, preflight, WebSocket upgrade) with a live
 * connection id and token, mutated at the byte and at the field level, plus plain random bytes;
 * and, on WebSocket connections that completed their handshake, random and mutated frames (any
 * opcode, flags, masking and length field, well-formed and broken client messages).
 *
 * Afterwards: no answer was a 5xx other than the connection limit's 503, `onError` saw nothing,
 * every slot under the connection limits came back, and real clients on each transport still
 * connect, send and receive. The seed (FUZZ_SEED) is printed, so a failure can be replayed.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../src';
import { PushClient } from '../src/node';
import { lpGet, startServer, until, type TestServer } from './helpers/server-clients';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 2000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 15);
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const PARALLEL = 8;
const LIMIT = 64;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const bytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof prng>;

const TOKEN = 'fuzz-token';
const INTERESTING = [
  '',
  '0',
  '-1',
  '1e400',
  '99999999999999999999',
  'NaN',
  '%00',
  '%ff%fe',
  '%0d%0aX-Injected:%201',
  '..%2f..%2f',
  'x'.repeat(5000),
  '\u0000',
  '\u2028',
  '😀',
  '$hello',
  '$join',
  '\t',
  ' ',
  '"',
  "'",
  '<script>',
  '[]',
  '{}',
  'null',
  'sse',
  'lp',
  'ws',
  'websocket',
  TOKEN,
  'a\tb',
];
const HEADER_VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '18446744073709551616',
  'chunked',
  'gzip',
  'close',
  'Upgrade',
  'websocket',
  'application/json',
  'text/event-stream',
  'http://evil.example',
  'null',
  'x'.repeat(9000),
];

/** A valid request of every kind, for the live connection `cid` (long-poll) and another id `other`. */
function templates(cid: string, other: string, lastId: string): string[] {
  const h = 'Host: 127.0.0.1\r\n';
  const json = '[{"e":"chat","d":{"n":1}},{"e":"$join","d":"room","r":1},{"e":"$leave","d":"room"}]';
  return [
    `GET /push?t=sse&token=${TOKEN}&ch=room HTTP/1.1\r\n${h}Accept: text/event-stream\r\nLast-Event-ID: ${lastId}\r\n\r\n`,
    `GET /push?t=lp&token=${TOKEN}&ch=a&ch=b&lastEventId=${lastId} HTTP/1.1\r\n${h}\r\n`,
    `GET /push?t=lp&cid=${cid}&ack=1&token=${TOKEN} HTTP/1.1\r\n${h}\r\n`,
    `POST /push?cid=${cid}&token=${TOKEN} HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    `POST /push?cid=${other}&token=${TOKEN} HTTP/1.1\r\n${h}Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
    `OPTIONS /push?cid=${cid} HTTP/1.1\r\n${h}Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n`,
    `DELETE /push?cid=${other}&token=${TOKEN} HTTP/1.1\r\n${h}\r\n`,
    `GET /push?t=ws&token=${TOKEN} HTTP/1.1\r\n${h}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://app.example\r\n\r\n`,
    `GET /push?t=sse&token=${TOKEN} HTTP/1.1\r\n${h}Origin: https://evil.example\r\n\r\n`,
    `GET /elsewhere HTTP/1.1\r\n${h}\r\n`,
  ];
}

/** One mutation at the byte or field level. */
function mutate(r: Rng, input: string): Buffer {
  let s = input;
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) {
    const at = r.int(s.length + 1);
    switch (r.int(10)) {
      case 0: // flip a byte
        s = s.slice(0, at) + String.fromCharCode(r.int(256)) + s.slice(at + 1);
        break;
      case 1: // insert random bytes
        s = s.slice(0, at) + r.bytes(1 + r.int(8)).toString('latin1') + s.slice(at);
        break;
      case 2: // delete a range
        s = s.slice(0, at) + s.slice(at + 1 + r.int(20));
        break;
      case 3: // duplicate a range
        s = s.slice(0, at) + s.slice(at, at + r.int(40)) + s.slice(at);
        break;
      case 4: // truncate
        s = s.slice(0, at);
        break;
      case 5: // a query value replaced by something interesting
        s = s.replace(/=([^&\s]*)/g, (m, _v) => (r.next() < 0.3 ? '=' + encodeURI(r.pick(INTERESTING)).slice(0, 6000) : m));
        break;
      case 6: // a header value replaced
        s = s.replace(/: ([^\r\n]*)\r\n/, () => `: ${r.pick(HEADER_VALUES)}\r\n`);
        break;
      case 7: // a header added, possibly twice
        s = s.replace(
          '\r\n',
          `\r\n${r.pick(['Content-Length', 'Transfer-Encoding', 'Upgrade', 'Connection', 'Origin', 'Content-Type', 'Last-Event-ID', 'Sec-WebSocket-Key'])}: ${r.pick(HEADER_VALUES)}\r\n`,
        );
        break;
      case 8: // another method
        s = s.replace(/^[A-Z]+/, r.pick(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'CONNECT', 'G3T', '']));
        break;
      default: // CRLF injected
        s = s.slice(0, at) + r.pick(['\r\n', '\n', '\r', '\r\n\r\n', '\0']) + s.slice(at);
    }
  }
  return Buffer.from(s, 'latin1');
}

/** A WebSocket frame from a client, as well-formed or as broken as the dice say. */
function frame(r: Rng, cid: string): Buffer {
  const messages = [
    '{"e":"chat","d":1}',
    '[{"e":"chat","d":[1,2]}]',
    `{"e":"$join","d":"room","r":${r.int(1e6)}}`,
    '{"e":"$leave","d":"room"}',
    '{"e":"$join","d":' + JSON.stringify(r.pick(INTERESTING)) + ',"r":1}',
    '{"e":"$hello"}',
    '{"e":""}',
    '{',
    'null',
    '[]',
    '"x"',
    '{"e":"x","r":1.5}',
    '{"e":"' + 'y'.repeat(300) + '"}',
    JSON.stringify({ e: 'x', d: cid }),
    '[' + '['.repeat(2000) + ']'.repeat(2000) + ']',
  ];
  let payload: Buffer =
    r.next() < 0.6 ? Buffer.from(r.pick(messages)) : r.next() < 0.5 ? mutate(r, r.pick(messages)) : r.bytes(r.int(r.next() < 0.1 ? 70_000 : 200));
  const fin = r.next() < 0.9 ? 0x80 : 0;
  const rsv = r.next() < 0.05 ? r.int(8) << 4 : 0;
  const opcode = r.next() < 0.75 ? 1 : r.pick([0, 2, 3, 8, 9, 10, 11, 15]);
  if (opcode >= 8 && payload.length > 125 && r.next() < 0.8) payload = payload.subarray(0, 125);
  const masked = r.next() < 0.95;
  const len = payload.length;
  const lie = r.next() < 0.05; // a length field that does not match the payload
  const declared = lie ? r.pick([0, 1, 126, 65535, 65536, 2 ** 32, 2 ** 53 - 1]) : len;
  let head: Buffer;
  if (declared < 126) head = Buffer.from([fin | rsv | opcode, (masked ? 0x80 : 0) | declared]);
  else if (declared < 65536) head = Buffer.from([fin | rsv | opcode, (masked ? 0x80 : 0) | 126, declared >> 8, declared & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = fin | rsv | opcode;
    head[1] = (masked ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(BigInt(declared), 2);
  }
  if (!masked) return Buffer.concat([head, payload]);
  const mask = r.bytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Writes `data` (in a few pieces) on a fresh connection; resolves with the first status code seen, or 0. */
function exchange(port: number, r: Rng, data: Buffer, wsFrames?: Buffer[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    let out = '';
    let done = false;
    const sock = net.connect(port, '127.0.0.1');
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0), text: out.slice(0, 400) });
    };
    const timer = setTimeout(finish, wsFrames ? 400 : 150 + r.int(100));
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('data', (d) => {
      out += d.toString('latin1');
      if (wsFrames && out.startsWith('HTTP/1.1 101') && out.includes('\r\n\r\n')) {
        const frames = wsFrames.splice(0);
        for (const f of frames) if (!sock.destroyed) sock.write(f);
      }
    });
    sock.on('connect', () => {
      const cuts = [r.int(data.length + 1), r.int(data.length + 1)].sort((a, b) => a - b);
      for (const piece of [data.subarray(0, cuts[0]), data.subarray(cuts[0], cuts[1]), data.subarray(cuts[1])]) {
        if (piece.length && !sock.destroyed) sock.write(piece);
      }
      if (!wsFrames && r.next() < 0.5) sock.end();
    });
  });
}

let server: TestServer<{ id: string }>;
const errors: unknown[] = [];

afterAll(async () => {
  await server?.close();
});

describe('fuzz: the server entry points', () => {
  it(`take ${INPUTS} random and mutated inputs over HTTP and WebSocket in under ${SECONDS} s, then serve good clients`, {
    timeout: (SECONDS + 40) * 1000,
  }, async () => {
    server = await startServer<{ id: string }>({
      pollTimeout: 100,
      sessionTimeout: 300,
      heartbeatMs: 200,
      maxBodySize: 4096,
      maxMessageSize: 4096,
      maxConnections: LIMIT,
      allowOrigins: ['https://app.example'],
      onError: (e) => errors.push(e),
      authorize: (req: IncomingMessage) => (new URL(req.url!, 'http://x').searchParams.get('token') === TOKEN ? { id: 'fuzzer' } : false),
      identify: (u) => u.id,
      onJoin: (_c, ch) => ch !== 'secret',
    });
    const port = +new URL(server.origin).port;
    const r = prng(SEED);
    const statuses = new Map<number, number>();
    const fivexx: string[] = [];
    let http = 0;
    let frames = 0;
    let cid = '';
    let other = '';
    let lastId = 'x:0';
    const refresh = async () => {
      // Live connection ids and an event id, so that mutations reach the deep paths too.
      const a = await lpGet(server.url, { token: TOKEN });
      const b = await lpGet(server.url, { token: TOKEN });
      if (a.status === 200) cid = JSON.parse(a.frames[0].data).cid;
      if (b.status === 200) other = JSON.parse(b.frames[0].data).cid;
      lastId = await server.push.publish('tick', { n: http }, { channel: 'room' });
    };
    await refresh();
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (http + frames < INPUTS && Date.now() < deadline) {
        const k = next++;
        if (k % 200 === 0) await refresh();
        const list = templates(cid, other, lastId);
        let res: { status: number; text: string };
        const roll = r.next();
        if (roll < 0.2) {
          // A valid upgrade, then frames.
          const fs = Array.from({ length: 1 + r.int(5) }, () => frame(r, cid));
          frames += fs.length;
          http++;
          res = await exchange(port, r, Buffer.from(list[7], 'latin1'), fs);
        } else {
          const input = roll < 0.3 ? r.bytes(r.int(600)) : roll < 0.4 ? Buffer.from(r.pick(list), 'latin1') : mutate(r, r.pick(list));
          http++;
          res = await exchange(port, r, input);
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500 && !(res.status === 503 && res.text.includes('too many connections'))) fivexx.push(res.text);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = (Date.now() - started) / 1000;
    const summary = [...statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s || 'none'}: ${n}`)
      .join(', ');
    console.log(
      `fuzz (seed ${SEED}): ${http + frames} inputs (${http} HTTP requests, ${frames} WebSocket frames) in ${seconds.toFixed(1)} s; first status seen: ${summary}`,
    );

    expect(http + frames).toBeGreaterThanOrEqual(Math.min(INPUTS, 500));
    expect(seconds).toBeLessThan(SECONDS + 5);
    expect(fivexx).toEqual([]);
    expect(errors).toEqual([]);

    // Every connection the fuzz opened ends (sessions expire, sockets closed), and every slot under
    // maxConnections comes back: LIMIT new connections fit again.
    await until(() => server.push.connections.length === 0, 10_000, 'the fuzz connections to end');
    const held: PushClient[] = [];
    const transports: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
    try {
      for (let i = 0; i < LIMIT; i++) {
        const t = transports[i % 3];
        const c = new PushClient(server.url, { transports: [t], query: { token: TOKEN }, rememberTransport: 0, reconnect: { minDelay: 50, maxDelay: 200 } });
        held.push(c);
      }
      await until(() => held.every((c) => c.status.state === 'open'), 20_000, `${LIMIT} good clients open`);
      const got = new Map<PushClient, unknown>();
      for (const c of held) c.on('after', (d) => got.set(c, d));
      const sent: string[] = [];
      server.push.onMessage((_e, _d, conn) => sent.push(conn.transport));
      await server.push.publish('after', 'the fuzz');
      await until(() => got.size === LIMIT, 10_000, 'every good client to get the event');
      for (const t of transports) await held.find((c) => c.status.transport === t)!.send('hello', t);
      await until(() => sent.length === 3, 5000, 'a send over each transport');
      expect(new Set(got.values())).toEqual(new Set(['the fuzz']));
    } finally {
      for (const c of held) c.close();
    }
    expect(errors).toEqual([]);
  });
});
