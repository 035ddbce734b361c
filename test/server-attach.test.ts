import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createPushServer } from '../src/server';
import { LpClient, sseClient, until, wsClient } from './helpers/server-clients';

const listen = async (server: http.Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: http.Server): Promise<void> => new Promise((r) => server.close(() => r()));

/** Sends a raw upgrade request and returns the first line of the answer (or '' when the socket just closed). */
function rawUpgrade(origin: string, path: string): Promise<string> {
  const { port } = new URL(origin);
  return new Promise((resolve) => {
    const sock = net.connect(+port, '127.0.0.1', () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let text = '';
    sock.on('data', (d) => {
      text += d;
      if (text.includes('\r\n')) sock.destroy();
    });
    sock.on('close', () => resolve(text.split('\r\n')[0]));
    sock.on('error', () => {});
  });
}

describe('attaching to an http.Server', () => {
  it('passes other paths to the existing listeners, in order, and takes over only its own path', async () => {
    const calls: string[] = [];
    const server = http.createServer((req, res) => {
      calls.push('app ' + req.url);
      res.end('app');
    });
    server.on('request', (req) => calls.push('second ' + req.url));
    const push = createPushServer({ server, path: '/push' });
    const origin = await listen(server);

    expect(await (await fetch(origin + '/other?x=1')).text()).toBe('app');
    expect(await (await fetch(origin + '/pushy')).text()).toBe('app');
    expect((await fetch(origin + '/push')).status).toBe(400);
    expect(calls).toEqual(['app /other?x=1', 'second /other?x=1', 'app /pushy', 'second /pushy']);

    // A listener added after attaching must not see our path either.
    server.on('request', (req) => calls.push('late ' + req.url));
    await Promise.resolve();
    calls.length = 0;
    expect((await fetch(origin + '/push?t=lp')).status).toBe(200);
    await fetch(origin + '/a');
    expect(calls).toEqual(['app /a', 'second /a', 'late /a']);

    await push.close();
    expect(server.listenerCount('request')).toBe(3);
    expect(server.listenerCount('upgrade')).toBe(0);
    calls.length = 0;
    await fetch(origin + '/push');
    expect(calls).toEqual(['app /push', 'second /push', 'late /push']);
    server.closeAllConnections();
    await closeServer(server);
  });

  it('answers 404 itself when the server had no request listener', async () => {
    const server = http.createServer();
    const push = createPushServer({ server });
    const origin = await listen(server);
    const r = await fetch(origin + '/nothing');
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('not found');
    await push.close();
    server.closeAllConnections();
    await closeServer(server);
  });

  it('refuses upgrades of other paths with 400 unless another upgrade listener is there', async () => {
    const server = http.createServer();
    const push = createPushServer({ server });
    const origin = await listen(server);
    expect(await rawUpgrade(origin, '/elsewhere')).toBe('HTTP/1.1 400 Bad Request');
    expect(await rawUpgrade(origin, '/push')).toBe('HTTP/1.1 101 Switching Protocols');

    // Another upgrade listener owns the other paths.
    const seen: string[] = [];
    server.on('upgrade', (req, socket) => {
      if (req.url === '/push') return;
      seen.push(req.url!);
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
    expect(await rawUpgrade(origin, '/elsewhere')).toBe('HTTP/1.1 403 Forbidden');
    expect(seen).toEqual(['/elsewhere']);
    await push.close();
    server.closeAllConnections();
    await closeServer(server);
  });

  it('works without a server through handleRequest and handleUpgrade', async () => {
    const push = createPushServer({ path: '/p' });
    const server = http.createServer((req, res) => {
      if (!push.handleRequest(req, res)) res.writeHead(418).end();
    });
    server.on('upgrade', (req, socket, head) => {
      if (!push.handleUpgrade(req, socket, head)) socket.destroy();
    });
    const origin = await listen(server);
    expect((await fetch(origin + '/x')).status).toBe(418);
    const w = await wsClient(origin + '/p');
    await w.inbox.waitFor((f) => f.length > 0);
    expect(w.inbox.hello).toBeDefined();
    await push.close();
    expect((await w.closed).code).toBe(1001);
    // After close() the push server declines everything.
    expect((await fetch(origin + '/p?t=lp')).status).toBe(418);
    server.closeAllConnections();
    await closeServer(server);
  });
});

describe('close()', () => {
  it('ends every connection and releases everything it made, so server.close() completes', async () => {
    const before = process.getActiveResourcesInfo();
    const server = http.createServer((_req, res) => res.end('app'));
    const push = createPushServer({ server, heartbeatMs: 1000, pollTimeout: 10_000 });
    const origin = await listen(server);
    const url = origin + '/push';

    const w = await wsClient(url);
    const e = await sseClient(url, { t: 'sse' });
    const l = new LpClient(url);
    await l.open();
    await until(() => push.connections.length === 3);
    // A long-poll is being held, an upgrade is in flight with a raw socket that never reads.
    await new Promise((r) => setTimeout(r, 30));
    const silent = new WebSocket(url.replace('http', 'ws'));
    await new Promise((r) => silent.once('open', r));
    (silent as unknown as { _socket: net.Socket })._socket.pause();
    void push.publish('n', 1);

    const t0 = Date.now();
    await push.close();
    expect(Date.now() - t0).toBeLessThan(4000); // not the 30 s `ws` would wait for a close frame
    expect(push.connections.length).toBe(0);
    expect((await w.closed).code).toBe(1001);
    await e.ended;
    await l.stop();
    silent.terminate();
    await expect(push.publish('n', 2)).rejects.toMatchObject({ code: 'CLOSED' });

    // server.close() waits for every connection; idle keep-alive sockets are closed by Node itself.
    const closed = closeServer(server);
    await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('server.close hangs')), 3000))]);
    await new Promise((r) => setTimeout(r, 20));
    // No timer or socket of ours is left (fetch's own pooled sockets are the client's, and closed).
    const left = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate');
    const baseline = [...before].filter((r) => r === 'Timeout' || r === 'Immediate');
    expect(left.length).toBeLessThanOrEqual(baseline.length);
    const count = (list: Iterable<string>, kind: string) => [...list].filter((r) => r === kind).length;
    for (const kind of ['TCPServerWrap', 'TCPSocketWrap']) {
      expect(count(process.getActiveResourcesInfo(), kind), kind).toBeLessThanOrEqual(count(before, kind));
    }
  });
});
