/**
 * The demo page's script (bundled by examples/server.ts with esbuild, straight from the library
 * source). It shows what `PushClient` does: the live ticker, the status store, forced transports,
 * a server-side cut with resume, chat rooms as channels, the lifecycle notifications, and a live
 * chart of rate and latency per transport.
 *
 * URL parameters: `?transport=websocket|eventsource|longpoll` (default auto), `?room=dev`, `?name=ada`,
 * `?share=1` (the tabs of this page share one connection: open several to see one at the server).
 * In the console, `demo.client` is the current client.
 */
import { PushClient, PushError, type Status, type TransportName } from '../src/index';
import { LiveChart, type Series } from './chart';
import type { ChatMessage, Price } from './server';

type Mode = TransportName | 'auto';
type Events = { price: Price; chat: ChatMessage; rooms: Record<string, number>; notice: { text: string } };

const TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll'];
const LABEL: Record<TransportName, string> = { websocket: 'WebSocket', eventsource: 'SSE', longpoll: 'Long-poll' };
const ROOMS = ['lobby', 'dev', 'random', 'secret'];
const PUSH_URL = '/push';

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const now = () => performance.timeOrigin + performance.now();
const hhmmss = (t = Date.now()) => new Date(t).toTimeString().slice(0, 8);

const params = new URLSearchParams(location.search);
/** Whether the tabs of this page share one connection (`?share=1`). */
let sharing = params.get('share') === '1';
let mode: Mode = (TRANSPORTS as string[]).includes(params.get('transport') ?? '') ? (params.get('transport') as Mode) : 'auto';
let room = ROOMS.includes(params.get('room') ?? '') && params.get('room') !== 'secret' ? params.get('room')! : 'lobby';
let client: PushClient<Events>;
let unsubscribe = () => {};

// ---- clock: the server stamps each event; latency needs its clock in ours -------------------

/** Server clock minus ours, in ms; 0 when it cannot be told apart from 0 (same machine). */
let offset = 0;
async function syncClock(): Promise<void> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    const { now: server } = (await (await fetch('/demo/clock', { cache: 'no-store' })).json()) as { now: number };
    const t1 = now();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: server - (t0 + t1) / 2 };
  }
  offset = Math.abs(best.offset) <= best.rtt / 2 ? 0 : best.offset;
}

// ---- lifecycle log ----------------------------------------------------------------------------

function describeCause(c: unknown, depth = 0): string {
  if (c === undefined || c === null || depth > 2) return '';
  if (c instanceof PushError)
    return `${c.code}: ${c.message}${(c as { cause?: unknown }).cause ? ` ← ${describeCause((c as { cause?: unknown }).cause, depth + 1)}` : ''}`;
  if (c instanceof Error)
    return `${c.name}: ${c.message}${(c as { cause?: unknown }).cause ? ` ← ${describeCause((c as { cause?: unknown }).cause, depth + 1)}` : ''}`;
  if (typeof Event !== 'undefined' && c instanceof Event) return `${c.type} event from ${(c.target as object | null)?.constructor?.name ?? 'the browser'}`;
  return typeof c === 'string' ? c : JSON.stringify(c);
}

/** `CODE: message` (and the HTTP status) with the cause on its own, as a developer needs them. */
function describeError(e: PushError | undefined): [string, string] {
  if (!e) return ['', ''];
  const cause = (e as { cause?: unknown }).cause;
  return [
    `${e.code}: ${e.message}${e.status && !e.message.includes(String(e.status)) ? ` (HTTP ${e.status})` : ''}`,
    cause === undefined ? '' : `cause: ${describeCause(cause)}`,
  ];
}

function log(kind: string, msg: string, cause = ''): void {
  const list = $('#log');
  const li = el(
    'li',
    {},
    el('time', { textContent: hhmmss() }),
    el('span', { className: 'kind', textContent: kind }),
    el('span', { className: 'msg', textContent: msg }),
  );
  li.dataset.kind = kind;
  if (cause) li.lastElementChild!.append(el('br'), el('span', { className: 'cause', textContent: cause }));
  list.prepend(li);
  while (list.children.length > 200) list.lastElementChild!.remove();
}

// ---- per-transport statistics and the chart -----------------------------------------------------

interface Stat {
  count: number;
  /** This second's events and latencies, for the chart. */
  bucket: number;
  lat: number[];
  /** When the events of the last 5 s arrived, for the rate in the table. */
  recent: number[];
  /** The latest 200 latencies over this transport, for the table (kept while another is in use). */
  hist: number[];
}
const HIST = 200;
const stats = Object.fromEntries(TRANSPORTS.map((t) => [t, { count: 0, bucket: 0, lat: [], recent: [], hist: [] } as Stat])) as Record<TransportName, Stat>;
/** When the current connection opened (our clock). */
let activeSince = 0;

