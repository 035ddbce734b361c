/**
 * Fault suite, memory: 10,000 connect/close cycles against a real server (one in 500 waits for
 * the connection to open, the rest close at once, mid-connect), rotating over the three
 * transports, keep the heap flat. The heap is measured after the sockets have gone and a full
 * garbage collection. Every client object must be collected too.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, expect, it } from 'vitest';
import type { TransportName } from '../src';
import { PushClient } from '../src/node';
import { cleanups, sleep, until } from './helpers/net';
import { live, opened, startPush } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
const CYCLES = 10_000;
const WARM = 2_000;
const BOUND = 2 * 1024 * 1024; // bytes the heap may grow over the loop

async function heap() {
  await sleep(50); // the behaviour under test: let finalizers and socket closes run before measuring the heap
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

it('a 10,000-cycle connect/close loop keeps the heap flat', async () => {
  const s = await startPush({ retryMs: 0, sessionTimeout: 500, pollTimeout: 200 });
  cleanup.add(() => s.stop());
  // Clients not yet collected, by transport: those aborted mid-request once stayed alive (see STOPPED).
  const alive: Record<string, number> = { websocket: 0, eventsource: 0, longpoll: 0 };
  const collected = new FinalizationRegistry((n: TransportName) => alive[n]--);
  const cycle = async (i: number, openEvery = 500) => {
    const n = ALL[i % 3];
    const c = new PushClient(s.url, { autoConnect: false, transports: [n] });
    alive[n]++;
    collected.register(c, n);
    c.on('x', () => {});
    c.subscribe(() => {});
    c.connect();
    if (i % openEvery === 0) await opened(c);
    c.close();
    // let the event loop breathe every few cycles, so that aborted sockets can go
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  };
  const settle = async () => {
    await until(() => live(s.push) === 0, 5000, 'the server to see every connection go');
    // Node's fetch (undici) keeps a spare socket, and its buffers, for about 4 s after an abort:
    // the server closes such idle sockets now rather than waiting for them.
    s.server.closeIdleConnections();
    const sockets = () => new Promise<number>((r) => s.server.getConnections((_e, n) => r(n)));
    for (const end = Date.now() + 8000; (await sockets()) > 0 && Date.now() < end; ) await sleep(50);
    await sleep(200); // the behaviour under test: let the last closes settle before the heap is measured
  };
  const mb = (n: number) => (n / 1024 / 1024).toFixed(2) + ' MB';
  const start = await heap();
  const t0 = Date.now();
  // The first cycles grow the heap once (JIT, pools and lazily built state of Node, undici and
  // ws: a few MB), after which it must stay flat: the baseline is taken after WARM cycles.
  for (let i = 0; i < WARM; i++) await cycle(i, 100);
  await settle();
  const before = await heap();
  for (let i = WARM; i < CYCLES; i++) await cycle(i);
  const ms = Date.now() - t0;
  await settle();
  const after = await heap();
  const left = alive.websocket + alive.eventsource + alive.longpoll;
  console.log(
    `[fault] heap over ${CYCLES} connect/close cycles (${ms} ms): at the start ${mb(start)}, after ${WARM} cycles ` +
      `${mb(before)}, after ${CYCLES} ${mb(after)}: growth over the last ${CYCLES - WARM} ${mb(after - before)} ` +
      `(bound ${mb(BOUND)}); clients not collected: ${left} ${JSON.stringify(alive)}`,
  );
  expect(after - before).toBeLessThan(BOUND);
  // One may still be held by a stack slot of the loop.
  expect(left).toBeLessThanOrEqual(1);
}, 58_000);
