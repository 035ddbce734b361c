/**
 * Raw clients for the server tests: the `ws` WebSocket, fetch-based SSE and long-poll, each
 * decoding what it receives with the protocol codec only, so the server is tested on its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import { decodeFrame, isBatch, SseParser, unbatch, type Frame, type Hello } from '../../src/protocol';
import { createPushServer } from '../../src/server';
import type { PushServer, PushServerOptions } from '../../src/server';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` holds, polling every 5 ms; rejects after `ms`. */
export async function until(cond: () => unknown, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export interface TestServer<User = unknown> {
  push: PushServer<User>;
  server: http.Server;
  /** http://127.0.0.1:port */
  origin: string;
  /** origin + push path */
  url: string;
  /**
   * Resolves once the push server has handled a request whose URL contains `fragment`. Without
   * `authorize` a request is handled synchronously, so a poll is held by then.
   */
  handled(fragment: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * An http.Server on 127.0.0.1 with an app listener that answers every other path with 200 "app",
 * and a push server attached to it.
 */
export async function startServer<User = unknown>(options: Omit<PushServerOptions<User>, 'server'> = {}): Promise<TestServer<User>> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('app ' + req.url);
  });
  const push = createPushServer<User>({ ...options, server });
  // The attached server calls `push.handleRequest` for each request: wrapped here, it tells `handled`.
  const handledWaiters = new Set<(url: string) => void>();
  const handleRequest = push.handleRequest.bind(push);
  push.handleRequest = (req, res) => {
    const mine = handleRequest(req, res);
    for (const waiter of [...handledWaiters]) waiter(req.url ?? '');
    return mine;
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    push,
    server,
    origin,
    url: origin + (options.path ?? '/push'),
    handled: (fragment) =>
      new Promise((resolve) => {
        const waiter = (url: string) => {
          if (!url.includes(fragment)) return;
          handledWaiters.delete(waiter);
          resolve();
        };
        handledWaiters.add(waiter);
      }),
    async close() {
      await push.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Frames received by one client, with waiting helpers. */
export class Inbox {
  readonly frames: Frame[] = [];
  /** The last `retry:` field seen. */
  retry?: number;
  /** The pending `waitFor` checks, run whenever frames arrive. */
  private readonly waiters = new Set<() => void>();
  private parser = new SseParser((e) => {
    if (e.retry !== undefined) this.retry = e.retry;
    // A block with only `retry:` carries no event; a batch carries several.
    if (isBatch(e)) unbatch(e, Infinity, (inner) => this.frames.push(decodeFrame(inner)));
    else if (e.data || e.id !== undefined) this.frames.push(decodeFrame(e));
  });

  feed(text: string): void {
    this.parser.push(text);
    this.arrived();
  }

  /** Adds frames decoded elsewhere (a long-poll answer). */
  add(frames: Frame[]): void {
    this.frames.push(...frames);
    this.arrived();
  }

  private arrived(): void {
    for (const check of [...this.waiters]) check();
  }

  get hello(): Hello | undefined {
    const f = this.frames[0];
    return f?.event === '$hello' ? (JSON.parse(f.data) as Hello) : undefined;
  }

  /** Application events (no control frames). */
  get events(): Frame[] {
    return this.frames.filter((f) => f.event[0] !== '$');
  }

  named(event: string): Frame[] {
    return this.frames.filter((f) => f.event === event);
  }

  /** Resolves once `pred` holds for the frames received so far: checked now and on every arrival, not on a clock. */
  waitFor(pred: (f: Frame[]) => boolean, ms = 5000, what = 'frames'): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred(this.frames)) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; got ${this.frames.map((f) => f.event).join(' ')}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  waitEvents(n: number, ms = 5000): Promise<void> {
    return this.waitFor(() => this.events.length >= n, ms, `${n} events`);
  }
}

let markers = 0;

/**
 * Sends `client` a targeted event (no id, not in history) and waits for it. A connection's frames
 * arrive in order, so whatever the server sent it before has arrived by then: this is how a test
 * shows that nothing more came, with no window of time to guess. Returns the application events
 * that came before the marker.
 */
export async function eventsBeforeMarker(push: PushServer<any>, client: { inbox: Inbox }): Promise<Frame[]> {
  const marker = `marker-${++markers}`;
  const conn = push.connection(client.inbox.hello!.cid);
  if (!conn) throw new Error('the client is not connected to this server');
  await conn.send(marker, null);
  await client.inbox.waitFor((f) => f.some((x) => x.event === marker), 5000, marker);
  const events = client.inbox.events;
  return events.slice(
    0,
    events.findIndex((f) => f.event === marker),
  );
}

const qs = (query: Record<string, string | string[] | undefined>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  }
  const s = p.toString();
  return s ? '?' + s : '';
};

export type Query = Record<string, string | string[] | undefined>;

export interface WsClient {
  ws: WebSocket;
  inbox: Inbox;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  send(m: unknown): void;
  close(): void;
}

/** Opens a WebSocket to `url` and collects what it receives. Rejects when the upgrade is refused. */
export function wsClient(url: string, query: Query = {}, headers?: Record<string, string>): Promise<WsClient> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + qs(query), { headers });
  const inbox = new Inbox();
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('message', (d) => inbox.feed(d.toString()));
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
    ws.once('open', () => resolve({ ws, inbox, closed, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)), close: () => ws.terminate() }));
  });
}

