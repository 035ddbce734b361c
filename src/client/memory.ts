import type { Feature } from './feature';

/**
 * Which transport last worked for a URL, kept for `ttl` ms in memory and in the tab's
 * `sessionStorage`, so the next client (or the page after a reload) starts where it will succeed
 * instead of waiting out a blocked WebSocket again. Upgrade probes take it back up when they succeed.
 */
const mem = new Map<string, [string, number]>();
const KEY = 'push-client:';

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return; // blocked by privacy settings
  }
}

export function recall(url: string): string | undefined {
  let v = mem.get(url);
  if (!v) {
    try {
      v = JSON.parse(storage()?.getItem(KEY + url) || 'null') || undefined;
    } catch {
      /* a stale or foreign value: ignore */
    }
  }
  return v && v[1] > Date.now() ? v[0] : undefined;
}

export function remember(url: string, name: string, ttl: number): void {
  if (!(ttl > 0)) return;
  const v: [string, number] = [name, Date.now() + ttl];
  mem.set(url, v);
  try {
    storage()?.setItem(KEY + url, JSON.stringify(v));
  } catch {
    /* storage full or blocked: memory is enough */
  }
}

/**
 * The transport memory feature: each client starts with the transport that last worked for its
 * URLs (kept `rememberTransport` ms), so a page reload does not wait out a blocked WebSocket again.
 */
export const transportMemory: Feature = (internals) => {
  const key = JSON.stringify(internals.options.urls);
  internals.preferred = Math.max(
    0,
    internals.transports.findIndex((transport) => transport.name === recall(key)),
  );
  return { opened: () => remember(key, internals.openName!, internals.options.rememberTransport) };
};
