/**
 * The app's code runs inside the client's own steps: status subscribers and lifecycle listeners
 * that close the client, throw or send; sends whose data is not JSON; channel changes while an
 * upgrade probe is on its way. Against a real server on 127.0.0.1; each must leave the client
 * consistent (no attempt after close, no timer left, nothing lost or reordered).
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createPushServer } from '../src/server';
import { PushError, webSocket, type PushClientOptions, type TransportDefinition, type TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, listen, shut, sleep, until } from './helpers/net';
import { live, opened, startPush } from './helpers/push';
import { trackTimers } from './helpers/timers';

const cleanup = cleanups();
afterEach(() => cleanup.run());

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];

async function server(options: Parameters<typeof startPush>[0] = {}) {
  const s = await startPush({ retryMs: 0, pollTimeout: 300, sessionTimeout: 1000, ...options });
  cleanup.add(() => s.stop());
  return s;
}

function client(url: string, o: PushClientOptions) {
  const c = new PushClient(url, { reconnect: { minDelay: 10, maxDelay: 20 }, ...o });
  cleanup.add(() => c.close());
  return c;
}

/** Closes every connection on the server and refuses new ones, until the client is reconnecting. */
async function cutOff(s: Awaited<ReturnType<typeof server>>, c: PushClient) {
  s.gate.ws = s.gate.sse = s.gate.lp = false;
  for (const conn of s.push.connections as Iterable<{ close(): void }>) conn.close();
  await until(() => c.status.state === 'reconnecting', 3000, 'reconnecting');
}

/** Requests and upgrades the server has seen so far. */
function countRequests(s: Awaited<ReturnType<typeof server>>) {
  const n = { value: 0 };
  s.server.prependListener('request', () => n.value++);
  s.server.prependListener('upgrade', () => n.value++);
  return n;
}

describe.each(ALL)('listeners that close the client, over %s', (transport) => {
  it('close() in a reconnecting listener: no attempt follows and no timer is left', async () => {
    const s = await server();
    s.gate.ws = s.gate.sse = s.gate.lp = false; // every attempt fails
    const timers = trackTimers(cleanup);
    const c = client(s.url, { transports: [transport], autoConnect: false });
    c.lifecycle.on('reconnecting', () => c.close());
    const seen = countRequests(s);
    c.connect();
    await until(() => c.status.state === 'closed', 3000, 'closed');
    const after = seen.value;
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done; the pending-timer check below is the exact part
    expect(seen.value).toBe(after);
    expect(c.status.state).toBe('closed');
    expect([...timers.values()]).toEqual([]);
  });

  it('close() in a status subscriber as it connects: nothing is attempted', async () => {
    const s = await server();
    const c = client(s.url, { transports: [transport], autoConnect: false });
    c.subscribe((st) => st.state === 'connecting' && c.close());
    const seen = countRequests(s);
    c.connect();
    await sleep(300); // an observation window: nothing is to happen here, and no event marks a thing not done (an attempt)
    expect(seen.value).toBe(0);
    expect(c.status.state).toBe('closed');
  });

  it('close() in an open listener: closed stays closed, no heartbeat or upgrade timer is left', async () => {
    const s = await server();
    const timers = trackTimers(cleanup);
    const c = client(s.url, { transports: [transport], autoConnect: false, heartbeatTimeout: 200 });
    const states: string[] = [];
    c.subscribe((st) => states.push(st.state));
    c.lifecycle.on('open', () => c.close());
    c.connect();
    await until(() => c.status.state === 'closed', 3000, 'closed');
    await sleep(400); // two heartbeat periods
    expect(states).toEqual(['idle', 'connecting', 'open', 'closed']);
    expect([...timers.values()]).toEqual([]);
    await until(() => live(s.push) === 0, 3000, 'the server to see it go');
  });
});

