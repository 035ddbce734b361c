/**
 * Issue 21, "why did it fall back?": every attempt at a transport, its outcome and its reason, and
 * every upgrade probe, are `attempt` notifications on `client.lifecycle`; a move to another
 * transport says why (`transport.reason`). Against real servers on 127.0.0.1.
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lifecycle } from '../src';
import { PushClient } from '../src/node';
import { cleanups, listen, shut, until } from './helpers/net';
import { opened, startPush } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

type Heard = { [K in keyof Lifecycle]: [K, Lifecycle[K]] }[keyof Lifecycle];

/** The documented recipe's listener, keeping what it hears. */
function hear(c: PushClient) {
  const heard: Heard[] = [];
  c.lifecycle.on('*', (name, value) => heard.push([name, value] as Heard));
  return heard;
}

describe('attempt notifications', () => {
  it('say which transports were tried, what each did and why the client moved on: refused upgrade, HTTP status', async () => {
    const s = await startPush({ retryMs: 0 });
    cleanup.add(() => s.stop());
    s.gate.ws = false; // a proxy refuses WebSocket upgrades with 403
    s.gate.sse = false; // and answers SSE with 502
    const c = new PushClient(s.url, { autoConnect: false, rememberTransport: 0, upgradeInterval: 0 });
    cleanup.add(() => c.close());
    const heard = hear(c);
    c.connect();
    await opened(c);
    expect(heard.map(([name]) => name)).toEqual(['attempt', 'attempt', 'attempt', 'transport', 'open']);
    const [ws, sse, lp, move] = heard.map(([, value]) => value) as [Lifecycle['attempt'], Lifecycle['attempt'], Lifecycle['attempt'], Lifecycle['transport']];
    expect(ws).toMatchObject({
      transport: 'websocket',
      outcome: 'failed',
      probe: false,
      error: { code: 'TRANSPORT_FAILED', message: 'WebSocket did not open (1006)' },
    });
    expect(String((ws.error as { cause?: { message?: string } }).cause?.message)).toContain('403'); // Node's ws says what the proxy answered
    expect(sse).toMatchObject({ transport: 'eventsource', outcome: 'failed', probe: false, error: { code: 'TRANSPORT_FAILED', status: 502 } });
    expect(lp).toEqual({ transport: 'longpoll', outcome: 'open', probe: false });
    expect(move).toEqual({ from: null, to: 'longpoll', reason: sse.error });
  });

  it('say that a transport that opened and stayed silent failed after connectTimeout', async () => {
    const s = await startPush({ retryMs: 0 });
    cleanup.add(() => s.stop());
    // A server (a buffering proxy) that answers SSE and passes nothing on.
    const silent = http.createServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders());
    const port = await listen(silent);
    cleanup.add(() => shut(silent));
    const c = new PushClient(
      { eventsource: `http://127.0.0.1:${port}/push`, longpoll: s.url },
      { autoConnect: false, connectTimeout: 200, rememberTransport: 0, upgradeInterval: 0 },
    );
    cleanup.add(() => c.close());
    const heard = hear(c);
    c.connect();
    await opened(c);
    const silence = { code: 'TRANSPORT_FAILED', message: 'eventsource: no message within 200 ms' };
    expect(heard.slice(0, 3)).toEqual([
      ['attempt', { transport: 'eventsource', outcome: 'failed', probe: false, error: expect.objectContaining(silence) }],
      ['attempt', { transport: 'longpoll', outcome: 'open', probe: false }],
      ['transport', { from: null, to: 'longpoll', reason: expect.objectContaining(silence) }],
    ]);
  });

  it('show every upgrade probe, failed then open, and the move back without a reason', async () => {
    const s = await startPush({ retryMs: 0 });
    cleanup.add(() => s.stop());
    s.gate.ws = false;
    const c = new PushClient(s.url, { transports: ['websocket', 'eventsource'], rememberTransport: 0, upgradeInterval: 50 });
    cleanup.add(() => c.close());
    const heard = hear(c);
    await opened(c);
    await s.push.publish('x', 1); // probes wait for a resume point
    const probes = () => heard.filter(([name, value]) => name === 'attempt' && value.probe).map(([, value]) => value as Lifecycle['attempt']);
    await until(() => probes().length >= 1, 3000, 'a probe');
    s.gate.ws = true;
    await until(() => c.status.transport === 'websocket', 3000, 'the upgrade');
    const seen = probes();
    expect(seen.slice(0, -1).every((p) => p.transport === 'websocket' && p.outcome === 'failed' && p.error?.message === 'WebSocket did not open (1006)')).toBe(
      true,
    );
    expect(seen.at(-1)).toEqual({ transport: 'websocket', outcome: 'open', probe: true });
    expect(heard.filter(([name]) => name === 'transport').map(([, value]) => value)).toEqual([
      { from: null, to: 'eventsource', reason: expect.objectContaining({ message: 'WebSocket did not open (1006)' }) },
      { from: 'eventsource', to: 'websocket' },
    ]);
  });
});
