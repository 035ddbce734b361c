/**
 * Issue 15: the server frames each tick's events once and writes the same bytes to every connection
 * that gets them, and SSE carries a tick's events in one `$batch` message. Real server, real Node
 * clients, real sockets on 127.0.0.1; what the server writes is observed on its own sockets (each
 * write still goes through).
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportName } from '../src';
import { PushClient } from '../src/node';
import { createPushServer } from '../src/server';
import { encodeBatchLine, encodeEvent, HELLO, isBatch, isHello, SseParser, type SseEvent } from '../src/protocol';
import { Batch } from '../src/server/batch';
import { cleanups, listen, shut, sleep, until } from './helpers/net';
import { opened, startPush, take } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const N = 8;
const K = 40;

/** Records every chunk the server writes to each of its sockets (the write goes on as usual). */
function recordWrites(server: http.Server) {
  const writes: { socket: net.Socket; chunk: unknown }[] = [];
  server.on('connection', (socket: net.Socket) => {
    const write = socket.write;
    socket.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
      writes.push({ socket: this, chunk });
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof socket.write;
  });
  return writes;
}

/**
 * The writes that carried events named `name`: a block holds `data: <name>\n` or `data: <name>\t`,
 * a line of an SSE batch `\t<name>\t`.
 */
const carrying = (writes: { socket: net.Socket; chunk: unknown }[], name: string) =>
  writes.filter(
    (w) =>
      (Buffer.isBuffer(w.chunk) || typeof w.chunk === 'string') &&
      [`data: ${name}\n`, `data: ${name}\t`, `\t${name}\t`].some((s) => (w.chunk as string).includes(s)),
  );

async function server() {
  const s = await startPush({ heartbeatMs: 60_000, pollTimeout: 10_000 });
  cleanup.add(() => s.stop());
  return s;
}

describe.each<TransportName>(['websocket', 'eventsource', 'longpoll'])('one tick of events to %i clients over %s', (transport) => {
  it('is built once: every connection is written the same Buffer', async () => {
    const s = await server();
    const writes = recordWrites(s.server);
    // A long-poll client's poll is held once the server has seen it (the push server handles it first).
    let polls = 0;
    s.server.on('request', (req: http.IncomingMessage) => void (/[?&]ack=[1-9]/.test(req.url ?? '') && polls++));
    const clients = Array.from({ length: N }, () => s.client({ transports: [transport] }));
    await Promise.all(clients.map((c) => opened(c)));
    if (transport === 'longpoll') await until(() => polls >= N, 5000, 'every poll held');
    const got = clients.map((c) => take(c, K, ['ev']));
    for (let k = 0; k < K; k++) void s.push.publish('ev', k);
    for (const events of await Promise.all(got)) expect(events.map((e) => e.data)).toEqual([...Array(K).keys()]);

    const sent = carrying(writes, 'ev');
    expect(sent.length).toBe(N);
    expect(new Set(sent.map((w) => w.socket)).size).toBe(N);
    expect(Buffer.isBuffer(sent[0].chunk)).toBe(true);
    expect(new Set(sent.map((w) => w.chunk)).size).toBe(1);
  });
});

describe('batches follow what each connection may see', () => {
  it('builds one block per distinct stream: channel members share theirs, the sender of an except event gets its own', async () => {
    const s = await server();
    const writes = recordWrites(s.server);
    const a = Array.from({ length: 3 }, () => s.client({ transports: ['websocket'], channels: ['a'] }));
    const b = Array.from({ length: 3 }, () => s.client({ transports: ['websocket'], channels: ['b'] }));
    await Promise.all([...a, ...b].map((c) => opened(c)));
    const sender = s.push.connections.find((c) => c.channels.has('b'))!;
    const line = (event: string, data: unknown, channel?: string) => `${event}:${data}:${channel ?? ''}`;
    const streams = [...a, ...b].map((c) => {
      const got: string[] = [];
      c.onAny((event, data, meta) => void got.push(line(event, data, meta.channel)));
      return got;
    });
    for (let k = 0; k < K; k++) {
      void s.push.publish('ev', k, { channel: 'a' });
      void s.push.publish('all', k, k === 0 ? { except: sender } : undefined);
      void s.push.publish('ev', k, { channel: 'b' });
    }
    const expected = (ch: string, sender = false) =>
      [...Array(K).keys()].flatMap((k) => [
        ...(ch === 'a' ? [line('ev', k, 'a')] : []),
        ...(k === 0 && sender ? [] : [line('all', k)]),
        ...(ch === 'b' ? [line('ev', k, 'b')] : []),
      ]);
    await until(() => streams.reduce((n, got) => n + got.length, 0) >= 6 * 2 * K - 1, 5000, 'every event');
    expect(streams.slice(0, 3)).toEqual([expected('a'), expected('a'), expected('a')]);
    // One of b's clients is the sender: it misses the first `all` (its resume point still passes it).
    expect(
      streams
        .slice(3)
        .map((got) => got.join())
        .sort(),
    ).toEqual([expected('b'), expected('b'), expected('b', true)].map((x) => x.join()).sort());

    const blocks = new Set(carrying(writes, 'all').map((w) => w.chunk));
    // a's members share one, b's other members one, the sender its own.
    expect(blocks.size).toBe(3);
    expect(carrying(writes, 'all').length).toBe(6);
  });
});

