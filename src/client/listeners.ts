import type { Emitter } from 'mitt';
import { PushError } from '../protocol';
import type { Lifecycle } from './state';

/** Any function of the app's: an event handler, a status subscriber, a lifecycle listener. */
export type AppFunction = (...args: any[]) => void;

/** Keys of the handler map that no event can have: SSE names an unnamed event `message`, and a line cannot hold `\n`. */
export const ANY = '';
export const STATUS = '\n';

/**
 * The app's handlers and lifecycle listeners, and `callApp`, the one way the client calls the app's
 * code (and a transport's, which may be the app's too): a throw is handled there, and so is re-entry.
 *
 * Re-entry: the app's code may close the client, close and reopen it, or drop the connection (a
 * send that finds it dead) while the client is in the middle of a step that called it. Each of
 * those starts a new turn (the client counts them: a connect pass, a close, a drop; `turn()` reads
 * the count); `callApp` says whether the turn it was called in still holds, and every caller stops
 * as soon as it does not, so nothing is announced or attempted on behalf of a connection that is gone.
 */
export function createListeners(lifecycle: Emitter<Lifecycle>, turn: () => number) {
  /** Event name → handlers; also `ANY` (onAny) and `STATUS` (subscribe). */
  const handlers = new Map<string, Set<AppFunction>>();

  /**
   * Runs `appCode`; a throw goes to `fault`, by default reported as `HANDLER_ERROR` (the other
   * handlers, and the client, go on). Returns whether the caller may go on: `false` when `fault`
   * returned a falsy value, or when the turn changed during the call.
   */
  const callApp = (
    appCode: () => unknown,
    fault: (cause: unknown) => unknown = (cause) => report(new PushError('HANDLER_ERROR', 'a handler threw', { cause })),
  ) => {
    const started = turn();
    try {
      appCode();
    } catch (cause) {
      if (!fault(cause)) return false;
    }
    return started === turn();
  };

  /**
   * mitt's emit, with each listener run on its own (mitt's stops at the first throw), until one of
   * them ends the turn. An `error` listener's throw is not reported: it would loop.
   */
  const notify = <K extends keyof Lifecycle>(name: K, value: Lifecycle[K]): boolean => {
    const call = (key: string, args: unknown[]) =>
      ((lifecycle.all.get(key as K) || []).slice() as AppFunction[]).every((listener) =>
        callApp(() => listener(...args), name === 'error' ? () => true : undefined),
      );
    return call(name, [value]) && call('*', [name, value]);
  };

  const report = (e: PushError) => notify('error', e);

  /** Calls the handlers of `name` until one of them ends the turn; returns whether it holds. */
  const dispatch = (name: string, ...args: unknown[]): boolean => {
    for (const handler of handlers.get(name) || []) if (!callApp(() => handler(...args))) return false;
    return true;
  };

  const on = (name: string, handler: AppFunction) => {
    (handlers.get(name) || handlers.set(name, new Set()).get(name)!).add(handler);
    return () => void handlers.get(name)?.delete(handler);
  };

  return { handlers, notify, report, dispatch, on, callApp };
}
