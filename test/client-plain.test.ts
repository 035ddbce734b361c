import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PushClient } from '../src/node';
import { cleanups, listen, shut } from './helpers/net';

// Servers of the kind a tutorial shows: no push-client protocol, no hello.
const cleanup = cleanups();
afterEach(() => cleanup.run());

function collect(client: PushClient, n: number, names = ['message']) {
  const got: { event: string; data: unknown; id?: string }[] = [];
  return new Promise<typeof got>((resolve) => {
    for (const name of names)
      client.on(name, (data, meta) => {
        got.push({ event: meta.event, data, id: meta.id });
        if (got.length === n) resolve(got);
      });
  });
}

/** A bare SSE endpoint on 127.0.0.1 that answers with `handler`, and a client on it that reconnects fast. */
async function sseClient(handler: http.RequestListener) {
  const server = http.createServer(handler);
  const port = await listen(server);
  cleanup.add(() => shut(server));
  const client = new PushClient({ eventsource: `http://127.0.0.1:${port}/` }, { reconnect: { minDelay: 10, maxDelay: 50 } });
  cleanup.add(() => client.close());
  return client;
}

describe('plain servers', () => {
  it('reads a bare SSE endpoint: event, data, id, retry, comments, multi-line data', async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 1500\n\n: just a comment\n\n');
      res.write('id: 1\ndata: {"a":1}\n\n');
      res.write('event: news\nid: 2\ndata: line one\ndata: line two\n\n');
      res.write('id: 3\r\ndata: plain text\r\n\r\n');
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    const client = new PushClient({ eventsource: `http://127.0.0.1:${port}/events` });
    cleanup.add(() => client.close());
    const got = await collect(client, 3, ['message', 'news']);
    expect(got).toEqual([
      { event: 'message', data: { a: 1 }, id: '1' },
      { event: 'news', data: 'line one\nline two', id: '2' },
      { event: 'message', data: 'plain text', id: '3' },
    ]);
    expect(client.status).toMatchObject({ state: 'open', transport: 'eventsource' });
    expect(client.lastEventId).toBe('3');
  });

  it('resumes a bare SSE endpoint with lastEventId after the server drops it', async () => {
    const requests: URL[] = [];
    const client = await sseClient((req, res) => {
      const url = new URL(req.url!, 'http://x');
      requests.push(url);
      const from = Number(url.searchParams.get('lastEventId') ?? 0);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = from + 1; i <= from + 3; i++) res.write(`id: ${i}\ndata: ${i}\n\n`);
      if (from === 0) setTimeout(() => res.destroy(), 20);
    });
    const got = await collect(client, 6);
    expect(got.map((g) => g.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(requests[1].searchParams.get('lastEventId')).toBe('3');
  });

  it('a bare SSE endpoint that numbers its events from 1 on every connection: after a drop the new ones arrive, not taken for repeats', async () => {
    let connections = 0;
    const client = await sseClient((_req, res) => {
      const n = ++connections;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 1; i <= 3; i++) res.write(`id: ${i}\ndata: "c${n}e${i}"\n\n`);
      if (n === 1) setTimeout(() => res.destroy(), 20);
    });
    const got = await collect(client, 6);
    expect(got.map((g) => g.data)).toEqual(['c1e1', 'c1e2', 'c1e3', 'c2e1', 'c2e2', 'c2e3']);
  });

  it('reads a bare WebSocket server that sends plain text frames, and sends plain text back', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const received: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (m) => {
        received.push(String(m));
        ws.send('echo: ' + m);
      });
      ws.send('hello there');
      ws.send('{"n":2}');
    });
    const port = await listen(server);
    cleanup.add(() => shut(server));
    cleanup.add(() => wss.close());
    const client = new PushClient({ websocket: `ws://127.0.0.1:${port}` });
    cleanup.add(() => client.close());
    const got = collect(client, 3);
    await new Promise((r) => client.once('message', r));
    await client.send('message', 'ping');
    expect((await got).map((g) => g.data)).toEqual(['hello there', { n: 2 }, 'echo: ping']);
    expect(received).toEqual(['ping']);
  });
});