describe('SSE streams written below ServerResponse', () => {
  /** A raw socket on the server that sends `request` and collects everything it reads. */
  async function rawStream(port: number, request: string) {
    const socket = net.connect(port, '127.0.0.1');
    cleanup.add(() => void socket.destroy());
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.write(request);
    return { read: () => text };
  }
  const get = (version: string) => `GET /push?t=sse HTTP/${version}\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`;
  /** The body of a chunked response, unframed; throws on anything that is not chunk framing. */
  function unchunk(body: string): string {
    let out = '';
    for (let at = 0; at < body.length; ) {
      const eol = body.indexOf('\r\n', at);
      if (eol < 0) break; // a chunk still on its way
      const size = Number.parseInt(body.slice(at, eol), 16);
      if (!/^[0-9a-f]+$/.test(body.slice(at, eol)) || body.slice(eol + 2 + size, eol + 4 + size) !== '\r\n')
        throw new Error(`not a chunk at ${at}: ${JSON.stringify(body.slice(at, at + 40))}`);
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 4 + size;
    }
    return out;
  }

  it('an HTTP/1.1 stream says it is chunked, and every tick goes to its socket as one whole chunk', async () => {
    const s = await server();
    const writes = recordWrites(s.server);
    const stream = await rawStream(s.port, get('1.1'));
    await until(() => stream.read().includes('$hello'), 5000, 'the hello');
    const ids = await Promise.all([1, 2, 3].map((k) => s.push.publish('ev', k)));
    await until(() => stream.read().includes(`${ids[2]}\tev\t\t3`), 5000, 'the batch');
    const text = stream.read();
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    const body = text.slice(head.length + 4);
    expect(head).toMatch(/^transfer-encoding: chunked$/im);
    expect(unchunk(body)).toContain(`id: ${ids[2]}\ndata: $batch\ndata: ${ids[0]}\tev\t\t1\ndata: ${ids[1]}\tev\t\t2\ndata: ${ids[2]}\tev\t\t3\n\n`);
    const sent = carrying(writes, 'ev');
    expect(sent.length).toBe(1);
    expect(unchunk((sent[0].chunk as Buffer).toString('latin1'))).toMatch(/^id: .*\ndata: \$batch\n/);
  });

  it('an HTTP/1.0 stream is not chunked and still gets every event', async () => {
    const s = await server();
    const stream = await rawStream(s.port, get('1.0'));
    await until(() => stream.read().includes('$hello'), 5000, 'the hello');
    const id = await s.push.publish('ev', 7);
    await until(() => stream.read().includes(`${id}\n`), 5000, 'the event');
    const text = stream.read();
    expect(text.slice(0, text.indexOf('\r\n\r\n'))).not.toMatch(/transfer-encoding/i);
    expect(text).toMatch(/\r\n\r\nretry: \d+\n\n/);
    expect(text).toContain(`id: ${id}\ndata: ev\ndata: 7\n\n`);
  });

  it('a stream queued behind another response on a pipelined socket keeps its order', async () => {
    const push = createPushServer({ path: '/push', heartbeatMs: 60_000 });
    // A plain request first, answered late: the SSE response behind it holds its output meanwhile.
    let answer: () => void = () => {};
    const httpServer = http.createServer((req, res) => {
      if (req.url === '/slow') answer = () => res.end('slow done');
      else if (!push.handleRequest(req, res)) res.writeHead(404).end();
    });
    cleanup.add(async () => {
      await push.close();
      await shut(httpServer);
    });
    const port = await listen(httpServer);
    const stream = await rawStream(port, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\n` + get('1.1'));
    await until(() => push.connections.length === 1, 5000, 'the SSE connection');
    const id = await push.publish('ev', 'early');
    await sleep(100); // an observation window: nothing is to happen here, and no event marks a thing not done: the SSE bytes must wait behind the pipelined response
    expect(stream.read()).toBe('');
    answer();
    await until(() => stream.read().includes('data: "early"'), 5000, 'the early event');
    const id2 = await push.publish('ev', 'late');
    await until(() => stream.read().includes('data: "late"'), 5000, 'the late event');
    const text = stream.read();
    // The slow answer, then the SSE response whole and in order: headers, retry, hello, the events.
    const second = text.indexOf('HTTP/1.1 200', 1);
    expect(text.indexOf('slow done')).toBeLessThan(second);
    const body = unchunk(text.slice(text.indexOf('\r\n\r\n', second) + 4));
    expect(body.indexOf('retry:')).toBe(0);
    expect(body.indexOf('$hello')).toBeLessThan(body.indexOf(`id: ${id}\n`));
    expect(body.indexOf(`id: ${id}\n`)).toBeLessThan(body.indexOf(`id: ${id2}\n`));
  });
});

/** A push server, an SSE client open on it, and a raw reader of a second SSE stream of it. */
async function clientAndRawStream() {
  const s = await server();
  const c = s.client({ transports: ['eventsource'] });
  await opened(c);
  const ac = new AbortController();
  cleanup.add(() => ac.abort());
  const raw = await fetch(`${s.url}?t=sse`, { headers: { Accept: 'text/event-stream' }, signal: ac.signal });
  return { s, c, reader: raw.body!.pipeThrough(new TextDecoderStream()).getReader() };
}

describe('a tick that starts with the hello', () => {
  // A client tells our server from a plain one by the hello, so it never shares a message or a frame.
  const hello = encodeEvent(HELLO, '{"v":1}');
  const events = ['a', 'b'].map((name, k) => ({ block: encodeEvent(name, `${k}`, `e:${k}`), line: encodeBatchLine(name, `${k}`, `e:${k}`) }));
  const tick = () => events.reduce((node, e) => node.followedBy(e.block, e.line), new Batch().followedBy(hello));

  it('sends it over SSE as a message of its own, then the events as one batch', () => {
    const messages: SseEvent[] = [];
    new SseParser((e, hasData) => void (hasData && messages.push(e))).push(tick().eventSource().toString());
    expect(messages.map((m) => (isHello(m) ? 'hello' : isBatch(m) ? `batch of ${m.data.split('\n').length - 1}` : m.data))).toEqual(['hello', 'batch of 2']);
  });

  it('sends it over WebSocket as a frame of its own, then the events as one frame', () => {
    const bytes = tick().websocket();
    // Unmasked text frames under 126 bytes: FIN+text, then the length, then the payload.
    const frames: string[] = [];
    for (let at = 0; at < bytes.length; at += 2 + bytes[at + 1]) frames.push(bytes.subarray(at + 2, at + 2 + bytes[at + 1]).toString());
    expect(frames).toEqual([hello, events.map((e) => e.block).join('')]);
  });
});

describe('batched SSE', () => {
  it('sends a tick of events as one $batch message of one line per event, whose id is the last event id', async () => {
    const { s, c, reader } = await clientAndRawStream();
    let text = '';
    /** Reads until `text` holds `what` (bounded: the test's timeout ends a stream that stalls). */
    const readUntil = async (what: string) => {
      while (!text.includes(what)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${JSON.stringify(what)}`);
        text += value;
      }
    };
    await readUntil('$hello');
    const got = take(c, K, ['ev']);
    const ids = await Promise.all([...Array(K).keys()].map((k) => s.push.publish('ev', k)));
    // Each event keeps its own id on the client.
    expect((await got).map((e) => e.id)).toEqual(ids);
    await readUntil(`data: ${ids[K - 1]}\tev\t\t${K - 1}\n\n`);
    const batch = text.slice(text.indexOf('\n\n', text.indexOf('$hello')) + 2);
    const lines = [...Array(K).keys()].map((k) => `data: ${ids[k]}\tev\t\t${k}\n`);
    expect(batch).toBe(`id: ${ids[K - 1]}\ndata: $batch\n${lines.join('')}\n`);
    // One message: no blank line before its end.
    expect(batch.indexOf('\n\n')).toBe(batch.length - 2);
  });

  it('batches large events too, at most 16 K characters a message, and sends an event longer than that on its own', async () => {
    const { s, c, reader } = await clientAndRawStream();
    const messages: SseEvent[] = [];
    // Messages with data only: the stream starts with a bare `retry:` block.
    const parser = new SseParser((e, hasData) => void (hasData && messages.push(e)));
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        parser.push(value!);
      }
    })();
    await until(() => messages.some(isHello), 5000, 'the hello');
    const sizes = [5000, 5000, 5000, 5000, 5000, 20_000, 5000, 5000];
    const got = take(c, sizes.length, ['big']);
    const ids = await Promise.all(sizes.map((n, k) => s.push.publish('big', String(k).padEnd(n, 'x'))));
    expect((await got).map((e) => [e.id, (e.data as string).length])).toEqual(sizes.map((n, k) => [ids[k], n]));
    await until(() => messages.filter((m) => !isHello(m)).length >= 4, 5000, 'every message');
    const sent = messages.filter((m) => !isHello(m));
    // 5,000-character events three to a batch, the 20,000-character one alone, then the last two.
    expect(sent.map((m) => (isBatch(m) ? m.data.split('\n').length - 1 : 'alone'))).toEqual([3, 2, 'alone', 2]);
    expect(sent.map((m) => m.id)).toEqual([ids[2], ids[4], ids[5], ids[7]]);
    for (const m of sent.filter(isBatch)) expect(m.data.length).toBeLessThanOrEqual(16 * 1024 + 10);
  });

  it('a drop in the middle of a batch loses it whole, and the resume delivers every event once, in order, each with its id', async () => {
    const s = await server();
    // A proxy that cuts the first stream that carries a batch in the middle of that batch.
    let cut = false;
    const proxy = net.createServer((down) => {
      const up = net.connect(s.port, '127.0.0.1');
      down.pipe(up);
      up.on('data', (chunk: Buffer) => {
        if (!cut) {
          const text = chunk.toString('latin1');
          const at = text.indexOf('data: $batch');
          if (at >= 0) {
            cut = true;
            const end = text.indexOf('\n\n', at);
            down.write(chunk.subarray(0, end > at ? at + Math.floor((end - at) / 2) : at + 20));
            down.destroy();
            up.destroy();
            return;
          }
        }
        down.write(chunk);
      });
      const close = () => (down.destroy(), up.destroy());
      up.on('error', close).on('close', close);
      down.on('error', close).on('close', close);
    });
    const port = await listen(proxy as unknown as http.Server);
    cleanup.add(() => new Promise((r) => proxy.close(r)));
    const c = new PushClient(`http://127.0.0.1:${port}/push`, { transports: ['eventsource'], reconnect: { minDelay: 5, maxDelay: 20 } });
    cleanup.add(() => c.close());
    const got: { n: number; id?: string }[] = [];
    c.on('n', (n: number, meta) => void got.push({ n, id: meta.id }));
    const before: number[] = [];
    c.lifecycle.on('reconnecting', () => void before.push(got.length));
    await opened(c);

    const ids = [await s.push.publish('n', 0)];
    await until(() => got.length === 1, 5000, 'the first event');
    // One tick: one batch, which the proxy cuts in its middle.
    ids.push(...(await Promise.all([...Array(50).keys()].map((k) => s.push.publish('n', 1 + k)))));
    await until(() => before.length > 0, 5000, 'the drop');
    ids.push(...(await Promise.all([...Array(50).keys()].map((k) => s.push.publish('n', 51 + k)))));
    await until(() => got.length >= 101, 10_000, `all events (got ${got.length})`);

    expect(cut).toBe(true);
    // Nothing of the cut batch was delivered before the drop: a batch arrives whole or not at all.
    expect(before[0]).toBe(1);
    expect(got.map((e) => e.n)).toEqual([...Array(101).keys()]);
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(c.lastEventId).toBe(ids[100]);
  });

  it('a plain SSE server is read as before: a message that looks like a batch is one message when no hello came', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 7\ndata: $batch\ndata: id: 1\ndata: data: x\n\n');
      res.write('id: 8\ndata: plain\n\n');
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    const c = new PushClient({ eventsource: `http://127.0.0.1:${port}/` }, { reconnect: { minDelay: 10, maxDelay: 50 } });
    cleanup.add(() => c.close());
    const events = await take(c, 2, ['message']);
    expect(events.map((e) => [e.data, e.id])).toEqual([
      ['$batch\nid: 1\ndata: x', '7'],
      ['plain', '8'],
    ]);
  });
});
