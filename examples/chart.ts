/**
 * A small live chart on a canvas (no chart library): events per second (linear) and median latency
 * (log scale) per transport over the last 40 seconds, one sample a second, one colour per transport.
 */
export type Series = Record<string, number | null>;
export interface Sample {
  /** Events in that second per transport (`null`: the transport was not in use). */
  rate: Series;
  /** Median publish-to-handler latency in ms in that second per transport (`null`: no event). */
  latency: Series;
}

/** Seconds shown. */
const WINDOW = 40;
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

export class LiveChart {
  private samples: Sample[] = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    /** Series name → colour, in drawing order. */
    private readonly colors: Record<string, string>,
  ) {
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  push(s: Sample): void {
    this.samples.push(s);
    if (this.samples.length > WINDOW) this.samples.shift();
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = FONT;

    const left = 44;
    const right = w - 8;
    const gap = 26;
    const top1 = 16;
    const panel = (h - top1 - gap - 22) / 2;
    const top2 = top1 + panel + gap;
    const x = (i: number) => right - ((this.samples.length - 1 - i) / (WINDOW - 1)) * (right - left);

    // Events per second: linear, from 0 to a round maximum.
    const rates = this.values('rate');
    const rmax = niceMax(Math.max(5, ...rates));
    const rstep = rmax / 4;
    this.panel(
      g,
      left,
      right,
      top1,
      panel,
      'events / s',
      Array.from({ length: 5 }, (_, k) => k * rstep),
      (v) => top1 + panel - (v / rmax) * panel,
      (v) => fmt(v),
    );
    this.lines(g, 'rate', x, (v) => top1 + panel - (Math.min(v, rmax) / rmax) * panel);

    // Latency: log scale over whole decades, so that 1 ms and 500 ms both read well.
    const lats = this.values('latency').map((v) => Math.max(v, 0.01));
    const lo = Math.floor(Math.log10(lats.length ? Math.min(...lats) : 0.1));
    const hi = Math.max(lo + 2, Math.ceil(Math.log10(lats.length ? Math.max(...lats) : 10)));
    const ly = (v: number) => top2 + panel - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * panel;
    const ticks = Array.from({ length: hi - lo + 1 }, (_, k) => 10 ** (lo + k));
    this.panel(g, left, right, top2, panel, 'latency p50, ms (log)', ticks, ly, (v) => fmt(v));
    this.lines(g, 'latency', x, ly);

    // Time axis.
    g.fillStyle = '#98a2b3';
    g.textBaseline = 'top';
    for (const s of [40, 30, 20, 10, 0]) {
      const px = right - (s / (WINDOW - 1)) * (right - left);
      g.textAlign = s === WINDOW ? 'left' : s === 0 ? 'right' : 'center';
      g.fillText(s ? `−${s}s` : 'now', s === WINDOW ? left : px, top2 + panel + 6);
    }
  }

  private values(key: keyof Sample): number[] {
    const out: number[] = [];
    for (const s of this.samples) for (const v of Object.values(s[key])) if (v !== null && Number.isFinite(v)) out.push(v);
    return out;
  }

  private panel(
    g: CanvasRenderingContext2D,
    left: number,
    right: number,
    top: number,
    _height: number,
    title: string,
    ticks: number[],
    y: (v: number) => number,
    label: (v: number) => string,
  ): void {
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const t of ticks) {
      const py = Math.round(y(t)) + 0.5;
      g.strokeStyle = t === ticks[0] ? '#d0d5dd' : '#eef0f3';
      g.beginPath();
      g.moveTo(left, py);
      g.lineTo(right, py);
      g.stroke();
      g.fillStyle = '#98a2b3';
      g.fillText(label(t), left - 6, py);
    }
    g.fillStyle = '#667085';
    g.textAlign = 'left';
    g.textBaseline = 'bottom';
    g.fillText(title, left, top - 3);
  }

  private lines(g: CanvasRenderingContext2D, key: keyof Sample, x: (i: number) => number, y: (v: number) => number): void {
    g.lineWidth = 2;
    g.lineJoin = 'round';
    for (const [name, color] of Object.entries(this.colors)) {
      g.strokeStyle = g.fillStyle = color;
      let run: [number, number][] = [];
      const flush = () => {
        if (run.length === 1) {
          g.beginPath();
          g.arc(run[0][0], run[0][1], 2.2, 0, Math.PI * 2);
          g.fill();
        } else if (run.length > 1) {
          g.beginPath();
          run.forEach(([px, py], k) => (k ? g.lineTo(px, py) : g.moveTo(px, py)));
          g.stroke();
        }
        run = [];
      };
      this.samples.forEach((s, i) => {
        const v = s[key][name];
        if (v === null || v === undefined || !Number.isFinite(v)) flush();
        else run.push([x(i), y(v)]);
      });
      flush();
    }
  }
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  // Four grid steps of a round size: 0.25, 0.5, 1, 2 or 2.5 times a power of ten.
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  if (v >= 1 || v === 0) return String(Math.round(v * 10) / 10);
  return String(Number(v.toPrecision(1)));
}
