/**
 * Redis for the scale-out tests: a real `redis-server` on a free loopback port (no persistence),
 * a TCP proxy that can move its clients from one push server to another, and push servers with the
 * Redis backplane, in this process or in a child process.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createPushServer, redisBackplane, type PushServer, type RedisBackplaneOptions } from '../../src/server';
import type { PushServerOptions } from '../../src/server';

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  /** Sends one command on a shared admin connection. */
  command(...args: string[]): Promise<unknown>;
  /** Stops the server (SIGTERM, no save) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free 127.0.0.1 port (or on `at`, e.g. to restart one), without persistence. Throws (so the test fails,
 * never skips) when `redis-server` is not on PATH: `.ci/run` installs it with apt-get.
 */
export async function startRedis(at?: number): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = at ?? (await freePort());
    try {
      return await launch(port);
    } catch (err) {
      // Another process may have taken the port between freePort and the bind: try another.
      if (at === undefined && attempt < 3 && /Address already in use/i.test(String((err as Error).message))) continue;
      throw err;
    }
  }
}

/** The vitest hooks `useRedis` registers, passed in: this module is also loaded outside vitest (the forked push server, the bench). */
export interface SuiteHooks {
  beforeAll(fn: () => unknown): void;
  beforeEach(fn: () => unknown): void;
  afterAll(fn: () => unknown): void;
}

/**
 * One `redis-server` for a test file: started once, stopped after the last test, and awaited by
 * every test, so that without redis-server each test fails (never skips). The returned server is
 * usable from inside a test.
 */
export function useRedis(hooks: SuiteHooks): RedisServer {
  let starting: Promise<RedisServer>;
  let redis: RedisServer | undefined;
  hooks.beforeAll(() => {
    starting = startRedis();
    starting.catch(() => {});
  });
  hooks.beforeEach(async () => {
    redis = await starting;
  });
  hooks.afterAll(async () => {
    await (await starting.catch(() => null))?.stop();
  });
  const current = (): RedisServer => {
    if (!redis) throw new Error('redis-server is only available inside a test');
    return redis;
  };
  return {
    get port() {
      return current().port;
    },
    get url() {
      return current().url;
    },
    command: (...args) => current().command(...args),
    stop: () => current().stop(),
  };
}

function launch(port: number): Promise<RedisServer> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const onData = (b: Buffer) => void (log = (log + b.toString()).slice(-4000));
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise<RedisServer>((resolve, reject) => {
    let done = false;
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(msg));
    };
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? 'redis-server is not on PATH: the Redis tests need it (apt-get install redis-server; .ci/run does this)'
          : `cannot start redis-server: ${err.message}`,
      ),
    );
    child.once('exit', (code) => fail(`redis-server exited with ${code}: ${log.trim()}`));
    const deadline = Date.now() + 10_000;
    const probe = () => {
      if (done) return;
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
        s.once('data', async (d) => {
          s.destroy();
          if (!d.toString().startsWith('+PONG')) return void setTimeout(probe, 20);
          done = true;
          const url = `redis://127.0.0.1:${port}`;
          const admin = createClient({ url });
          admin.on('error', () => {});
          await admin.connect();
          resolve({
            port,
            url,
            command: (...a) => admin.sendCommand(a),
            async stop() {
              await admin.close().catch(() => {});
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 3000);
              await exited;
              clearTimeout(t);
            },
          });
        });
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) fail(`redis-server did not answer on port ${port}: ${log.trim()}`);
        else setTimeout(probe, 20);
      });
    };
    probe();
  });
}

/**
 * A TCP proxy on 127.0.0.1: each connection is piped to the port in `target` at the time it was
 * accepted. `moveTo(port)` sends new connections elsewhere and cuts the open ones, so clients
 * reconnect through it to the other server in the middle of a stream.
 */