function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const ms = (v: number | null) => (v === null ? '–' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);

/**
 * Counts an event. Its latency (server publish to this handler) is the transport's only if it was
 * published while this connection was open: events replayed on resume waited out the reconnect, so
 * they count in the rate but not in the latency.
 */
function count(transport: TransportName, ts: unknown): void {
  const s = stats[transport];
  const t = now();
  s.count++;
  s.bucket++;
  s.recent.push(t);
  if (typeof ts !== 'number' || ts - offset < activeSince) return;
  const lat = Math.max(0, t - (ts - offset));
  s.lat.push(lat);
  s.hist.push(lat);
  if (s.hist.length > HIST) s.hist.shift();
}

const statRows = new Map<TransportName, HTMLTableRowElement>();
function buildStats(): void {
  const body = $('#stats tbody');
  for (const t of TRANSPORTS) {
    const dot = el('i');
    dot.style.background = `var(--${t})`;
    const row = el(
      'tr',
      {},
      el('td', {}, el('span', { className: 'tname' }, dot, LABEL[t])),
      el('td', { className: 'r num count', textContent: '0' }),
      el('td', { className: 'r num rate', textContent: '–' }),
      el('td', { className: 'r num p50', textContent: '–' }),
      el('td', { className: 'r num p99', textContent: '–' }),
    );
    row.dataset.transport = t;
    statRows.set(t, row);
    body.append(row);
  }
}

function renderStats(): void {
  const cutoff = now() - 5000;
  const current = client?.status.transport;
  for (const t of TRANSPORTS) {
    const s = stats[t];
    while (s.recent.length && s.recent[0] < cutoff) s.recent.shift();
    const row = statRows.get(t)!;
    row.classList.toggle('active', t === current);
    row.querySelector('.count')!.textContent = s.count.toLocaleString('en-US');
    const span = Math.max(1, (now() - Math.max(cutoff, activeSince)) / 1000);
    row.querySelector('.rate')!.textContent = t === current ? (s.recent.length / Math.min(5, span)).toFixed(1) : '–';
    const lats = [...s.hist].sort((a, b) => a - b);
    row.querySelector('.p50')!.textContent = ms(quantile(lats, 0.5));
    row.querySelector('.p99')!.textContent = ms(quantile(lats, 0.99));
  }
}

let chart: LiveChart;
function sampleChart(): void {
  const rate: Series = {};
  const latency: Series = {};
  const current = client?.status.transport;
  for (const t of TRANSPORTS) {
    const s = stats[t];
    rate[t] = s.bucket || t === current ? s.bucket : null;
    latency[t] = quantile(
      s.lat.sort((a, b) => a - b),
      0.5,
    );
    s.bucket = 0;
    s.lat = [];
  }
  chart.push({ rate, latency });
}

// ---- ticker ----------------------------------------------------------------------------------

interface Row {
  tr: HTMLTableRowElement;
  px: HTMLElement;
  chg: HTMLElement;
  line: SVGPolylineElement;
  ticks: HTMLElement;
  hist: number[];
  n: number;
  last?: number;
}
const rows = new Map<string, Row>();
let total = 0;
let missed = 0;
let dups = 0;
let lastSeq: number | undefined;

function tickerRow(symbol: string): Row {
  let r = rows.get(symbol);
  if (r) return r;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 120 24');
  svg.setAttribute('preserveAspectRatio', 'none');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  svg.append(line);
  const px = el('td', { className: 'r num px' });
  const chg = el('td', { className: 'r num' });
  const ticks = el('td', { className: 'r num muted' });
  const tr = el('tr', {}, el('td', { className: 'sym', textContent: symbol }), px, chg, el('td', {}, svg), ticks);
  tr.dataset.symbol = symbol;
  r = { tr, px, chg, line, ticks, hist: [], n: 0 };
  rows.set(symbol, r);
  const body = $('#ticker');
  const after = [...body.children].find((x) => (x as HTMLElement).dataset.symbol! > symbol);
  body.insertBefore(tr, after ?? null);
  return r;
}

