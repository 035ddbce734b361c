import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLiveness } from '../src/client/liveness';
import { LONGEST } from '../src/protocol';

/** createLiveness on the fake clock, with what the client would answer set by the test. */
function liveness(configured = 4000, explicit = false) {
  const io = {
    isWatching: true,
    isSilentOnPurpose: false,
    deaths: [] as [number, number][],
    watching: () => io.isWatching,
    silentOnPurpose: () => io.isSilentOnPurpose,
    dead: (timeout: number) => void io.deaths.push([Date.now(), timeout]),
  };
  return { io, ...createLiveness(configured, explicit, io) };
}

describe('createLiveness', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  it('is alive up to the timeout after it last heard, and dead past it', () => {
    const l = liveness(4000);
    l.heard();
    vi.advanceTimersByTime(4000);
    expect(l.alive()).toBe(true);
    expect(l.io.deaths).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(l.alive()).toBe(false);
    expect(l.io.deaths).toEqual([[1_004_001, 4000]]);
  });

  it('each heard() starts the silence again', () => {
    const l = liveness(4000);
    l.heard();
    vi.advanceTimersByTime(3000);
    l.heard();
    vi.advanceTimersByTime(3000);
    expect(l.alive()).toBe(true);
  });

  it('is alive, whatever the silence, while nothing is watched or the transport is silent on purpose', () => {
    const l = liveness(4000);
    l.heard();
    vi.advanceTimersByTime(60_000);
    l.io.isWatching = false;
    expect(l.alive()).toBe(true);
    l.io.isWatching = true;
    l.io.isSilentOnPurpose = true;
    expect(l.alive()).toBe(true);
    // Silence on purpose counts as heard: the timeout runs from the last check that saw it.
    l.io.isSilentOnPurpose = false;
    vi.advanceTimersByTime(4000);
    expect(l.alive()).toBe(true);
    expect(l.io.deaths).toEqual([]);
  });

  it('once started, checks by itself every quarter of the timeout, and stops checking once dead', () => {
    const l = liveness(4000);
    l.heard();
    l.start();
    vi.advanceTimersByTime(4000);
    expect(l.io.deaths).toEqual([]);
    // The check at 5000 ms is the first past the timeout.
    vi.advanceTimersByTime(999);
    expect(l.io.deaths).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(l.io.deaths).toEqual([[1_005_000, 4000]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop() ends the checks; start() again keeps one timer, not two', () => {
    const l = liveness(4000);
    l.heard();
    l.start();
    l.stop();
    vi.advanceTimersByTime(60_000);
    expect(l.io.deaths).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    l.heard();
    l.start();
    l.start();
    expect(vi.getTimerCount()).toBe(1);
  });

  it("lengthens the timeout to twice the server's heartbeat interval plus 5 s, never shortens it, caps it at the longest timer", () => {
    const l = liveness(45_000);
    l.serverInterval(30_000);
    l.heard();
    vi.advanceTimersByTime(65_000);
    expect(l.alive()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(l.alive()).toBe(false);
    expect(l.io.deaths.at(-1)![1]).toBe(65_000);

    l.serverInterval(1000);
    l.alive();
    expect(l.io.deaths.at(-1)![1]).toBe(45_000);

    l.serverInterval(1e10);
    l.heard();
    vi.setSystemTime(Date.now() + LONGEST);
    expect(l.alive()).toBe(true);
    vi.setSystemTime(Date.now() + 1);
    expect(l.alive()).toBe(false);
    expect(l.io.deaths.at(-1)![1]).toBe(LONGEST);
  });

  it('keeps the configured timeout for a nonsensical interval, and for any interval when the app set it', () => {
    const l = liveness(4000);
    l.serverInterval(Number.NaN);
    l.heard();
    vi.advanceTimersByTime(4001);
    l.alive();
    expect(l.io.deaths.at(-1)![1]).toBe(4000);

    const explicit = liveness(4000, true);
    explicit.serverInterval(30_000);
    explicit.heard();
    vi.advanceTimersByTime(4001);
    expect(explicit.alive()).toBe(false);
    expect(explicit.io.deaths.at(-1)![1]).toBe(4000);
  });
});