export interface SseClient {
  res: Response;
  inbox: Inbox;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens an SSE stream with fetch. Resolves with the response; for non-200 the body is not read. */
export async function sseClient(url: string, query: Query = {}, headers: Record<string, string> = {}): Promise<SseClient> {
  const ac = new AbortController();
  const res = await fetch(url + qs(query), { headers: { Accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const inbox = new Inbox();
  let ended: Promise<void> = Promise.resolve();
  if (res.ok && res.body) {
    const body = res.body.pipeThrough(new TextDecoderStream());
    ended = (async () => {
      try {
        for await (const chunk of body as unknown as AsyncIterable<string>) inbox.feed(chunk);
      } catch {
        /* aborted */
      }
    })();
  }
  return { res, inbox, ended, close: () => ac.abort() };
}

/** One long-poll request; the body is decoded into frames. */
export async function lpGet(url: string, query: Query, signal?: AbortSignal): Promise<{ status: number; text: string; frames: Frame[]; res: Response }> {
  const res = await fetch(url + qs({ t: 'lp', ...query }), { signal });
  const text = await res.text();
  const frames: Frame[] = [];
  if (res.ok) new SseParser((e) => frames.push(decodeFrame(e))).push(text);
  return { status: res.status, text, frames, res };
}

/** A long-poll client that keeps polling with the right ack until stopped. */
export class LpClient {
  readonly inbox = new Inbox();
  cid = '';
  received = 0;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly ac = new AbortController();
  lastStatus = 0;

  constructor(
    private readonly url: string,
    private readonly query: Query = {},
  ) {}

  /** Creates the session; resolves with the creating response's status. */
  async open(): Promise<number> {
    const r = await lpGet(this.url, this.query);
    if (r.status !== 200) return r.status;
    this.take(r.frames);
    this.cid = this.inbox.hello!.cid;
    this.loop = this.run();
    return 200;
  }

  private take(frames: Frame[]): void {
    this.received += frames.length;
    this.inbox.add(frames);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // The query of the open goes on every poll too, as PushClient does: a server with `authorize`
      // checks each poll again.
      const r = await lpGet(this.url, { ...this.query, cid: this.cid, ack: String(this.received) }, this.ac.signal).catch(() => null);
      if (!r) return;
      this.lastStatus = r.status;
      if (r.status !== 200) return;
      this.take(r.frames);
    }
  }

  /** Stops polling, aborting the poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ac.abort();
    await this.loop;
  }
}

/** POSTs client messages for a connection. */
export function post(url: string, cid: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(url + qs({ cid }), {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export type Kind = 'websocket' | 'eventsource' | 'longpoll';
export const KINDS: Kind[] = ['websocket', 'eventsource', 'longpoll'];

/** A connected client of any transport, reduced to what the shared tests need. */
export interface AnyClient {
  inbox: Inbox;
  cid: string;
  /** Sends client messages: a WebSocket frame, or a POST (resolves with its status; 0 on WebSocket). */
  send(m: unknown): Promise<number>;
  stop(): Promise<void>;
}

/** Connects over `kind` and waits for the hello. */
export async function connect(kind: Kind, url: string, query: Query = {}): Promise<AnyClient> {
  if (kind === 'longpoll') {
    const c = new LpClient(url, query);
    const status = await c.open();
    if (status !== 200) throw new Error('long-poll refused: ' + status);
    return { inbox: c.inbox, cid: c.cid, send: async (m) => (await post(url, c.cid, m)).status, stop: () => c.stop() };
  }
  if (kind === 'websocket') {
    const c = await wsClient(url, query);
    await c.inbox.waitFor((f) => f.length > 0, 5000, 'hello');
    return {
      inbox: c.inbox,
      cid: c.inbox.hello!.cid,
      send: async (m) => (c.send(m), 0),
      stop: async () => c.close(),
    };
  }
  const c = await sseClient(url, { t: 'sse', ...query });
  if (c.res.status !== 200) throw new Error('SSE refused: ' + c.res.status);
  await c.inbox.waitFor((f) => f.length > 0, 5000, 'hello');
  const cid = c.inbox.hello!.cid;
  return { inbox: c.inbox, cid, send: async (m) => (await post(url, cid, m)).status, stop: async () => c.close() };
}

/**
 * Servers and clients for one test file, all stopped after each test: call once at the top of the
 * file. `start` runs a server (pollTimeout 500 unless the options say otherwise), `open` connects a
 * client to it; a client opened otherwise can be pushed onto `clients` to be stopped too.
 */
export function useServers(): {
  clients: AnyClient[];
  start(options?: Parameters<typeof startServer>[0]): Promise<TestServer<any>>;
  open(kind: Kind, s: TestServer<any>, query?: Query): Promise<AnyClient>;
} {
  const servers: TestServer<any>[] = [];
  const clients: AnyClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    clients,
    async start(options = {}) {
      const s = await startServer({ pollTimeout: 500, ...options });
      servers.push(s);
      return s;
    },
    async open(kind, s, query = {}) {
      const c = await connect(kind, s.url, query);
      clients.push(c);
      return c;
    },
  };
}
