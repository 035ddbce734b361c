/**
 * Child process of `bench/scale.ts`: many lightweight raw clients of one transport (plain `net`
 * sockets speaking just enough HTTP/WebSocket), each counting the `ev` events it receives.
 * Source addresses are spread over 127.0.T.1-250 so that ephemeral ports never run out.
 *
 * IPC in:  {type:'open', transport, port, n, batch, path?, token?, socketio?} · {type:'expect', count} · {type:'reset'} · {type:'close'}
 *          (`path` replaces the request target, `token` the bytes counted as one event; `socketio`
 *          joins socket.io's default namespace after the upgrade, for `bench/fanout.ts`)
 * IPC out: {type:'opened', open, failed} · {type:'all', at, count} · {type:'status', ...}
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { now } from './util';

type T = 'websocket' | 'eventsource' | 'longpoll';
let TOKEN = Buffer.from('data: ev\n');
/** Request target of every connection, when the parent names one. */
let target: string | undefined;
let socketio = false;
/** socket.io's "connect to namespace /" packet (`40`) as a masked client frame; a zero mask leaves it as it is. */
const SOCKETIO_CONNECT = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0x30]);
const send = (m: unknown) => process.send!(m);

let counts = new Int32Array(0);
let expect = Infinity;
let reached = 0;
let open = 0;
let failed = 0;
const sockets: net.Socket[] = [];

function onEvents(i: number, n: number) {
  const before = counts[i];
  counts[i] += n;
  if (before < expect && counts[i] >= expect && ++reached === open) send({ type: 'all', at: now(), count: expect });
}

/** How push-client's server writes an event on its own (src/protocol/frames.ts, encodeEvent). */
const PUSH_EVENT = 'data: ev\n';
/**
 * How it writes each event of a `$batch` message (encodeBatchLine): `data: <id>\t<event>\t...`, one
 * line per event. A JSON payload holds no raw tab, so the name between two tabs is the event's.
 */
const PUSH_BATCHED = Buffer.from('\tev\t');
/** Counted too when the bytes are push-client's wire (the parent named no token of its own). */
let batched = true;

/** Counts `token` in a byte stream split anywhere (keeps the last few bytes across chunks). */
function occurrences(token: Buffer) {
  let tail: Buffer = Buffer.alloc(0);
  return (chunk: Buffer): number => {
    const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    let n = 0;
    let at = buf.indexOf(token);
    while (at >= 0) {
      n++;
      at = buf.indexOf(token, at + token.length);
    }
    tail = buf.subarray(Math.max(0, buf.length - (token.length - 1)));
    return n;
  };
}

/** Counts the events client `i` receives: one per TOKEN, and one per batched line on push-client's wire. */
function counter(i: number) {
  const single = occurrences(TOKEN);
  const inBatches = batched ? occurrences(PUSH_BATCHED) : () => 0;
  return (chunk: Buffer) => {
    const n = single(chunk) + inBatches(chunk);
    if (n) onEvents(i, n);
  };
}

function connect(t: T, port: number, i: number, tIndex: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.${tIndex + 1}.${1 + (i % 250)}` });
    sockets.push(s);
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      ok ? open++ : failed++;
      resolve(ok);
    };
    s.setNoDelay(true);
    s.on('error', () => done(false));
    s.on('close', () => done(false));
    const count = counter(i);
    if (t === 'websocket') {
      s.write(
        `GET ${target ?? '/push?t=ws'} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      let joined = !socketio;
      s.on('data', (b) => {
        if (!joined) {
          joined = true;
          s.write(SOCKETIO_CONNECT);
        }
        if (!settled && b.includes('$hello')) done(true);
        count(b);
      });
    } else if (t === 'eventsource') {
      s.write(`GET ${target ?? '/push?t=sse'} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      s.on('data', (b) => {
        if (!settled && b.includes('$hello')) done(true);
        count(b);
      });
    } else {
      // Long-poll over one keep-alive socket: each response has a Content-Length; the next poll
      // acknowledges every block received so far (blocks end with a blank line).
      let cid = '';
      let blocks = 0;
      let buf: Buffer = Buffer.alloc(0);
      const poll = () => s.write(`GET /push?t=lp${cid ? `&cid=${cid}&ack=${blocks}` : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      s.on('data', (b) => {
        buf = buf.length ? Buffer.concat([buf, b]) : b;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.subarray(0, end).toString('latin1');
          const len = +(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          const body = buf.subarray(end + 4, end + 4 + len).toString();
          buf = buf.subarray(end + 4 + len);
          if (!head.startsWith('HTTP/1.1 200')) return void s.destroy();
          if (!cid) {
            cid = /"cid":"([^"]+)"/.exec(body)?.[1] ?? '';
            if (!cid) return void s.destroy();
            done(true);
          }
          blocks += body.split('\n\n').length - 1;
          let n = 0;
          let at = body.indexOf('data: ev\n');
          while (at >= 0) {
            n++;
            at = body.indexOf('data: ev\n', at + 9);
          }
          if (n) onEvents(i, n);
          poll();
        }
      });
      poll();
    }
  });
}

process.on('message', async (m: any) => {
  if (m.type === 'open') {
    counts = new Int32Array(m.n);
    target = m.path;
    socketio = !!m.socketio;
    TOKEN = Buffer.from(m.token ?? PUSH_EVENT);
    batched = m.token === undefined;
    const tIndex = (['websocket', 'eventsource', 'longpoll'] as T[]).indexOf(m.transport);
    const started = now();
    for (let i = 0; i < m.n; i += m.batch) {
      const batch: Promise<boolean>[] = [];
      for (let j = i; j < Math.min(m.n, i + m.batch); j++) batch.push(connect(m.transport, m.port, j, tIndex));
      await Promise.all(batch);
      if (now() - started > m.timeoutMs) break;
      if (i % 2000 === 0) send({ type: 'progress', open, failed });
    }
    send({ type: 'opened', open, failed, seconds: (now() - started) / 1000 });
  } else if (m.type === 'expect') {
    expect = m.count;
    reached = 0;
    for (let i = 0; i < counts.length; i++) if (counts[i] >= expect) reached++;
    if (reached === open) send({ type: 'all', at: now(), count: expect });
  } else if (m.type === 'status') {
    let min = Infinity;
    for (let i = 0; i < counts.length; i++) min = Math.min(min, counts[i]);
    send({ type: 'status', open, failed, reached, min });
  } else if (m.type === 'reset') {
    // Drops every client, so that the next 'open' starts from none (one child serves several servers).
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    open = failed = reached = 0;
    expect = Infinity;
    counts = new Int32Array(0);
    send({ type: 'reset' });
  } else if (m.type === 'close') {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
send({ type: 'ready' });
