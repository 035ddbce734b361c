/**
 * A TCP proxy of our own (plain `net`) between a client and a server on 127.0.0.1, for the fault
 * suite. It reads just enough HTTP/1.1 on the way in to tell each request's kind (WebSocket upgrade,
 * SSE, long-poll, POST) and can, at runtime:
 * - refuse WebSocket upgrades with 403, as corporate proxies do (`ws = 'refuse'`);
 * - accept an upgrade and then pass nothing (`ws = 'silent'`), or cut it right after the handshake
 *   (`ws = 'cut'`);
 * - pass an SSE response's head and hold its body forever, as a buffering proxy does (`sse = 'buffer'`);
 * - accept connections and close them at once after reading the request (`down = true`);
 * - cut every open connection (`cutAll()`), or at random moments (`chaos()`);
 * - stop passing anything on the connections open now, leaving them open (`freeze()`);
 * - add latency to every chunk in both directions (`latency = ms`), order kept.
 * Modes are read when a request passes, so a stream already flowing is not affected by a change.
 */
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type Kind = 'ws' | 'sse' | 'lp' | 'post' | 'other';
export interface Seen {
  kind: Kind;
  method: string;
  url: string;
  at: number;
}

/** Seeded PRNG (mulberry32), so that a random run can be repeated from its printed seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from('\r\n\r\n');

/** One direction of a connection: writes chunks to `out` after the proxy's latency, in order. */
class Pipe {
  private q: { at: number; buf: Buffer; cb?: () => void }[] = [];
  private timer?: NodeJS.Timeout;
  private ending = false;

  constructor(
    private readonly p: Proxy,
    private readonly out: net.Socket,
  ) {}

  write(buf: Buffer, cb?: () => void): void {
    if (this.out.destroyed) return;
    if (!this.p.latency && !this.q.length) {
      this.out.write(buf, cb && (() => cb()));
      return;
    }
    this.q.push({ at: Date.now() + this.p.latency, buf, cb });
    this.pump();
  }

  /** Ends `out` once everything queued has been written. */
  end(): void {
    this.ending = true;
    if (!this.q.length && !this.out.destroyed) this.out.end();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.q = [];
  }

  private pump(): void {
    if (this.timer || !this.q.length) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        while (this.q.length && this.q[0].at <= now) {
          const { buf, cb } = this.q.shift()!;
          if (!this.out.destroyed) this.out.write(buf, cb && (() => cb()));
        }
        if (this.q.length) this.pump();
        else if (this.ending && !this.out.destroyed) this.out.end();
      },
      Math.max(0, this.q[0].at - Date.now()),
    );
  }
}

class Conn {
  readonly toUp: Pipe;
  readonly toClient: Pipe;
  /** Bytes from the client not yet parsed (a request head in pieces). */
  inBuf = EMPTY;
  /** Bytes of a request body still to pass before the next head. */
  body = 0;
  /** After an upgrade: bytes pass unparsed. */
  raw = false;
  /** Kind of the last request on this connection. */
  kind: Kind | null = null;
  /** The last request has had no byte of answer yet (a long-poll being held). */
  waiting = false;
  /** What to do with the response to the last request, once its head has passed. */
  after: 'silent' | 'cut' | 'hold' | null = null;
  /** The response head being gathered; `null` once it has passed. */
  outBuf: Buffer | null = EMPTY;
  frozen = false;
  closed = false;

  constructor(
    p: Proxy,
    readonly client: net.Socket,
    readonly up: net.Socket,
  ) {
    this.toUp = new Pipe(p, up);
    this.toClient = new Pipe(p, client);
  }

  cut(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.toUp.stop();
    this.toClient.stop();
    if (reset && this.client.resetAndDestroy && !this.client.destroyed && this.client.readyState === 'open') {
      this.client.resetAndDestroy();
    } else this.client.destroy();
    this.up.destroy();
  }
}

