/** Plain-text tables (Markdown pipe syntax, so the output can be pasted into a README as it is). */
export type Cell = string | number | undefined | null;

export function fmt(v: Cell, digits = 0): string {
  if (v === undefined || v === null || (typeof v === 'number' && Number.isNaN(v))) return '–';
  if (typeof v === 'number') return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return v;
}

export function table(head: string[], rows: Cell[][], align?: ('l' | 'r')[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : fmt(c))));
  const w = head.map((h, i) => Math.max(h.length, 3, ...cells.map((r) => (r[i] ?? '').length)));
  const al = align ?? head.map((_, i) => (rows.some((r) => typeof r[i] === 'number') ? 'r' : 'l'));
  const pad = (s: string, i: number) => (al[i] === 'r' ? s.padStart(w[i]) : s.padEnd(w[i]));
  const line = (r: string[]) => '| ' + r.map((c, i) => pad(c ?? '', i)).join(' | ') + ' |';
  const sep = '| ' + w.map((n, i) => (al[i] === 'r' ? '-'.repeat(n - 1) + ':' : '-'.repeat(n))).join(' | ') + ' |';
  return [line(head), sep, ...cells.map(line)].join('\n');
}

export const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The q-quantile (0..1) by nearest rank. */
export const quantile = (xs: number[], q: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

export const isMain = (url: string): boolean => {
  const a = process.argv[1];
  if (!a) return false;
  const f = new URL(url).pathname;
  return f === a || f === a + '.ts' || f.replace(/\.ts$/, '') === a;
};
