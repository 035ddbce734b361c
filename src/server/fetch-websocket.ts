import { PushError } from '../protocol';
import type { Batch } from './batch';
import { HEARTBEAT_BLOCK } from './blocks';
import { StreamConnection, type Admission, type ConnectionHost } from './connection';

/**
 * A server-side WebSocket as a fetch host offers it (Bun's `ServerWebSocket`, Deno's `WebSocket`),
 * reduced to what a connection uses. The host frames each message itself, so a connection sends
 * texts, not the prebuilt frames the Node path writes to its sockets.
 */
export interface HostSocket {
  /** Sends one text message. */
  send(text: string): void;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection at once: a close frame would queue behind the backlog. */
  terminate(): void;
  /** Bytes sent but not yet passed to the network. */
  bufferedAmount(): number;
  /** True while messages may be sent. */
  isOpen(): boolean;
  /** Sends a ping, on hosts that report pongs (Bun). Where it is absent the host pings itself (Deno). */
  ping?(): void;
}

/** Longest close reason the protocol allows is 123 bytes; ours are ASCII and short anyway. */
const closeReason = (text: string): string => (text.length > 120 ? text.slice(0, 120) : text);

/** Frame texts per batch node: built once for every connection of a fan-out that got the same blocks. */
const textsOf = new WeakMap<Batch, string[]>();

function frameTexts(batch: Batch): string[] {
  let texts = textsOf.get(batch);
  if (!texts) textsOf.set(batch, (texts = batch.websocketTexts()));
  return texts;
}

/**
 * A connection over a fetch host's WebSocket. The host adapter calls {@link received},
 * {@link pong} and {@link socketClosed}; the rest is the Node path's `WsConnection`, message for message:
 * the same close codes for bad input, the same heartbeat, the same drop of a peer too slow.
 */
export class FetchWsConnection<User = unknown> extends StreamConnection<User> {
  /** Cleared at each heartbeat, set by a pong or any message: a socket that stays silent is dead. */
  private alive = true;
  /** Something was written since the last heartbeat, so no `$hb` is needed. */
  private wrote = false;
  private socketOpen = true;
  /** Called once the socket has closed (`end` waits on it). */
  private readonly whenClosed: (() => void)[] = [];

  constructor(
    host: ConnectionHost,
    id: string,
    admission: Admission<User>,
    private readonly socket: HostSocket,
    private readonly onText: (conn: FetchWsConnection<User>, text: string) => void,
    private readonly maxMessageSize: number,
  ) {
    super(host, id, 'websocket', admission);
  }

  /** A message from the client. */
  received(data: unknown): void {
    this.alive = true;
    if (this.closed) return;
    if (typeof data !== 'string') return this.refuse(1003, 'binary frames are not supported');
    // Bun enforces the size itself (maxPayloadLength); Deno has no such option. A string of n UTF-16
    // units is at most 3n bytes of UTF-8, so short ones are not measured.
    if (data.length > this.maxMessageSize / 3 && Buffer.byteLength(data) > this.maxMessageSize) return this.refuse(1009, 'message too large');
    try {
      this.onText(this, data);
    } catch (err) {
      // Only the message parser throws here (listeners are guarded by the host): text that is not
      // JSON is invalid payload data (1007), a well-formed but wrong message a policy breach (1008).
      const notJson = err instanceof PushError && (err as { cause?: unknown }).cause instanceof SyntaxError;
      this.refuse(notJson ? 1007 : 1008, (err as Error).message);
    }
  }

  /** The client answered a ping. */
  pong(): void {
    this.alive = true;
  }

  /** The socket closed, whichever side closed it. */
  socketClosed(): void {
    this.socketOpen = false;
    this.gone();
    for (const resolve of this.whenClosed.splice(0)) resolve();
  }

  heartbeat(): void {
    if (this.socket.ping) {
      if (!this.alive) return this.drop();
      this.alive = false;
      this.socket.ping();
    }
    if (!this.wrote) this.push(HEARTBEAT_BLOCK);
    this.wrote = false;
  }

  protected waiting(): number {
    return this.socket.bufferedAmount();
  }

  protected kill(): void {
    this.socket.terminate();
  }

  protected write(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.wrote = true;
    // After a close frame (ours or the peer's) no data frame may follow.
    if (!this.socket.isOpen()) return;
    for (const text of frameTexts(batch)) this.socket.send(text);
  }

  private refuse(code: number, why: string): void {
    if (this.ended()) this.socket.close(code, closeReason(why));
  }

  protected end(shutdown: boolean): Promise<void> {
    this.write();
    if (!this.socketOpen) return Promise.resolve();
    return new Promise((resolve) => {
      this.whenClosed.push(resolve);
      this.socket.close(shutdown ? 1001 : 1000, shutdown ? 'server shutting down' : 'closed by server');
      if (shutdown) {
        // Do not wait on a peer that never answers the close frame.
        const timer = setTimeout(() => this.socket.terminate(), 1000);
        this.whenClosed.push(() => clearTimeout(timer));
      }
    });
  }
}

