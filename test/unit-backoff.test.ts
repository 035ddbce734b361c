import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffPolicy, defaultReconnect } from '../src/client/backoff';

describe('defaultReconnect', () => {
  it('is the documented policy: 0.5 s doubling to 30 s, half jitter, never giving up, reset after 5 s up', () => {
    expect(defaultReconnect).toEqual({ minDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5, maxRetries: Infinity, minUptime: 5000 });
  });
});

describe('backoffDelay', () => {
  const r = { ...defaultReconnect, minDelay: 100, maxDelay: 1000, factor: 3, jitter: 0.5 };
  it('rounds to whole ms', () => {
    expect(backoffDelay(r, 0, 0, () => 0.328)).toBe(84);
    expect(backoffDelay(r, 0, 0, () => 0.5)).toBe(75);
  });
  it("grows from the server's retry when it is above minDelay, and is still capped", () => {
    expect(backoffDelay(r, 1, 200, () => 0)).toBe(600);
    expect(backoffDelay(r, 2, 200, () => 0)).toBe(1000);
  });
});

describe('backoffPolicy', () => {
  const policy = backoffPolicy({ ...defaultReconnect, minDelay: 100, maxDelay: 10_000, jitter: 0, maxRetries: 3 });
  it('gives the backoff delay for each of maxRetries attempts, then null to give up', () => {
    expect([0, 1, 2, 3, 4].map((attempt) => policy({ attempt, elapsed: 0, serverRetry: 0 }))).toEqual([100, 200, 400, null, null]);
  });
  it("takes the server's retry as the base", () => {
    expect(policy({ attempt: 1, elapsed: 0, serverRetry: 1000 })).toBe(2000);
  });
  it('never gives up by default', () => {
    expect(backoffPolicy(defaultReconnect)({ attempt: 1e6, elapsed: 0, serverRetry: 0 })).toBeTypeOf('number');
  });
});
