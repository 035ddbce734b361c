import { describe, expect, it } from 'vitest';
import { createSending } from '../src/client/sending';
import type { PushError } from '../src/protocol';

/** createSending with a state the test sets, and a record of what went out. */
function sending(maxQueued = 10) {
  const io = {
    current: 'connecting',
    sent: [] as [string, unknown, string | undefined][],
    touches: 0,
    /** What transmit answers: resolved unless set. */
    transmitted: Promise.resolve() as Promise<void>,
    state: () => io.current,
    transmit(event: string, data: unknown, json: string | undefined) {
      io.sent.push([event, data, json]);
      return io.transmitted;
    },
    touch: () => void io.touches++,
  };
  return { io, ...createSending(maxQueued, io) };
}

describe('createSending', () => {
  it('sends at once while open, serialised, and resolves when the transport took it', async () => {
    const s = sending();
    s.io.current = 'open';
    await expect(s.send('chat', { a: 1 })).resolves.toBeUndefined();
    await s.send('ping');
    expect(s.io.sent).toEqual([
      ['chat', { a: 1 }, '{"a":1}'],
      ['ping', undefined, undefined],
    ]);
    expect(s.io.touches).toBe(2);
  });

  it("rejects with the transport's error when the transmit fails", async () => {
    const s = sending();
    s.io.current = 'open';
    const lost = new Error('socket gone');
    s.io.transmitted = Promise.reject(lost);
    s.io.transmitted.catch(() => {});
    await expect(s.send('chat', 1)).rejects.toBe(lost);
  });

  it('keeps sends made while connecting, and sends them in order on flush()', async () => {
    const s = sending();
    const first = s.send('a', 1);
    const second = s.send('b', 2);
    expect(s.io.sent).toEqual([]);
    s.flush();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(s.io.sent.map(([event]) => event)).toEqual(['a', 'b']);
    // The queue went out once: a second flush sends nothing again.
    s.flush();
    expect(s.io.sent).toHaveLength(2);
  });

  it('serialises at send(): what the app changes afterwards does not go out', async () => {
    const s = sending();
    const data = { n: 1 };
    const sent = s.send('a', data);
    data.n = 2;
    s.flush();
    await sent;
    expect(s.io.sent[0][2]).toBe('{"n":1}');
  });

  it('rejects every queued send with the error given to flush(e), and sends none', async () => {
    const s = sending();
    const queued = [s.send('a'), s.send('b')];
    const closed = { code: 'CLOSED' } as PushError;
    s.flush(closed);
    for (const q of queued) await expect(q).rejects.toBe(closed);
    expect(s.io.sent).toEqual([]);
  });

  it('queues up to maxQueued, then rejects with QUEUE_FULL', async () => {
    const s = sending(2);
    s.send('a');
    s.send('b');
    await expect(s.send('c')).rejects.toMatchObject({ code: 'QUEUE_FULL', message: '2 sends already queued' });
    s.flush();
    // Room again once the queue went out.
    const later = [s.send('d'), s.send('e')];
    await expect(s.send('f')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    s.flush();
    await Promise.all(later);
    expect(s.io.sent.map(([event]) => event)).toEqual(['a', 'b', 'd', 'e']);
  });

  it('queues nothing when maxQueued is 0', async () => {
    await expect(sending(0).send('a')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
  });

  it('rejects, before anything else, a bad event name, a closed client and data that is not JSON', async () => {
    const s = sending();
    await expect(s.send('$join')).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'send: invalid event name' });
    await expect(s.send('a', 1n)).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'send: data is not JSON', cause: expect.any(TypeError) });
    s.io.current = 'closed';
    await expect(s.send('a', 1)).rejects.toMatchObject({ code: 'CLOSED', message: 'client is closed' });
    // None of them counted as activity or reached the transport.
    expect(s.io.touches).toBe(0);
    s.flush();
    expect(s.io.sent).toEqual([]);
  });
});
