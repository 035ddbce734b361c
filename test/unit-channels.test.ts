import { describe, expect, it } from 'vitest';
import { channels as channelsFeature, createChannels } from '../src/client/channels';
import type { ClientInternals } from '../src/client/feature';
import { PushError, type Hello } from '../src/protocol';

/** createChannels with a connection state the test sets, and a record of what it sent and reported. */
function channels(initial?: string[]) {
  const io = {
    open: false,
    closed: false,
    plainServer: undefined as boolean | undefined,
    sent: [] as unknown[],
    changes: 0,
    reported: [] as PushError[],
    isOpen: () => io.open,
    isClosed: () => io.closed,
    send: (text: string) => void io.sent.push(JSON.parse(text)),
    plain: () => io.plainServer,
    changed: () => void io.changes++,
    report: (e: PushError) => void io.reported.push(e),
  };
  return { io, ...createChannels(initial, io) };
}

const hello = (refused?: Record<string, string>): Hello => ({ cid: 'c', epoch: 'e', replay: true, hb: 15000, ...(refused && { refused }) });

/** Whether `p` has settled, and how, without waiting for it to. */
async function settled(p: Promise<unknown>): Promise<string> {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    (e: PushError) => (state = 'rejected ' + e.code),
  );
  await new Promise((r) => setTimeout(r, 0));
  return state;
}

describe('createChannels', () => {
  it('starts with the channels of the options joined', () => {
    expect([...channels(['a', 'b']).joined]).toEqual(['a', 'b']);
    expect(channels().joined.size).toBe(0);
  });

  it('while open, asks the server with a numbered request and settles when it acknowledges', async () => {
    const c = channels();
    c.io.open = true;
    const join = c.join('room');
    const leave = c.leave('lobby');
    expect(c.io.sent).toEqual([
      { e: '$join', d: 'room', r: 1 },
      { e: '$leave', d: 'lobby', r: 2 },
    ]);
    expect([...c.joined]).toEqual(['room']);
    expect(c.io.changes).toBe(2);
    c.ack({ r: 2, ok: true });
    expect(await settled(leave)).toBe('resolved');
    expect(await settled(join)).toBe('pending');
    c.ack({ r: 1, ok: true });
    expect(await settled(join)).toBe('resolved');
  });

  it('leaves a channel it had joined', () => {
    const c = channels(['a', 'b']);
    c.leave('a');
    expect([...c.joined]).toEqual(['b']);
  });

  it('ignores an ack for no request, and a second ack for the same one', async () => {
    const c = channels();
    c.io.open = true;
    const first = c.join('a');
    c.ack({ r: 7, ok: false });
    c.ack({ r: 1, ok: true });
    expect(await settled(first)).toBe('resolved');
    // The same channel again is a new request (r 2): the old ack does not settle it.
    const again = c.join('a');
    c.ack({ r: 1, ok: false });
    expect(await settled(again)).toBe('pending');
    expect([...c.joined]).toEqual(['a']);
    expect(c.io.reported).toEqual([]);
  });

  it('rejects a refused join with JOIN_REFUSED and the reason, and forgets the channel', async () => {
    const c = channels();
    c.io.open = true;
    const join = c.join('vip');
    const other = c.join('free');
    c.ack({ r: 1, ok: false, error: 'not allowed' });
    await expect(join).rejects.toMatchObject({ code: 'JOIN_REFUSED', message: 'join "vip" refused: not allowed' });
    expect([...c.joined]).toEqual(['free']);
    expect(await settled(other)).toBe('pending');
    const unexplained = c.join('x');
    c.ack({ r: 3, ok: false });
    await expect(unexplained).rejects.toThrow('join "x" refused: refused');
  });

  it('asks no more for a refused join: the next hello does not send it again', async () => {
    const c = channels();
    c.io.open = true;
    const join = c.join('vip');
    c.ack({ r: 1, ok: false, error: 'no' });
    await expect(join).rejects.toMatchObject({ code: 'JOIN_REFUSED' });
    c.hello(hello());
    expect(c.io.sent).toHaveLength(1);
  });

  it('takes the acks of a channel joined twice in a row, in any number, without throwing', async () => {
    const c = channels();
    c.io.open = true;
    const first = c.join('a');
    const second = c.join('a');
    expect(await settled(first)).toBe('resolved');
    c.ack({ r: 1, ok: true });
    expect(() => c.ack({ r: 2, ok: true })).not.toThrow();
    expect(await settled(second)).toBe('resolved');
    expect([...c.joined]).toEqual(['a']);
  });

  it('while connecting, sends nothing; the hello sends every pending request, oldest first, renewed last', async () => {
    const c = channels();
    const a = c.join('a');
    c.join('b');
    const aAgain = c.join('a');
    expect(c.io.sent).toEqual([]);
    // Superseded by the newer request for the same channel.
    expect(await settled(a)).toBe('resolved');
    c.io.open = true;
    c.hello(hello());
    expect(c.io.sent).toEqual([
      { e: '$join', d: 'b', r: 1 },
      { e: '$join', d: 'a', r: 2 },
    ]);
    c.ack({ r: 2, ok: true });
    expect(await settled(aAgain)).toBe('resolved');
  });

  it("asks again on every hello until answered, and a hello's new numbers replace the old", async () => {
    const c = channels();
    c.io.open = true;
    const join = c.join('a');
    c.hello(hello());
    expect(c.io.sent).toEqual([
      { e: '$join', d: 'a', r: 1 },
      { e: '$join', d: 'a', r: 2 },
    ]);
    c.ack({ r: 1, ok: false });
    expect(await settled(join)).toBe('pending');
    c.ack({ r: 2, ok: true });
    expect(await settled(join)).toBe('resolved');
    c.hello(hello());
    expect(c.io.sent).toHaveLength(2);
  });

  it("reports the options' channels that a hello says were refused, and rejects a pending join of one", async () => {
    const c = channels(['a', 'b']);
    const pending = c.join('c');
    c.hello(hello({ a: 'no', c: 'never' }));
    expect(c.io.reported).toHaveLength(1);
    expect(c.io.reported[0]).toMatchObject({ code: 'JOIN_REFUSED', message: 'join "a" refused: no' });
    await expect(pending).rejects.toMatchObject({ code: 'JOIN_REFUSED', message: 'join "c" refused: never' });
    expect([...c.joined]).toEqual(['b']);
  });

  it('rejectAll(e) fails every pending request with e; acks after it settle nothing', async () => {
    const c = channels();
    c.io.open = true;
    const requests = [c.join('a'), c.leave('b')];
    const closed = new PushError('CLOSED', 'client is closed');
    c.rejectAll(closed);
    for (const r of requests) await expect(r).rejects.toBe(closed);
    c.ack({ r: 1, ok: false });
    expect(c.io.reported).toEqual([]);
    // Nothing left to ask again.
    c.hello(hello());
    expect(c.io.sent).toHaveLength(2);
  });

  it('rejects a bad channel name, a closed client and a plain server, and changes nothing', async () => {
    const c = channels();
    await expect(c.join('a\nb')).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'join: invalid channel name' });
    await expect(c.leave('')).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'leave: invalid channel name' });
    c.io.plainServer = true;
    await expect(c.join('a')).rejects.toMatchObject({ code: 'SEND_UNSUPPORTED', message: 'a plain server has no channels' });
    c.io.plainServer = false;
    c.io.closed = true;
    await expect(c.join('a')).rejects.toMatchObject({ code: 'CLOSED', message: 'client is closed' });
    expect(c.joined.size).toBe(0);
    expect(c.io.changes).toBe(0);
    c.io.closed = false;
    c.io.open = true;
    c.hello(hello());
    expect(c.io.sent).toEqual([]);
  });
});

