/**
 * How long a benchmark runs. Full by default (the figures the README quotes); BENCH_QUICK=1 for a
 * shorter look (fewer runs and samples); BENCH_SMOKE=1, as `npm test` runs every benchmark
 * (test/bench-smoke.test.ts), for the least that still runs each code path once: its figures mean
 * nothing, its point is that no benchmark rots unnoticed. Smoke implies quick.
 */
export const SMOKE = !!process.env.BENCH_SMOKE;
export const QUICK = SMOKE || !!process.env.BENCH_QUICK;

/** The value for the current mode. */
export function byMode<T>(full: T, quick: T, smoke: T = quick): T {
  return SMOKE ? smoke : QUICK ? quick : full;
}
