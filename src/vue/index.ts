/**
 * `push-client/vue`: composables around {@link PushClient}, cleaned up when their effect scope (the
 * component, or an `effectScope()`) is disposed. Vue is an optional peer dependency; only this entry
 * imports it.
 *
 * @packageDocumentation
 */
import { getCurrentInstance, getCurrentScope, onMounted, onScopeDispose, shallowRef, type ShallowRef } from 'vue';
import { PushClient, type Meta, type PushClientOptions, type PushUrl, type Status } from '../index';

type Events = Record<string, any>;

/**
 * Runs `start` once the component is mounted (at once outside components, e.g. in an `effectScope()`)
 * and the function it returns when the scope is disposed. Server rendering mounts nothing and
 * disposes nothing, so on the server nothing is connected or subscribed, and nothing leaks.
 * Returns a function that stops it earlier.
 */
function live(start: () => () => void): () => void {
  let stop: (() => void) | undefined | 0; // 0: ended
  const go = () => {
    if (stop !== 0) stop = start();
  };
  const end = () => {
    if (stop) stop();
    stop = 0;
  };
  getCurrentInstance() ? onMounted(go) : go();
  if (getCurrentScope()) onScopeDispose(end);
  return end;
}

/** One shared client per URL, with the number of mounted scopes using it. */
const pool = new Map<string, { c: PushClient<any>; n: number }>();

/**
 * A client for `url`, shared by every scope that asks for the same URL. It connects when the
 * component is mounted (at once in a bare `effectScope()`; never in server rendering) and closes when
 * the last scope using it is disposed. `options` apply when the client is created; `autoConnect` is
 * always overridden.
 */
export function usePushClient<E extends Events = Events>(url: PushUrl, options?: PushClientOptions): PushClient<E> {
  const key = JSON.stringify(url);
  let e = pool.get(key);
  if (!e) pool.set(key, (e = { c: new PushClient(url, { ...options, autoConnect: false }), n: 0 }));
  const entry = e;
  live(() => {
    entry.n++;
    entry.c.connect(); // no-op while connecting or open; afresh if closed
    return () => {
      if (--entry.n) return;
      entry.c.close();
      pool.delete(key);
    };
  });
  return entry.c;
}

/**
 * Calls `handler(data, meta)` for every event `name`, from mount until the current scope is
 * disposed. Returns the function that stops it earlier.
 */
export function usePushEvent<E extends Events, K extends keyof E & string>(
  client: PushClient<E>,
  name: K,
  handler: (data: E[K], meta: Meta) => void,
): () => void {
  return live(() => client.on(name, handler));
}

/**
 * The client's current {@link Status} as a read-only shallow ref, replaced on every change from mount
 * until the current scope is disposed (in server rendering it keeps the status the client had).
 */
export function usePushStatus(client: PushClient<any>): Readonly<ShallowRef<Status>> {
  const status = shallowRef(client.status);
  live(() => client.subscribe((s) => (status.value = s)));
  return status;
}