function onPrice(p: Price): void {
  if (lastSeq !== undefined) {
    if (p.seq <= lastSeq) dups++;
    else missed += p.seq - lastSeq - 1;
  }
  if (lastSeq === undefined || p.seq > lastSeq) lastSeq = p.seq;
  total++;
  const r = tickerRow(p.symbol);
  r.n++;
  r.px.textContent = p.px.toFixed(2);
  r.chg.textContent = `${p.chg > 0 ? '+' : ''}${p.chg.toFixed(2)}%`;
  r.chg.className = `r num ${p.chg > 0 ? 'up' : p.chg < 0 ? 'down' : ''}`;
  r.ticks.textContent = String(r.n);
  if (r.last !== undefined && p.px !== r.last) {
    r.px.classList.remove('flash-up', 'flash-down');
    void r.px.offsetWidth; // restart the fade
    r.px.classList.add(p.px > r.last ? 'flash-up' : 'flash-down');
    setTimeout(() => r.px.classList.remove('flash-up', 'flash-down'), 50);
  }
  r.last = p.px;
  r.hist.push(p.px);
  if (r.hist.length > 60) r.hist.shift();
  const lo = Math.min(...r.hist);
  const hi = Math.max(...r.hist);
  const span = hi - lo || 1;
  r.line.setAttribute('points', r.hist.map((v, i) => `${(i / 59) * 120},${22 - ((v - lo) / span) * 20}`).join(' '));
  r.line.setAttribute('stroke', p.chg >= 0 ? css('--up') : css('--down'));
  $('#total').textContent = total.toLocaleString('en-US');
  $('#missed').textContent = String(missed);
  $('#missed').classList.toggle('bad', missed > 0);
  $('#dups').textContent = String(dups);
  $('#dups').classList.toggle('bad', dups > 0);
}

// ---- chat ------------------------------------------------------------------------------------

let roomSizes: Record<string, number> = {};
function showHere(): void {
  const n = roomSizes[room];
  $('#here').textContent = n === undefined ? '' : `${n} connected`;
}

function say(text: string, cls = 'system', who?: string, ts?: number): void {
  const list = $('#messages');
  const li = el('li', { className: cls });
  if (who) li.append(el('span', { className: 'who', textContent: who }));
  li.append(text);
  if (ts) li.append(el('time', { textContent: hhmmss(ts - offset) }));
  list.append(li);
  while (list.children.length > 100) list.firstElementChild!.remove();
  list.scrollTop = list.scrollHeight;
}

async function changeRoom(next: string): Promise<void> {
  const prev = room;
  if (next === prev) return;
  const select = $<HTMLSelectElement>('#room');
  select.disabled = true;
  try {
    await client.join(`room:${next}`);
  } catch (e) {
    const [msg, cause] = describeError(e as PushError);
    log('refused', `join("room:${next}") → ${msg}`, cause);
    say(`Could not join #${next}: ${(e as Error).message}`);
    select.value = prev;
    return;
  } finally {
    select.disabled = false;
  }
  room = next;
  client.leave(`room:${prev}`).catch(() => {});
  log('join', `left #${prev}, joined #${next}`);
  $('#messages').replaceChildren();
  say(`You are in #${next}`);
  showHere();
  setParam('room', next === 'lobby' ? null : next);
}

// ---- the client -----------------------------------------------------------------------------

function setParam(key: string, value: string | null): void {
  const u = new URL(location.href);
  if (value === null) u.searchParams.delete(key);
  else u.searchParams.set(key, value);
  history.replaceState(null, '', u);
}

function showStatus(s: Status): void {
  const box = $('#status');
  box.dataset.state = s.state;
  $('#state').textContent = s.state;
  $('#transport').textContent = s.transport ?? '–';
  $('#attempt').textContent = s.state === 'reconnecting' ? `attempt ${s.attempt}` : '';
  $('#share').textContent = !s.share
    ? ''
    : s.share.leader
      ? ` · this tab leads ${s.share.tabs} tab(s)`
      : ` · follows the leading tab${s.share.tabs ? ` (${s.share.tabs} tabs)` : ''}`;
  box.title = s.error ? describeError(s.error).join('\n') : '';
  if (s.state === 'open') activeSince = now();
  renderStats();
}