export async function startProxy(target: number, opts: { latencyMs?: number } = {}) {
  const open = new Set<net.Socket>();
  let connections = 0;
  const state = { target };
  const server = net.createServer((down) => {
    connections++;
    const up = net.connect(state.target, '127.0.0.1');
    open.add(down);
    open.add(up);
    const end = () => {
      down.destroy();
      up.destroy();
      open.delete(down);
      open.delete(up);
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    const lat = opts.latencyMs ?? 0;
    if (lat > 0) {
      // Delay each chunk, keeping their order.
      const delayed = (from: net.Socket, to: net.Socket) => from.on('data', (b) => void setTimeout(() => to.destroyed || to.write(b), lat));
      delayed(down, up);
      delayed(up, down);
    } else {
      down.pipe(up);
      up.pipe(down);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    get target() {
      return state.target;
    },
    /** How many connections it accepted so far. */
    get connections() {
      return connections;
    },
    /** Cuts every open connection. */
    cut() {
      for (const s of open) s.destroy();
      open.clear();
    },
    /** New connections go to `port`; open ones are cut. */
    moveTo(port: number) {
      state.target = port;
      this.cut();
    },
    close(): Promise<void> {
      this.cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
export type Proxy = Awaited<ReturnType<typeof startProxy>>;

/** What a push server with the Redis backplane needs, in this process or in a child. */
export interface RedisPushOptions {
  url: string;
  stream: string;
  maxLen?: number;
  approximate?: boolean;
  pollTimeout?: number;
  /** The server's `retryMs`; 20 unless given, so that the tests' moves between processes are quick. */
  retryMs?: number;
  /**
   * Answers every client message `say` `{ i }`: notes `i`, sends `echo` back to the sender
   * (`conn.send`) and publishes `said` to everyone but it (`except`).
   */
  chat?: boolean;
}

export interface PushProcess {
  /** Port of its http.Server on 127.0.0.1. */
  port: number;
  /** Publishes `count` events `event` with data `{ i }` for i from `from`, one after another; resolves with the ids. */
  publish(event: string, from: number, count: number, options?: RunOptions): Promise<string[]>;
  /** Sends to a connection id on whichever process holds it. */
  sendTo(cid: string, event: string, data: unknown): Promise<void>;
  /** Ids of this process's open connections. */
  connectionIds(): Promise<string[]>;
  /** With `chat`: the `i` of every `say` this process's listeners got, in order. */
  said(): Promise<number[]>;
  stop(): Promise<void>;
}

/** A push server in this process: an http.Server with createPushServer and redisBackplane. */
export async function startRedisPush(
  o: RedisPushOptions,
  extra: Omit<PushServerOptions, 'backplane' | 'server'> = {},
  backplaneExtra: Partial<RedisBackplaneOptions> = {},
): Promise<PushProcess & { push: PushServer }> {
  const push = createPushServer({
    pollTimeout: o.pollTimeout ?? 1000,
    // Clients take the server's retry as their reconnect floor: keep moves between processes quick.
    retryMs: o.retryMs ?? 20,
    ...extra,
    backplane: redisBackplane({ url: o.url, stream: o.stream, maxLen: o.maxLen, approximate: o.approximate, ...backplaneExtra }),
  });
  const server = http.createServer((req, res) => {
    if (!push.handleRequest(req, res)) res.writeHead(404).end('not found');
  });
  server.on('upgrade', (req, socket, head) => {
    if (!push.handleUpgrade(req, socket, head)) socket.destroy();
  });
  const said: number[] = [];
  if (o.chat) {
    push.onMessage((event, data, conn) => {
      if (event !== 'say') return;
      said.push((data as { i: number }).i);
      void conn.send('echo', data);
      void push.publish('said', data, { except: conn });
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    push,
    port,
    said: async () => [...said],
    publish: (event, from, count, opts) => publishRun(push, event, from, count, opts),
    sendTo: (cid, event, data) => sendTo(push, cid, event, data),
    connectionIds: async () => [...push.connections].map((c) => c.id),
    async stop() {
      await push.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Options of a numbered run: `batch` publishes in flight at once, `gapMs` pause after each batch. */
export interface RunOptions {
  channel?: string;
  /** A connection id that must not receive the events. */
  except?: string;
  batch?: number;
  gapMs?: number;
}

/** Publishes `{ i }` for i in [from, from + count), in order; resolves with the ids. */
export async function publishRun(push: PushServer, event: string, from: number, count: number, opts: RunOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  const batch = opts.batch ?? 1;
  const publishOptions = opts.channel || opts.except ? { channel: opts.channel, except: opts.except } : undefined;
  for (let i = from; i < from + count; i += batch) {
    const ps: Promise<string>[] = [];
    for (let k = i; k < Math.min(i + batch, from + count); k++) ps.push(push.publish(event, { i: k }, publishOptions));
    ids.push(...(await Promise.all(ps)));
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
  return ids;
}

/** A targeted send to a connection on any process, through the public `push.sendTo`. */
export function sendTo(push: PushServer, cid: string, event: string, data: unknown): Promise<void> {
  return push.sendTo(cid, event, data);
}

const CHILD = fileURLToPath(new URL('./redis-child.ts', import.meta.url));

/** A push server in a child Node process, driven over IPC. */
export async function forkRedisPush(o: RedisPushOptions): Promise<PushProcess & { child: ChildProcess }> {
  const child = fork(CHILD, [JSON.stringify(o)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('child push server did not start in 15 s')), 15_000);
    child.once('exit', (code) => reject(new Error(`child push server exited with ${code}`)));
    child.once('message', (m: any) => {
      clearTimeout(t);
      if (typeof m?.port === 'number') resolve(m.port);
      else reject(new Error('child push server failed: ' + m?.error));
    });
  });
  child.on('message', (m: any) => {
    const p = pending.get(m?.r);
    if (!p) return;
    pending.delete(m.r);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.value);
  });
  child.once('exit', () => {
    for (const p of pending.values()) p.reject(new Error('child push server exited'));
    pending.clear();
  });
  const call = (op: string, ...args: unknown[]): Promise<any> =>
    new Promise((resolve, reject) => {
      const r = ++seq;
      pending.set(r, { resolve, reject });
      child.send({ r, op, args });
    });
  return {
    child,
    port,
    publish: (event, from, count, opts) => call('publish', event, from, count, opts),
    sendTo: (cid, event, data) => call('sendTo', cid, event, data),
    connectionIds: () => call('connectionIds'),
    said: () => call('said'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await call('stop').catch(() => {});
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
