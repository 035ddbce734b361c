/**
 * Server throughput: publishes N small events to one connection per transport and reports
 * events/s for (a) publish + encode + write, timed in the server process until the last write was
 * handed to the socket (also per CPU-second of the server process, which a busy machine disturbs
 * less than wall time), and (b) end to end, until a raw client in a child process (on the other
 * core) has counted every block. Run: `npx tsx test/helpers/server-throughput.ts [N]`.
 * Not part of the test suite.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { createPushServer } from '../../src/server';

const N = Number(process.argv[2] ?? 100_000);

// The client counts blocks ("\n\n") and reports once it has seen `want` of them.
const clientCode = `
const [kind, url, want] = [process.env.KIND, process.env.URL, +process.env.WANT];
const parentPort = { postMessage: (m) => process.stdout.write(m + '\\n') };
let seen = 0, tail = '';
const count = (chunk) => {
  const s = tail + chunk;
  let i = -1;
  while ((i = s.indexOf('\\n\\n', i + 1)) !== -1) seen++;
  tail = s.endsWith('\\n') ? '\\n' : '';
  if (seen >= want) { parentPort.postMessage('done'); process.exit(0); }
};
if (kind === 'websocket') {
  const { WebSocket } = require(process.cwd() + '/node_modules/ws');
  const ws = new WebSocket(url.replace('http', 'ws'));
  ws.on('message', (d) => count(d.toString()));
  ws.on('open', () => parentPort.postMessage('open'));
} else if (kind === 'eventsource') {
  fetch(url + '?t=sse').then(async (res) => {
    parentPort.postMessage('open');
    const dec = new TextDecoder();
    for await (const c of res.body) count(dec.decode(c, { stream: true }));
  });
} else {
  (async () => {
    let cid = '', ack = 0;
    for (;;) {
      const res = await fetch(url + '?t=lp' + (cid ? '&cid=' + cid + '&ack=' + ack : ''));
      const text = await res.text();
      if (!cid) { cid = /"cid":"([^"]+)"/.exec(text)[1]; parentPort.postMessage('open'); }
      const blocks = text.split('\\n\\n').length - 1;
      ack += blocks;
      count(text);
    }
  })();
}
`;

async function run(kind: 'websocket' | 'eventsource' | 'longpoll'): Promise<void> {
  const server = http.createServer();
  const push = createPushServer({ server, heartbeatMs: 60_000, maxBufferedBytes: 512 * 1024 * 1024 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  // hello + N events
  const child = spawn(process.execPath, ['-e', clientCode], {
    env: { ...process.env, KIND: kind, URL: url, WANT: String(N + 1) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let said = '';
  const heard = (word: string) =>
    new Promise<void>((resolve) => {
      const check = () => said.includes(word + '\n') && (child.stdout.off('data', onData), resolve());
      const onData = (d: Buffer) => ((said += d), check());
      child.stdout.on('data', onData);
      check();
    });
  const done = heard('done');
  await heard('open');
  while (push.connections.length === 0) await new Promise((r) => setTimeout(r, 5));

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) void push.publish('tick', { i, px: 100.25 });
  const tPublish = performance.now();
  // Writes happen in the next tick's flush.
  await new Promise((r) => setImmediate(r));
  const tWrite = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await done;
  const tEnd = performance.now();
  const rate = (ms: number) => Math.round((N / ms) * 1000).toLocaleString('en-US');
  console.log(
    `${kind.padEnd(12)} publish ${rate(tPublish - t0).padStart(11)}/s  ` +
      `publish+encode+write ${rate(tWrite - t0).padStart(11)}/s (${rate(cpuMs).padStart(11)}/CPU-s)  end-to-end ${rate(tEnd - t0).padStart(11)}/s  ` +
      `(${N} events, ${Math.round(tEnd - t0)} ms)`,
  );
  child.kill();
  await push.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

for (const kind of ['websocket', 'eventsource', 'longpoll'] as const) await run(kind);
