/**
 * `push-client/react`: hooks and a provider around {@link PushClient}. React is an optional peer
 * dependency; only this entry imports it.
 *
 * @packageDocumentation
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useInsertionEffect,
  useRef,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from 'react';
import { PushClient, type Meta, type PushClientOptions, type PushUrl, type Status } from '../index';

type Events = Record<string, any>;

/** The status a client has before it connects; also the server snapshot used in server rendering. */
const IDLE: Status = Object.freeze({ state: 'idle', transport: null, attempt: 0 });

/**
 * Calls `handler(data, meta)` for every event `name` that `client` receives while the component is
 * mounted. The latest `handler` is always the one called, but a new handler on each render does not
 * resubscribe: only a change of `client` or `name` does. A `null` or `undefined` client is allowed
 * (nothing is subscribed until there is one).
 */
export function usePushEvent<E extends Events, K extends keyof E & string>(
  client: PushClient<E> | null | undefined,
  name: K,
  handler: (data: E[K], meta: Meta) => void,
): void {
  const ref = useRef(handler);
  // Updated after render is committed (never during a render React may throw away), before any effect.
  useInsertionEffect(() => {
    ref.current = handler;
  });
  useEffect(() => client?.on(name, (data, meta) => ref.current(data, meta)), [client, name]);
}

/**
 * The client's current {@link Status} (`state`, `transport`, `attempt`, ...); the component renders
 * again on every change. Built on `useSyncExternalStore` over `client.subscribe` and `client.status`,
 * so it is tear-free in concurrent rendering; in server rendering and hydration it is the idle status.
 */
export function usePushStatus(client: PushClient<any>): Status {
  return useSyncExternalStore(
    useCallback((changed: () => void) => client.subscribe(changed), [client]),
    () => client.status,
    () => IDLE,
  );
}

const Ctx = createContext<PushClient<any> | null>(null);

/** One shared client per URL, with the number of mounted providers using it. */
type Entry = { c: PushClient<any>; n: number; t?: ReturnType<typeof setTimeout> };
const pool = new Map<string, Entry>();

/** Props of {@link PushProvider}. */
export interface PushProviderProps {
  /** The push URL, as for `new PushClient(url)`. Providers with the same URL share one client. */
  url: PushUrl;
  /**
   * Client options, used when the client for this URL is created (later values are ignored while it
   * lives). `autoConnect` is always overridden: the provider connects once it is mounted.
   */
  options?: PushClientOptions;
  /** What may call {@link usePushClient}. */
  children?: ReactNode;
}

/**
 * Makes a {@link PushClient} for `url` available to {@link usePushClient} below it. Every provider
 * with the same URL shares one client; it connects when the first one mounts (never during render,
 * so never in server rendering) and closes when the last one unmounts. Under StrictMode's double
 * mounting the close is put off until after the remount, so exactly one connection stays open.
 */
export function PushProvider({ url, options, children }: PushProviderProps): ReactElement {
  const key = JSON.stringify(url);
  let e = pool.get(key);
  if (!e) pool.set(key, (e = { c: new PushClient(url, { ...options, autoConnect: false }), n: 0 }));
  const entry = e;
  useEffect(() => {
    // A provider rendered with this entry just before its pending close ran: put it back.
    if (!pool.has(key)) pool.set(key, entry);
    clearTimeout(entry.t);
    entry.n++;
    entry.c.connect(); // no-op while already connecting or open; afresh if closed
    return () => {
      if (--entry.n) return;
      // Put off: StrictMode (or a remount in the same commit) takes it again before this runs.
      entry.t = setTimeout(() => {
        entry.c.close();
        if (pool.get(key) === entry) pool.delete(key);
      });
    };
  }, [key, entry]);
  return createElement(Ctx.Provider, { value: entry.c }, children);
}

/**
 * The client of the nearest {@link PushProvider}.
 * @throws Error when there is no `PushProvider` above the component.
 */
export function usePushClient<E extends Events = Events>(): PushClient<E> {
  const c = useContext(Ctx);
  if (!c) throw new Error('usePushClient: no <PushProvider> above');
  return c;
}
