import { PushError } from '../protocol';
import type { Feature } from './feature';

/** What the page tells the client: time may have jumped, or the network came or went. */
export interface PageHooks {
  /** The page became visible or was restored: timers may have been frozen, check the heartbeat now. */
  wake(): void;
  online(): void;
  offline(): void;
}

/**
 * Listens to the page's lifecycle where there is a page (browsers); a no-op elsewhere.
 * Returns the function that removes every listener it added.
 */
export function watchPage(h: PageHooks): () => void {
  const w = globalThis as unknown as Window;
  const doc = w.document;
  if (!doc || typeof w.addEventListener !== 'function') return () => {};
  const pairs: [EventTarget, string, () => void][] = [
    [w, 'online', h.online],
    [w, 'offline', h.offline],
    [w, 'pageshow', h.wake],
    [w, 'focus', h.wake],
    [doc, 'visibilitychange', h.wake],
  ];
  for (const [t, n, f] of pairs) t.addEventListener(n, f);
  return () => {
    for (const [t, n, f] of pairs) t.removeEventListener(n, f);
  };
}

/**
 * The page lifecycle feature: a page that comes back (shown, focused, visible) checks the heartbeat
 * by the clock at once; going offline drops the connection, coming online ends a backoff's wait.
 */
export const pageLifecycle: Feature = (internals) => {
  let unwatch: (() => void) | undefined;
  return {
    connecting: () =>
      (unwatch = watchPage({
        wake: internals.alive,
        online: internals.reconnectNow, // waiting out a backoff: the network is back, go now
        offline: () => internals.drop(new PushError('TRANSPORT_FAILED', 'went offline')),
      })),
    stopped: () => unwatch?.(),
  };
};
