/**
 * `push-client/svelte`: a {@link PushClient} is already a Svelte store of its status (`$client.state`);
 * this adds stores of events. Svelte is an optional peer dependency, and this entry does not import it
 * at run time: it implements the store contract itself.
 *
 * @packageDocumentation
 */
import type { Readable } from 'svelte/store';
import type { PushClient } from '../index';

type Events = Record<string, any>;

/**
 * A readable store of the data of the latest event `name` (`initial` until the first one). It listens
 * to the client only while it has subscribers, and tells them about every event, even one that carries
 * the same value as the last.
 */
export function pushEvent<E extends Events, K extends keyof E & string>(client: PushClient<E>, name: K): Readable<E[K] | undefined>;
/** The same store, holding `initial` until the first event. */
export function pushEvent<E extends Events, K extends keyof E & string>(client: PushClient<E>, name: K, initial: E[K]): Readable<E[K]>;
export function pushEvent<E extends Events, K extends keyof E & string>(client: PushClient<E>, name: K, initial?: E[K]): Readable<E[K] | undefined> {
  let value = initial;
  let off: (() => void) | undefined;
  const subs = new Set<(v: E[K] | undefined) => void>();
  return {
    subscribe(fn) {
      subs.add(fn);
      off ||= client.on(name, (data) => {
        value = data;
        for (const f of subs) f(data);
      });
      fn(value);
      return () => {
        if (subs.delete(fn) && !subs.size) {
          off!();
          off = undefined;
        }
      };
    },
  };
}
