/**
 * Timers created by push-client's own code (src/client, src/transports) that have neither fired
 * nor been cleared, with where each was created. Exact, unlike a count of the process's timers.
 * `cleanup` (from `cleanups()` in ./net) puts the real timer functions back after the test.
 */
export function trackTimers(cleanup: { add(f: () => unknown): void }): Map<unknown, string> {
  const pending = new Map<unknown, string>();
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const stack = new Error().stack ?? '';
    const h = real.setTimeout((...a: unknown[]) => (pending.delete(h), fn(...a)), ms, ...args);
    if (/src[\\/](client|transports)[\\/]/.test(stack)) pending.set(h, stack.split('\n')[2]?.trim() ?? '?');
    return h;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((h: Parameters<typeof clearTimeout>[0]) => (pending.delete(h), real.clearTimeout(h))) as typeof clearTimeout;
  cleanup.add(() => Object.assign(globalThis, real));
  return pending;
}