describe('app code that ends the turn it was called in: nothing more is announced for it', () => {
  it('a subscriber that reconnects on `closed`: `close` is not announced while the client is connecting', async () => {
    const s = await server();
    const c = client(s.url, { transports: ['websocket'] });
    await opened(c);
    let reopened = false;
    c.subscribe((st) => st.state === 'closed' && !reopened && ((reopened = true), c.connect()));
    const statesAtClose: string[] = [];
    c.lifecycle.on('close', () => statesAtClose.push(c.status.state));
    c.close();
    await opened(c);
    // Without the turn check stop() announced `close` after the subscriber had reconnected: ['connecting'].
    expect(statesAtClose).toEqual([]);
    c.close();
    expect(statesAtClose).toEqual(['closed']);
  });

  it('an event handler that closes the client: the handlers after it and `onAny` handlers are not called', async () => {
    const s = await server();
    const c = client(s.url, { transports: ['websocket'] });
    const heard: string[] = [];
    c.on('x', () => (heard.push('first handler'), c.close()));
    c.on('x', () => heard.push('second handler'));
    c.onAny((event) => heard.push('onAny ' + event));
    await opened(c);
    await s.push.publish('x', 1);
    await until(() => c.status.state === 'closed', 3000, 'closed');
    expect(heard).toEqual(['first handler']);
  });

  it('a connection dropped while its open is announced (a send that finds it dead): `open` is not announced for it, the next one is', async () => {
    const s = await server();
    // An out-of-tree transport whose send finds the connection dead and ends it at once, inside the app's send().
    const dying: TransportDefinition = {
      ...webSocket,
      create(options) {
        const transport = webSocket.create(options);
        const send = transport.send;
        transport.send = (text) => {
          if (!text.includes('die')) return send(text);
          transport.onclose(new PushError('TRANSPORT_FAILED', 'write failed'));
          return Promise.reject(new PushError('SEND_FAILED', 'write failed'));
        };
        return transport;
      },
    };
    const c = client(s.url, { transports: [dying] });
    let died = false;
    c.subscribe((st) => st.state === 'open' && !died && ((died = true), c.send('die').catch(() => {})));
    const heard: string[] = [];
    c.lifecycle.on('*', (name) => name !== 'attempt' && heard.push(`${name} while ${c.status.state}`));
    await until(() => heard.includes('open while open'), 3000, 'the second open');
    // Without the turn check in drop(): ['reconnecting while reconnecting', 'transport while reconnecting', 'open while reconnecting', ...].
    // (No `transport` at the second open: the subscriber was told of the first, on the same transport.)
    expect(heard).toEqual(['reconnecting while reconnecting', 'open while open']);
  });
});

describe('listeners that throw', () => {
  it.each(ALL)('a throwing reconnecting or open listener is reported as HANDLER_ERROR and the client still reconnects (%s)', async (transport) => {
    const s = await server();
    const c = client(s.url, { transports: [transport] });
    const errors: string[] = [];
    c.lifecycle.on('error', (e) => errors.push(e.code));
    c.lifecycle.on('reconnecting', () => {
      throw new Error('app bug');
    });
    c.lifecycle.on('open', () => {
      throw new Error('app bug');
    });
    await opened(c);
    await cutOff(s, c);
    s.gate.ws = s.gate.sse = s.gate.lp = true;
    await opened(c);
    const got = new Promise((r) => c.once('after', r));
    await s.push.publish('after', 1);
    expect(await got).toBe(1);
    expect(errors.filter((e) => e === 'HANDLER_ERROR').length).toBeGreaterThanOrEqual(3); // open, reconnecting, open
  });
});

describe('lifecycle listeners run each on its own', () => {
  it('a listener that throws does not hide the event from the listeners after it, nor from "*" listeners', async () => {
    const s = await server();
    const c = client(s.url, { transports: ['websocket'], autoConnect: false });
    const heard: string[] = [];
    c.lifecycle.on('open', () => {
      throw new Error('app bug');
    });
    c.lifecycle.on('open', () => heard.push('second open listener'));
    c.lifecycle.on('*', (type) => type === 'open' && heard.push('* listener'));
    c.lifecycle.on('error', () => {
      throw new Error('a broken error listener'); // swallowed: reporting it would loop
    });
    c.lifecycle.on('error', (e) => heard.push('error listener: ' + e.code));
    c.connect();
    await opened(c);
    expect(heard).toEqual(['error listener: HANDLER_ERROR', 'second open listener', '* listener']);
  });
});

