/**
 * The client's own JavaScript cost per event, isolated from browsers, servers and sockets: PushClient
 * driven by fake transports (an EventSource, a WebSocket and a fetch that hand it prepared server
 * output), in this Node process (V8, like Chromium). Timed in CPU time of this process (not wall
 * time, which on a shared machine includes waiting for a core), best of REPS. The baseline is what a raw handler does at the least: JSON.parse per event.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { PushClient } from '../../src/index';
import { encodeBatchLine, encodeEvent } from '../../src/protocol/frames';
import { SseParser } from '../../src/protocol/sse';
import { Batch } from '../../src/server/batch';
import { root } from './size';
import { whatIf } from './whatif';
import { byMode } from './mode';

type Ctor = typeof PushClient;

/** src/index.ts bundled with a what-if patch, loaded as a module. */
async function patchedClient(names: string[]): Promise<Ctor> {
  const r = await build({
    entryPoints: ['src/index.ts'],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    plugins: [whatIf(names)],
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'push-bench-'));
  const file = path.join(dir, 'client.mjs');
  writeFileSync(file, r.outputFiles[0].text);
  try {
    return (await import(pathToFileURL(file).href)).PushClient as Ctor;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const REPS = byMode(5, 5, 1);

/** CPU ms used by this process so far (user + system). */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const HELLO = { cid: 'c1', epoch: 'e', replay: true, hb: 15000 };

/** A flat (sequential) copy of `s`, as a browser hands over message data; concatenation makes ropes. */
const flat = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

const payload = (i: number, big: boolean) => JSON.stringify({ r: 1, i, t: 1234567.123, sym: 'ACME', px: 101.25, ...(big ? { p: 'x'.repeat(4000) } : {}) });

/**
 * The messages an EventSource hands over for `n` events published 100 per turn, as push-client's
 * server writes them (`$batch` messages of one line per event), read by an SSE parser.
 */
function sseMessages(n: number, big: boolean): { type: string; data: string; lastEventId: string }[] {
  const out: { type: string; data: string; lastEventId: string }[] = [];
  let lastEventId = '';
  const parser = new SseParser((e) => {
    lastEventId = e.id ?? lastEventId;
    out.push({ type: 'message', data: flat(e.data), lastEventId: flat(lastEventId) });
  });
  for (let from = 0; from < n; from += 100) {
    let node = new Batch();
    for (let i = from; i < Math.min(n, from + 100); i++) {
      const data = payload(i, big);
      node = node.followedBy(encodeEvent('ev', data, 'e:' + (i + 1)), encodeBatchLine('ev', data, 'e:' + (i + 1)));
    }
    parser.push(node.eventSource().toString());
  }
  return out;
}

class FakeES {
  static last: FakeES;
  onmessage: ((m: unknown) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeES.last = this;
  }
  addEventListener() {}
  close() {}
}
class FakeWS {
  static last: FakeWS;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readyState = 1;
  binaryType = '';
  constructor(public url: string) {
    FakeWS.last = this;
  }
  send() {}
  close() {}
}

async function settle() {
  await new Promise((r) => setTimeout(r, 5));
}

/** µs per event, best of REPS, for one path. */
async function measure(Client: Ctor, path: 'eventsource' | 'websocket' | 'longpoll', n: number, big: boolean): Promise<number> {
  let best = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    let got = 0;
    let bodies: string[] = [];
    let poll = 0;
    let release: (() => void) | null = null;
    const fakeFetch = (async () => {
      const k = poll++;
      if (k === 0) return new Response(encodeEvent('$hello', JSON.stringify(HELLO)), { status: 200 });
      if (k - 1 < bodies.length) return new Response(bodies[k - 1], { status: 200 });
      await new Promise<void>((r) => (release = r));
      return new Response('', { status: 200 });
    }) as unknown as typeof fetch;
    const c = new Client<{ ev: unknown }>('http://127.0.0.1:1/push', {
      transports: [path],
      EventSource: FakeES as unknown as typeof EventSource,
      WebSocket: FakeWS as unknown as typeof WebSocket,
      fetch: fakeFetch,
      rememberTransport: 0,
      pollWhenHidden: true,
    });
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    c.on('ev', () => {
      if (++got === n) done();
    });
    let t0 = 0;
    if (path === 'eventsource') {
      await settle();
      FakeES.last.onmessage!({ type: 'message', data: '$hello\n' + JSON.stringify(HELLO), lastEventId: '' });
      const msgs = sseMessages(n, big);
      t0 = cpu();
      for (const m of msgs) FakeES.last.onmessage!(m);
    } else if (path === 'websocket') {
      await settle();
      FakeWS.last.onmessage!({ data: 'data: $hello\ndata: ' + JSON.stringify(HELLO) + '\n\n' });
      // Frames as push-client's server builds them: whole blocks, at most 16 Ki characters each.
      const frames: string[] = [];
      let f = '';
      for (let i = 0; i < n; i++) {
        const b = encodeEvent('ev', payload(i, big), 'e:' + (i + 1));
        if (f && f.length + b.length > 16 * 1024) {
          frames.push(flat(f));
          f = '';
        }
        f += b;
      }
      frames.push(flat(f));
      t0 = cpu();
      for (const fr of frames) FakeWS.last.onmessage!({ data: fr });
    } else {
      // Long-poll answers as the server sends them under load: everything queued since the last poll.
      let body = '';
      for (let i = 0; i < n; i++) body += encodeEvent('ev', payload(i, big), 'e:' + (i + 1));
      bodies = [body];
      t0 = cpu();
    }
    await all;
    best = Math.min(best, ((cpu() - t0) * 1000) / n);
    c.close();
    (release as (() => void) | null)?.();
  }
  return best;
}

function baseline(n: number, big: boolean): number {
  const texts = Array.from({ length: n }, (_, i) => flat(payload(i, big)));
  let best = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = cpu();
    // Each parse's result is looked at, as a raw handler would; the count itself is never read.
    let _parsed = 0;
    for (const s of texts) if (JSON.parse(s)) _parsed++;
    best = Math.min(best, ((cpu() - t0) * 1000) / n);
  }
  return best;
}

/**
 * µs per event for each path, small (≈60 B) and 4 KiB events; with `whatIfs`, the same paths again
 * on a patched build. Long-poll bodies hold every event at once (a backlog), the other paths one
 * event per message or 16 KiB frames.
 */
export async function clientCost(whatIfs: string[] = []): Promise<{ path: string; small: number; large: number }[]> {
  // Nothing else may keep the loop alive while fake transports run on promises alone.
  const keep = setInterval(() => {}, 1000);
  try {
    const out = [{ path: 'raw handler: JSON.parse only', small: baseline(50_000, false), large: baseline(5_000, true) }];
    const variants: [string, Ctor][] = [['', PushClient]];
    if (whatIfs.length) variants.push([` [${whatIfs.join(',')}]`, await patchedClient(whatIfs)]);
    for (const p of ['eventsource', 'websocket', 'longpoll'] as const) {
      for (const [suffix, C] of variants) {
        // Long-poll's backlog body is parsed as a whole: fewer events keep the unpatched run short.
        const n = p === 'longpoll' ? 10_000 : 50_000;
        out.push({ path: `push-client ${p}${suffix}`, small: await measure(C, p, n, false), large: await measure(C, p, n / 10, true) });
      }
    }
    return out;
  } finally {
    clearInterval(keep);
  }
}
