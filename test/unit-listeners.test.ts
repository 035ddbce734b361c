import mitt from 'mitt';
import { describe, expect, it } from 'vitest';
import { ANY, STATUS, createListeners } from '../src/client/listeners';
import type { Lifecycle } from '../src/client/state';
import { PushError, isEventName } from '../src/protocol';

/** The listeners of a client whose turn (bumped when it closes or reconnects) is `turn`. */
function listeners() {
  const lifecycle = mitt<Lifecycle>();
  const state = { turn: 0 };
  return { lifecycle, state, ...createListeners(lifecycle, () => state.turn) };
}

describe('createListeners', () => {
  it('keys onAny and subscribe handlers by names that no event can have', () => {
    expect(isEventName(ANY)).toBe(false);
    expect(isEventName(STATUS)).toBe(false);
    expect(ANY).not.toBe(STATUS);
  });

  it('notify() calls the listeners of that notification, then the wildcard ones with its name', () => {
    const l = listeners();
    const calls: unknown[] = [];
    l.lifecycle.on('*', (name, value) => calls.push(['*', name, value]));
    l.lifecycle.on('gap', (value) => calls.push(['gap', value]));
    l.lifecycle.on('close', () => calls.push(['close']));
    l.notify('gap', { lastEventId: '7' });
    expect(calls).toEqual([
      ['gap', { lastEventId: '7' }],
      ['*', 'gap', { lastEventId: '7' }],
    ]);
    // No listener at all is no error.
    listeners().notify('gap', {});
  });

  it('runs every listener although one throws, and reports the throw as an error notification with its cause', () => {
    const l = listeners();
    const boom = new Error('boom');
    const calls: string[] = [];
    const errors: PushError[] = [];
    l.lifecycle.on('error', (e) => errors.push(e));
    l.lifecycle.on('gap', () => {
      throw boom;
    });
    l.lifecycle.on('gap', () => calls.push('second'));
    l.lifecycle.on('*', (name) => {
      if (name === 'gap') throw boom;
    });
    l.notify('gap', {});
    expect(calls).toEqual(['second']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(PushError);
    expect(errors[0]).toMatchObject({ code: 'HANDLER_ERROR', message: 'a handler threw', cause: boom });
  });

  it("does not report an error listener's own throw (it would loop), and still runs the others", () => {
    const l = listeners();
    let thrown = 0;
    let after = 0;
    l.lifecycle.on('error', () => {
      thrown++;
      throw new Error('again');
    });
    l.lifecycle.on('error', () => void after++);
    l.notify('error', new PushError('HANDLER_ERROR', 'x'));
    expect([thrown, after]).toEqual([1, 1]);
  });

  it('a listener that removes itself during a notification does not make the next one miss it', () => {
    const l = listeners();
    const calls: string[] = [];
    const once = () => {
      calls.push('once');
      l.lifecycle.off('gap', once);
    };
    const onceAny = () => {
      calls.push('onceAny');
      l.lifecycle.off('*', onceAny);
    };
    l.lifecycle.on('gap', once);
    l.lifecycle.on('gap', () => calls.push('next'));
    l.lifecycle.on('*', onceAny);
    l.lifecycle.on('*', () => calls.push('nextAny'));
    l.notify('gap', {});
    expect(calls).toEqual(['once', 'next', 'onceAny', 'nextAny']);
  });

  it('dispatch() calls the handlers of a name with its arguments; a throw is reported and the others run', () => {
    const l = listeners();
    const calls: unknown[][] = [];
    const errors: PushError[] = [];
    l.lifecycle.on('error', (e) => errors.push(e));
    l.on('price', () => {
      throw new Error('bad handler');
    });
    l.on('price', (...args) => calls.push(args));
    l.on('other', () => calls.push(['other']));
    l.dispatch('price', 1, 'x');
    l.dispatch('nobody', 1);
    expect(calls).toEqual([[1, 'x']]);
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_ERROR']);
  });

  it('on() returns the function that removes that handler only', () => {
    const l = listeners();
    const calls: string[] = [];
    const offA = l.on('e', () => calls.push('a'));
    l.on('e', () => calls.push('b'));
    l.dispatch('e');
    offA();
    offA();
    l.dispatch('e');
    expect(calls).toEqual(['a', 'b', 'b']);
    expect(l.handlers.get('e')?.size).toBe(1);
  });
});