describe.each(ALL)('sends around the open, over %s', (transport) => {
  it('data that is not JSON is refused at send() with BAD_OPTION; the queue around it goes out in order', async () => {
    const s = await server();
    const got: unknown[] = [];
    s.push.onMessage((_e, d) => got.push(d));
    const c = client(s.url, { transports: [transport], autoConnect: false });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    c.connect();
    const sends = [c.send('m', 1), c.send('m', { n: 2n } as never), c.send('m', circular), c.send('m', 4)].map((p) =>
      p.then(
        () => 'ok',
        (e) => e.code,
      ),
    );
    expect(await Promise.all(sends)).toEqual(['ok', 'BAD_OPTION', 'BAD_OPTION', 'ok']);
    await until(() => got.length === 2, 3000, 'the sends');
    expect(got).toEqual([1, 4]);
    expect(c.status.state).toBe('open');
  });

  it('a queued send goes out as its data was at send(), whatever the app changes afterwards', async () => {
    const s = await server();
    const got: unknown[] = [];
    s.push.onMessage((_e, d) => got.push(d));
    const c = client(s.url, { transports: [transport], autoConnect: false });
    const data: Record<string, unknown> = { n: 1 };
    c.connect();
    const sent = c.send('m', data);
    data.n = 10n; // not JSON any more, and not what was sent
    await sent;
    await until(() => got.length === 1, 3000, 'the send');
    expect(got).toEqual([{ n: 1 }]);
  });

  it('a send from an open listener goes after the sends queued before it', async () => {
    const s = await server();
    const got: unknown[] = [];
    s.push.onMessage((_e, d) => got.push(d));
    const c = client(s.url, { transports: [transport], autoConnect: false });
    const sends: Promise<void>[] = [];
    c.lifecycle.on('open', () => void sends.push(c.send('m', 'from open')));
    c.subscribe((st) => st.state === 'open' && void sends.push(c.send('m', 'from subscribe')));
    c.connect();
    sends.push(c.send('m', 'queued 1'), c.send('m', 'queued 2'));
    await until(() => sends.length === 4, 3000, 'the open');
    await Promise.all(sends); // written (WebSocket) or accepted (HTTP); the server may still be reading
    await until(() => got.length === 4, 3000, 'the sends at the server');
    expect(got).toEqual(['queued 1', 'queued 2', 'from subscribe', 'from open']);
  });

  it('join, leave and join again while reconnecting ends joined', async () => {
    const s = await server();
    const c = client(s.url, { transports: [transport] });
    await opened(c);
    await cutOff(s, c);
    const done = Promise.all([c.join('room'), c.leave('room'), c.join('room')]);
    s.gate.ws = s.gate.sse = s.gate.lp = true;
    await done;
    expect(c.channels).toEqual(['room']);
    const got = new Promise((r) => c.once('in-room', r));
    await s.push.publish('in-room', 'yes', { channel: 'room' });
    expect(await got).toBe('yes');
  });
});

describe('channels changed while an upgrade probe is on its way', () => {
  it('the transport it upgrades to has the new channels, and no event is dropped or repeated', async () => {
    // A server whose WebSocket upgrades are refused, then held for a while before they are answered.
    const push = createPushServer({ path: '/push', retryMs: 0 });
    let ws: 'refuse' | 'slow' = 'refuse';
    let held = 0;
    const srv = http.createServer((req, res) => void (push.handleRequest(req, res) || res.writeHead(404).end()));
    srv.on('upgrade', (req, socket, head) => {
      if (ws === 'refuse') return void socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      held++;
      setTimeout(() => push.handleUpgrade(req, socket, head) || socket.destroy(), 1000);
    });
    const port = await listen(srv);
    cleanup.add(async () => (await push.close(), await shut(srv)));
    const c = client(`http://127.0.0.1:${port}/push`, { transports: ['websocket', 'eventsource'], upgradeInterval: 50 });
    const got: [unknown, string][] = [];
    c.on('x', (d, m) => got.push([d, m.transport]));
    await opened(c);
    expect(c.status.transport).toBe('eventsource');
    await push.publish('x', 'before'); // probes wait for a resume point
    await until(() => got.length === 1, 3000, 'the first event');
    ws = 'slow';
    await until(() => held >= 1, 3000, 'a probe');
    await c.join('room'); // acknowledged over SSE while the probe waits for its answer
    await push.publish('x', 'in room, during the probe', { channel: 'room' });
    await until(() => got.length === 2, 3000, 'the room event over SSE');
    await until(() => c.status.transport === 'websocket', 5000, 'the upgrade');
    await push.publish('x', 'in room, after', { channel: 'room' });
    await push.publish('x', 'everyone, after');
    // A later event: a repeat of any of the four would have come before it.
    const marked = new Promise((resolve) => c.on('x', (d) => d === 'marker' && resolve(d)));
    await until(() => got.length === 4, 3000, 'the events after the upgrade');
    await push.publish('x', 'marker');
    await marked;
    expect(got).toEqual([
      ['before', 'eventsource'],
      ['in room, during the probe', 'eventsource'],
      ['in room, after', 'websocket'],
      ['everyone, after', 'websocket'],
      ['marker', 'websocket'],
    ]);
  });
});
