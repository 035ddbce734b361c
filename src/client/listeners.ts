import type { Emitter } from 'mitt';
import { PushError } from '../protocol';
import type { Lifecycle } from './state';

/** Any function of the app's: an event handler, a status subscriber, a lifecycle listener. */
export type AppFunction = (...args: any[]) => void;

/** Keys of the handler map that no event can have: SSE names an unnamed event `message`, and a line cannot hold `\n`. */
export const ANY = '';
export const STATUS = '\n';

/**
 * The app's handlers and lifecycle listeners, and the one place where the client calls them: each
 * runs on its own, and a throw is reported as `HANDLER_ERROR` while the others, and the client, go on.
 */
export function createListeners(lifecycle: Emitter<Lifecycle>) {
  /** Event name → handlers; also `ANY` (onAny) and `STATUS` (subscribe). */
  const handlers = new Map<string, Set<AppFunction>>();

  /** `lifecycleName` is the notification being given, if any: an `error` listener's throw is not reported, it would loop. */
  const callApp = (lifecycleName: string, handler: AppFunction, args: unknown[]) => {
    try {
      handler(...args);
    } catch (cause) {
      if (lifecycleName !== 'error') notify('error', new PushError('HANDLER_ERROR', 'a handler threw', { cause }));
    }
  };

  /** mitt's emit, with each listener run on its own (mitt's stops at the first throw). */
  const notify = <K extends keyof Lifecycle>(name: K, value: Lifecycle[K]) => {
    lifecycle.all
      .get(name)
      ?.slice()
      .forEach((listener) => callApp(name, listener as AppFunction, [value]));
    lifecycle.all
      .get('*')
      ?.slice()
      .forEach((listener) => callApp(name, listener as AppFunction, [name, value]));
  };

  const dispatch = (name: string, ...args: unknown[]) => handlers.get(name)?.forEach((handler) => callApp('', handler, args));

  const on = (name: string, handler: AppFunction) => {
    (handlers.get(name) || handlers.set(name, new Set()).get(name)!).add(handler);
    return () => void handlers.get(name)?.delete(handler);
  };

  return { handlers, notify, dispatch, on };
}