/** (Re)creates the client for a mode; a new client resumes where the old one stopped. */
function start(next: Mode): void {
  const prev = client;
  const resumeFrom = prev?.lastEventId;
  if (prev) {
    unsubscribe();
    prev.lifecycle.all.clear();
    prev.close();
  }
  mode = next;
  client = new PushClient<Events>(PUSH_URL, {
    ...(next === 'auto' ? {} : { transports: [next], rememberTransport: 0 }),
    lastEventId: resumeFrom,
    channels: [`room:${room}`],
    share: sharing,
  });
  const c = client;
  const code = next === 'auto' ? `new PushClient('${PUSH_URL}')` : `new PushClient('${PUSH_URL}', { transports: ['${next}'] })`;
  log('mode', `${next === 'auto' ? 'auto' : `forced ${next}`}: ${code}`, resumeFrom ? `resumes after lastEventId ${resumeFrom}` : '');
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-mode]')) b.setAttribute('aria-pressed', String(b.dataset.mode === next));
  setParam('transport', next === 'auto' ? null : next);

  c.onAny((_event, data, meta) => count(meta.transport as TransportName, (data as { ts?: unknown } | null)?.ts));
  c.on('price', (p, meta) => {
    onPrice(p);
    if (meta.id) $('#last-id').textContent = meta.id;
  });
  c.on('chat', (m) => {
    if (m.room === room) say(m.text, m.self ? 'self' : 'other', m.self ? 'you' : m.name, m.ts);
  });
  c.on('notice', (n) => say(n.text));
  c.on('rooms', (r) => {
    roomSizes = r;
    showHere();
  });

  const lc = c.lifecycle;
  lc.on('open', ({ transport, resumed }) => {
    const from = c.lastEventId;
    log('open', `${transport}: ${!from ? 'new stream' : resumed ? `resumed after id ${from}` : 'could not resume'}`);
  });
  // Why it is on this transport: every attempt (and upgrade probe) with its outcome and reason.
  lc.on('attempt', ({ transport, outcome, error, probe }) => {
    const [msg, cause] = describeError(error);
    log(outcome === 'open' ? 'attempt' : 'failed', `${probe ? 'upgrade probe' : 'try'} ${transport}: ${outcome}${msg ? ` (${msg})` : ''}`, cause);
  });
  lc.on('transport', ({ from, to, reason }) => {
    const [msg, cause] = describeError(reason);
    log('transport', `${from ?? 'none'} → ${to}${msg ? ` because ${msg}` : ''}`, cause);
  });
  lc.on('reconnecting', ({ attempt, delay, error }) => {
    const [msg, cause] = describeError(error);
    log('reconnecting', `attempt ${attempt} in ${delay} ms${msg ? ` after ${msg}` : ''}`, cause);
  });
  lc.on('gap', ({ lastEventId }) => log('gap', `the server could not resume after ${lastEventId ?? '(none)'}: events may be missing`));
  lc.on('error', (e) => log('error', ...describeError(e)));
  lc.on('close', ({ error }) => log('close', ...(error ? describeError(error) : (['client closed', ''] as [string, string]))));
  unsubscribe = c.subscribe(showStatus);
}

// ---- wiring -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  buildStats();
  chart = new LiveChart($<HTMLCanvasElement>('#chart'), Object.fromEntries(TRANSPORTS.map((t) => [t, css(`--${t}`)])));
  for (const s of Object.keys({ ACME: 0, GLOBEX: 0, INITECH: 0, UMBRELLA: 0 })) tickerRow(s);

  const select = $<HTMLSelectElement>('#room');
  for (const r of ROOMS) select.append(el('option', { value: r, textContent: r === 'secret' ? '# secret (refused)' : `# ${r}` }));
  select.value = room;
  select.addEventListener('change', () => void changeRoom(select.value));
  const name = $<HTMLInputElement>('#name');
  name.value = params.get('name') || `guest-${Math.floor(1000 + Math.random() * 9000)}`;
  $<HTMLFormElement>('#say').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>('#text');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    // `send` types its data by the same map as received events; what we send has no `ts` yet.
    (client as unknown as PushClient).send('chat', { room, name: name.value, text }).catch((e: PushError) => log('error', ...describeError(e)));
  });

  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-mode]')) b.addEventListener('click', () => start(b.dataset.mode as Mode));
  const shareBox = $('#share-tabs') as HTMLInputElement;
  shareBox.checked = sharing;
  shareBox.addEventListener('change', () => {
    sharing = shareBox.checked;
    setParam('share', sharing ? '1' : null);
    start(mode);
  });
  $('#cut').addEventListener('click', async () => {
    const out = $('#cut-result');
    try {
      const res = await fetch('/demo/cut', { method: 'POST' });
      const { closed } = (await res.json()) as { closed: number };
      out.textContent = `server closed ${closed} connection${closed === 1 ? '' : 's'}`;
      log('cut', `POST /demo/cut: the server closed ${closed} connection${closed === 1 ? '' : 's'}`);
    } catch (e) {
      out.textContent = `cut failed: ${(e as Error).message}`;
    }
  });

  await syncClock().catch(() => log('error', 'could not read the server clock: latency assumes the same clock'));
  say(`You are in #${room}`);
  start(mode);
  setInterval(() => {
    sampleChart();
    renderStats();
  }, 1000);
}

// For the console: `demo.client.status`, `demo.client.lifecycle.on(...)`.
(window as unknown as { demo: object }).demo = {
  get client() {
    return client;
  },
};
void main();