/** The client as the channels feature sees it: its state, what it sent, and what it reported. */
function fakeClient(initial?: string[]) {
  const sent: string[] = [];
  const reported: PushError[] = [];
  const client = {} as { channels: string[]; join(channel: string): Promise<void>; leave(channel: string): Promise<void> };
  const internals = {
    client,
    options: { channels: initial },
    state: 'connecting',
    plain: undefined as boolean | undefined,
    reprobes: 0,
    status() {
      return { state: this.state };
    },
    control: (text: string) => void sent.push(text),
    report: (e: PushError) => void reported.push(e),
    reprobe() {
      this.reprobes++;
    },
  };
  const hooks = channelsFeature(internals as unknown as ClientInternals);
  return { client, internals, hooks, sent, reported };
}

describe('the channels feature', () => {
  it('puts join, leave and the channels getter on the client, and every joined channel in each attempt', async () => {
    const { client, hooks } = fakeClient(['a']);
    expect(client.channels).toEqual(['a']);
    void client.join('b');
    expect(client.channels).toEqual(['a', 'b']);
    const params = new URLSearchParams();
    hooks.params!(params);
    expect(params.getAll('ch')).toEqual(['a', 'b']);
    expect([...params.keys()]).toEqual(['ch', 'ch']);
  });

  it('asks only while open, through the client, and an ack settles the request', async () => {
    const { client, internals, hooks, sent } = fakeClient();
    const first = client.join('x');
    expect(sent).toEqual([]); // connecting: the next hello asks
    expect(internals.reprobes).toBe(1); // the upgrade feature is told the set changed
    internals.state = 'open';
    hooks.hello!({ cid: 'c', epoch: 'e', replay: true, hb: 1 } as Hello);
    expect(sent.map((text) => JSON.parse(text))).toEqual([{ e: '$join', d: 'x', r: 1 }]);
    const second = client.leave('y');
    expect(JSON.parse(sent[1])).toEqual({ e: '$leave', d: 'y', r: 2 });
    expect(hooks.control!('$ack', { r: 1, ok: true })).toBe(true);
    await first;
    expect(hooks.control!('$ack', { r: 2, ok: true })).toBe(true);
    await second;
  });

  it('takes only acks with a request number; other control messages are not its own', () => {
    const { hooks } = fakeClient();
    expect(hooks.control!('$other', { r: 1, ok: true })).toBeFalsy();
    expect(hooks.control!('$ack', { ok: true })).toBeFalsy();
    expect(hooks.control!('$ack', 'text')).toBeFalsy();
  });

  it('a plain peer or a close rejects what is pending; joins after close reject with CLOSED', async () => {
    const { client, internals, hooks } = fakeClient();
    const pending = client.join('x');
    hooks.plain!();
    await expect(pending).rejects.toMatchObject({ code: 'SEND_UNSUPPORTED' });
    const again = client.join('y');
    hooks.stopped!(new PushError('CLOSED', 'client closed'));
    await expect(again).rejects.toMatchObject({ code: 'CLOSED' });
    internals.state = 'closed';
    await expect(client.join('z')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('accepts the events of channels this client holds, and no others', () => {
    const { client, hooks } = fakeClient(['a']);
    expect(hooks.accepts!('a')).toBe(true);
    expect(hooks.accepts!('b')).toBe(false);
    void client.leave('a');
    expect(hooks.accepts!('a')).toBe(false);
  });

  it('refuses a join on a plain server at once', async () => {
    const { client, internals } = fakeClient();
    internals.plain = true;
    await expect(client.join('x')).rejects.toMatchObject({ code: 'SEND_UNSUPPORTED' });
  });
});
