/**
 * `share` where there are no tabs to share with (Node: no Web Locks, no BroadcastChannel leader
 * election): the option is ignored and each client connects on its own, as without it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanups, until } from './helpers/net';
import { live, startPush, take } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

describe('share without Web Locks', () => {
  it('is ignored: two clients with the same group each hold their own connection and get every event', async () => {
    expect((globalThis as { navigator?: { locks?: unknown } }).navigator?.locks).toBeUndefined();
    const s = await startPush();
    cleanup.add(() => s.stop());
    const a = s.client({ share: true });
    const b = s.client({ share: 'group' });
    await until(() => a.status.state === 'open' && b.status.state === 'open', 5000, 'both open');
    expect(live(s.push)).toBe(2);
    expect(a.status.share).toBeUndefined();
    const both = [take(a, 2), take(b, 2)];
    await s.push.publish('n', 1);
    await s.push.publish('n', 2);
    for (const got of await Promise.all(both)) expect(got.map((e) => e.data)).toEqual([1, 2]);
  });
});