/**
 * A WebSocket that `push.fetch` admitted (origin, limits, `authorize`) and asked its host to
 * upgrade: the connection is made when the host opens the socket. If the socket closes before
 * (the client left during the handshake), its slot under the connection limits goes back.
 */
export class UpgradedSocket {
  private connection: FetchWsConnection<any> | null = null;
  private over = false;

  constructor(
    /** Makes and opens the connection over the socket, or closes it (the push server closed meanwhile). */
    private readonly opened: (socket: HostSocket) => FetchWsConnection<any> | null,
    /** Gives the admission's slot back when no connection was made. */
    private readonly release: () => void,
  ) {}

  open(socket: HostSocket): void {
    if (this.over) return socket.terminate();
    this.connection = this.opened(socket);
  }

  message(data: unknown): void {
    this.connection?.received(data);
  }

  pong(): void {
    this.connection?.pong();
  }

  close(): void {
    if (this.over) return;
    this.over = true;
    if (this.connection) this.connection.socketClosed();
    else this.release();
  }
}

/** The parts of Bun's `ServerWebSocket` used here. */
export interface BunServerWebSocket {
  readonly data: unknown;
  readonly readyState: number;
  send(data: string): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): number;
  getBufferedAmount(): number;
}

/**
 * Bun's `websocket` handlers for the sockets `push.fetch` upgraded: pass them to `Bun.serve`
 * beside `fetch`. Sockets that another part of the app upgraded (their `data` is not ours) are left alone.
 */
export interface BunWebSocketHandlers {
  /** Larger messages are closed with 1009 by Bun: `maxMessageSize`. */
  readonly maxPayloadLength: number;
  /** 0: liveness is the heartbeat's ping and pong, as on the other hosts, not Bun's idle timer. */
  readonly idleTimeout: number;
  /** Bun's own pings are off: the heartbeat pings. */
  readonly sendPings: boolean;
  open(ws: BunServerWebSocket): void;
  message(ws: BunServerWebSocket, message: string | Uint8Array): void;
  pong(ws: BunServerWebSocket): void;
  close(ws: BunServerWebSocket, code: number, reason: string): void;
}

/** Bun's socket as a {@link HostSocket}. */
function bunSocket(ws: BunServerWebSocket): HostSocket {
  return {
    send: (text) => void ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    bufferedAmount: () => ws.getBufferedAmount(),
    isOpen: () => ws.readyState === 1,
    ping: () => void ws.ping(),
  };
}

/** Makes the handlers `push.websocket` hands to `Bun.serve`. */
export function bunWebSocketHandlers(maxMessageSize: number): BunWebSocketHandlers {
  const ours = (ws: BunServerWebSocket): UpgradedSocket | undefined => (ws.data instanceof UpgradedSocket ? ws.data : undefined);
  return {
    maxPayloadLength: maxMessageSize,
    idleTimeout: 0,
    sendPings: false,
    open: (ws) => ours(ws)?.open(bunSocket(ws)),
    message: (ws, message) => ours(ws)?.message(message),
    pong: (ws) => ours(ws)?.pong(),
    close: (ws) => ours(ws)?.close(),
  };
}

/** The parts of Deno's server-side `WebSocket` used here (a WHATWG `WebSocket`). */
interface DenoWebSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: (() => void) | null;
  onerror: (() => void) | null;
}

/** `Deno.upgradeWebSocket`, when the code runs on Deno. */
type DenoUpgrade = (request: Request, options: { idleTimeout: number }) => { socket: DenoWebSocket; response: Response };

/** `Deno.upgradeWebSocket` when this runs on Deno, else `undefined`. */
export function denoUpgrade(): DenoUpgrade | undefined {
  const deno = (globalThis as { Deno?: { upgradeWebSocket?: unknown } }).Deno;
  return typeof deno?.upgradeWebSocket === 'function' ? (deno.upgradeWebSocket.bind(deno) as DenoUpgrade) : undefined;
}

/**
 * Upgrades `request` with Deno and wires the socket to `upgraded`. Deno's socket reports no pongs,
 * so Deno pings it: `idleTimeout` (seconds) closes a peer that does not answer.
 */
export function upgradeWithDeno(upgrade: DenoUpgrade, request: Request, upgraded: UpgradedSocket, heartbeatMs: number): Response {
  const { socket, response } = upgrade(request, { idleTimeout: Math.max(1, Math.ceil(heartbeatMs / 1000)) });
  const hostSocket: HostSocket = {
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    // The WHATWG socket has no abort; a close without a handshake wait is the nearest.
    terminate: () => socket.close(),
    bufferedAmount: () => socket.bufferedAmount,
    isOpen: () => socket.readyState === 1,
  };
  socket.onopen = () => upgraded.open(hostSocket);
  socket.onmessage = (event) => upgraded.message(event.data);
  // A failed socket closes next: 'close' does the rest.
  socket.onerror = () => {};
  socket.onclose = () => upgraded.close();
  return response;
}