export class Proxy {
  /** Added to every chunk in both directions, in ms. */
  latency = 0;
  ws: 'pass' | 'refuse' | 'silent' | 'cut' = 'pass';
  sse: 'pass' | 'buffer' = 'pass';
  /** Accept, read the request, close: a server that is up but useless. */
  down = false;
  /** Called for every request head, before the modes apply. */
  onRequest?: (r: Seen) => void;
  /** Answers a request itself when this returns a raw HTTP response (then closes the connection). */
  respond?: (r: Seen) => string | undefined;
  /** Every request seen, in order (also the ones refused). */
  readonly requests: Seen[] = [];
  /** Connections accepted so far. */
  accepted = 0;
  private readonly conns = new Set<Conn>();
  private readonly server: net.Server;
  private chaosTimer?: NodeJS.Timeout;
  port = 0;

  constructor(private readonly target: () => number) {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
  }

  listen(): Promise<this> {
    return new Promise((r) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        r(this);
      }),
    );
  }

  /** `http://127.0.0.1:<proxy port><path>` */
  url(path = '/push'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Connections open now (client side not closed). */
  get open(): number {
    return this.conns.size;
  }

  /** Requests of a kind seen so far. */
  count(kind: Kind): number {
    return this.requests.filter((r) => r.kind === kind).length;
  }

  /** Cuts every open connection now; returns how many. `reset` sends an RST instead of a FIN. */
  cutAll(reset = false): number {
    const n = this.conns.size;
    for (const c of [...this.conns]) c.cut(reset);
    return n;
  }

  /**
   * Open connections that carry a stream (a WebSocket, an SSE response, a long-poll being held)
   * stop passing bytes both ways and stay open towards the client even when the server
   * closes its side: the client learns nothing, as behind a dead NAT or a sleeping laptop's Wi-Fi.
   * Idle keep-alive sockets of sends and new connections are not affected.
   */
  freeze(kinds: Kind[] = ['ws', 'sse', 'lp']): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.kind && kinds.includes(c.kind) && (c.kind !== 'lp' || c.waiting)) (c.frozen = true), n++;
    }
    return n;
  }

  /**
   * Cuts every open connection at random moments, `minGap`..`maxGap` ms apart, until `stop()` or
   * `maxCuts` cuts. `hits` counts the cuts that found at least one open connection.
   */
  chaos({ seed, minGap, maxGap, maxCuts = 500 }: { seed: number; minGap: number; maxGap: number; maxCuts?: number }) {
    const rand = rng(seed);
    const state = { cuts: 0, hits: 0, conns: 0, stop: () => clearTimeout(this.chaosTimer) };
    const next = () => {
      if (state.cuts >= maxCuts) return;
      this.chaosTimer = setTimeout(
        () => {
          state.cuts++;
          const n = this.cutAll(rand() < 0.5);
          if (n) state.hits++;
          state.conns += n;
          next();
        },
        minGap + rand() * (maxGap - minGap),
      );
    };
    next();
    return state;
  }

  close(): Promise<void> {
    clearTimeout(this.chaosTimer);
    this.cutAll();
    return new Promise((r) => this.server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const up = net.connect({ port: this.target(), host: '127.0.0.1', allowHalfOpen: true });
    const c = new Conn(this, client, up);
    this.conns.add(c);
    client.setNoDelay(true);
    up.setNoDelay(true);
    const gone = () => {
      this.conns.delete(c);
      c.cut(false);
    };
    // A frozen connection keeps its client side open after the server's side went away.
    const upGone = () => (c.frozen && !client.readableEnded ? up.destroy() : gone());
    client.on('error', gone).on('close', gone);
    up.on('error', upGone).on('close', upGone);
    client.on('data', (d: Buffer) => this.fromClient(c, d));
    up.on('data', (d: Buffer) => this.fromServer(c, d));
    client.on('end', () => (c.frozen ? gone() : c.toUp.end()));
    up.on('end', () => c.frozen || c.toClient.end());
  }

  private fromClient(c: Conn, chunk: Buffer): void {
    if (c.frozen || c.closed) return;
    if (c.raw) return c.toUp.write(chunk);
    let buf = c.inBuf.length ? Buffer.concat([c.inBuf, chunk]) : chunk;
    for (;;) {
      if (c.body > 0) {
        const n = Math.min(c.body, buf.length);
        if (n) c.toUp.write(buf.subarray(0, n));
        buf = buf.subarray(n);
        c.body -= n;
        if (c.body > 0) break;
      }
      if (c.raw) {
        if (buf.length) c.toUp.write(buf);
        buf = EMPTY;
        break;
      }
      const end = buf.indexOf(HEAD_END);
      if (end < 0) break;
      const head = buf.subarray(0, end + 4);
      buf = buf.subarray(end + 4);
      if (!this.request(c, head.toString('latin1'))) return;
      c.toUp.write(head);
    }
    c.inBuf = buf.length ? Buffer.from(buf) : EMPTY;
  }

  /** Reads one request head, applies the modes; false when the connection was answered and closed. */
  private request(c: Conn, head: string): boolean {
    const lines = head.split('\r\n');
    const [method = '', url = ''] = lines[0].split(' ');
    const h: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const t = new URL(url, 'http://x').searchParams.get('t');
    const kind: Kind = /websocket/i.test(h.upgrade ?? '')
      ? 'ws'
      : method === 'POST'
        ? 'post'
        : t === 'sse' || /text\/event-stream/.test(h.accept ?? '')
          ? 'sse'
          : t === 'lp'
            ? 'lp'
            : 'other';
    const seen: Seen = { kind, method, url, at: Date.now() };
    this.requests.push(seen);
    this.onRequest?.(seen);
    c.kind = kind;
    c.waiting = true;
    c.after = null;
    c.outBuf = EMPTY;
    c.body = +(h['content-length'] ?? 0) || 0;
    if (this.down) {
      c.cut(false);
      return false;
    }
    const answer = this.respond?.(seen);
    if (answer !== undefined) {
      c.toClient.write(Buffer.from(answer), () => c.cut(false));
      return false;
    }
    if (kind === 'ws') {
      c.raw = true;
      if (this.ws === 'refuse') {
        c.toClient.write(Buffer.from(httpAnswer(403, 'Forbidden')), () => c.cut(false));
        return false;
      }
      if (this.ws !== 'pass') c.after = this.ws;
    } else if (kind === 'sse' && this.sse === 'buffer') c.after = 'hold';
    return true;
  }

  private fromServer(c: Conn, chunk: Buffer): void {
    if (c.frozen || c.closed) return;
    c.waiting = false;
    if (!c.after) return c.toClient.write(chunk);
    if (c.outBuf === null) return; // head passed: the body is held or dropped
    const buf = c.outBuf.length ? Buffer.concat([c.outBuf, chunk]) : chunk;
    const end = buf.indexOf(HEAD_END);
    if (end < 0) {
      c.outBuf = buf;
      return;
    }
    const head = buf.subarray(0, end + 4);
    c.outBuf = null;
    if (c.after === 'cut') return c.toClient.write(head, () => c.cut(false));
    c.toClient.write(head);
    // silent: nothing more passes either way; hold: the body waits here forever (dropped).
    if (c.after === 'silent') c.frozen = true;
  }
}

/** A complete HTTP/1.1 answer that closes the connection, for `respond` and refused upgrades. */
export function httpAnswer(status: number, body = '', headers: Record<string, string> = {}): string {
  const h = Object.entries({ 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...headers });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n${h.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `target` (a port, or a function for a moving one). */
export function startProxy(target: number | (() => number)): Promise<Proxy> {
  return new Proxy(typeof target === 'number' ? () => target : target).listen();
}
