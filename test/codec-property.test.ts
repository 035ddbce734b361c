/**
 * Issue 4: property-based tests (fast-check) of the wire codec on both sides.
 * - Any input to the SSE parser, to `decodeFrame` and to `parseClientMessages` either decodes or is
 *   rejected with a typed `PushError`, never another exception; the parser gives the same events
 *   however its input is split.
 * - `encodeEvent` then parse + `decodeFrame` is the identity for any valid event name, id, channel
 *   and data (line breaks in data come back as `\n`, as SSE defines), whatever the split.
 * - `encodeBatchLine` + `encodeBatch` then parse + `unbatch` + `decodeFrame` is the identity for
 *   every event that fits one line, and `unbatch` drops, never throws on, lines that are not events.
 * - `encodeClientMessage` then `parseClientMessages` is the identity for any valid message or batch.
 * A failure prints fast-check's seed and the shrunk input; `FC_SEED=<seed>` replays it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JOIN,
  LEAVE,
  PushError,
  SseParser,
  decodeFrame,
  parseEvents,
  encodeBatch,
  encodeBatchLine,
  encodeClientMessage,
  encodeEvent,
  isBatch,
  unbatch,
  isChannelName,
  isEventName,
  parseClientMessages,
  type ClientMessage,
  type SseEvent,
} from '../src/protocol';

const seed = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {};
/** `FC_MAX_RUNS` caps every property's runs: mutation testing (vitest.mutate.config.ts) runs them once per mutant. */
const maxRuns = Number(process.env.FC_MAX_RUNS) || Infinity;
const runs = (numRuns: number) => ({ numRuns: Math.min(numRuns, maxRuns), ...seed });

/** Runs `f`; returns its value, or the PushError it threw. Any other exception fails the property. */
function typed<T>(f: () => T, codes: string[]): T | PushError {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof PushError)) throw new Error(`not a PushError: ${String(e)}`, { cause: e });
    expect(codes).toContain(e.code);
    expect(e.message.length).toBeGreaterThan(0);
    return e;
  }
}

/** Text made of the pieces that matter to SSE, mixed with anything at all. */
const sseish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'data:',
        'data: ',
        'id:',
        'id: ',
        'event:',
        'retry:',
        'retry: 12',
        ':',
        ': hb',
        '\n',
        '\r',
        '\r\n',
        '\n\n',
        '\0',
        ' ',
        '$hello',
        '\t',
        '$ack',
        '{',
        '}',
        '\uFEFF',
      ),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 10 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

/** Splits `text` at the given cut points. */
function split(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(text.slice(prev, c));
    prev = c;
  }
  out.push(text.slice(prev));
  return out;
}

/** Feeds chunks to a parser; collects events, comments and the errors it threw. */
function parse(chunks: string[], maxLine?: number) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const errors: PushError[] = [];
  const p = new SseParser(
    (e) => events.push(e),
    (c) => comments.push(c),
    maxLine,
  );
  for (const c of chunks) {
    const r = typed(() => p.push(c), ['TOO_LARGE']);
    if (r instanceof PushError) errors.push(r);
  }
  return { events, comments, errors, dropped: p.dropped };
}

describe('SseParser on any input', () => {
  it('never throws anything but TOO_LARGE, and gives the same events however the input is split', () => {
    fc.assert(
      fc.property(sseish, fc.array(fc.nat(), { maxLength: 8 }), fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), (text, cuts, maxLine) => {
        const whole = parse([text], maxLine);
        const pieces = parse(split(text, cuts), maxLine);
        expect(pieces.events).toEqual(whole.events);
        expect(pieces.dropped).toBe(whole.dropped);
        if (maxLine === undefined) expect(whole.errors).toEqual([]);
        for (const e of whole.events) {
          expect(typeof e.data).toBe('string');
          if (e.id !== undefined) expect(e.id).not.toMatch(/[\0\r\n]/);
          // The parser takes only a line `retry:` + digits: the value must be one the input wrote so.
          if (e.retry !== undefined) expect(text).toMatch(new RegExp(`(^|[\r\n])retry: ?0*${e.retry}(\r|\n|$)`));
          if (maxLine !== undefined) expect(e.data.length).toBeLessThanOrEqual(maxLine);
        }
      }),
      runs(2000),
    );
  });

  it('keeps no line longer than maxLine in memory, and goes on after one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 5000 }), fc.array(fc.nat(), { maxLength: 6 }), (maxLine, long, cuts) => {
        const good = 'data: ok\n\n';
        const max = Math.max(maxLine, good.length);
        const text = 'data: ' + 'x'.repeat(max + long) + '\n\n' + good;
        const r = parse(split(text, cuts), max);
        expect(r.errors.map((e) => e.code)).toEqual(['TOO_LARGE']);
        expect(r.events).toEqual([{ event: 'message', data: 'ok' }]);
        expect(r.dropped).toBe(1);
      }),
      runs(500),
    );
  });
});

describe('parseEvents on any whole text', () => {
  it('gives what SseParser gives for the same text ended by a blank line, and counts the events over max it dropped', () => {
    fc.assert(
      fc.property(sseish, fc.integer({ min: 1, max: 80 }), (text, max) => {
        const events: SseEvent[] = [];
        // parseEvents reads a whole text whose decoder dropped its BOM; the stream parser drops the stream's first U+FEFF itself.
        const whole = text.startsWith('\uFEFF') ? text.slice(1) : text;
        const dropped = parseEvents(whole, max, ({ head, body, ...e }) => {
          if (body !== undefined) expect(head + '\n' + body).toBe(e.data);
          events.push(e);
        });
        // The blank line ends the stream parser's last event, as the end of the text ends parseEvents'.
        const ref = parse([text + '\n\n'], max);
        expect(events).toEqual(ref.events);
        expect(dropped).toBe(ref.dropped);
      }),
      runs(2000),
    );
  });
});

describe('decodeFrame on any event', () => {
  it('decodes or throws BAD_FRAME', () => {
    fc.assert(
      fc.property(
        fc.record(
          { event: fc.string(), data: fc.string({ unit: 'binary' }), id: fc.option(fc.string(), { nil: undefined }) },
          { requiredKeys: ['event', 'data'] },
        ),
        (e) => {
          const f = typed(() => decodeFrame(e as SseEvent), ['BAD_FRAME']);
          if (f instanceof PushError) return;
          expect(f.event.length).toBeGreaterThan(0);
          expect(f.event + (f.channel === undefined ? '' : '\t' + f.channel) + (e.data.includes('\n') ? '\n' + f.data : '')).toBe(e.data);
        },
      ),
      runs(2000),
    );
  });

  it('decodes or throws BAD_FRAME on whatever the parser makes of any text', () => {
    fc.assert(
      fc.property(sseish, (text) => {
        for (const e of parse([text]).events) typed(() => decodeFrame(e), ['BAD_FRAME']);
      }),
      runs(1000),
    );
  });
});

// Valid names, ids, channels: what publish() and the backplanes accept and produce.
const eventName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter(isEventName);
const channel = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter(isChannelName);
const id = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[\0\r\n]/.test(s));
const data = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.constantFrom('', '\n', '\r\n', 'a\rb', ' x', '\n\n', 'data: x\n\nid: 9'),
);

describe('encodeEvent then parse + decodeFrame', () => {
  it('is the identity for any valid event name, id, channel and data, however the stream is split', () => {
    fc.assert(
      fc.property(
        eventName,
        data,
        fc.option(id, { nil: undefined }),
        fc.option(channel, { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (event, d, i, ch, cuts) => {
          const text = encodeEvent(event, d, i, ch);
          const r = parse(split(text, cuts));
          expect(r.events).toHaveLength(1);
          const f = decodeFrame(r.events[0]);
          const expected: Record<string, string> = { event, data: d.replace(/\r\n|\r/g, '\n') };
          if (i !== undefined) expected.id = i;
          if (ch !== undefined) expected.channel = ch;
          expect(f).toEqual(expected);
        },
      ),
      runs(2000),
    );
  });

  it('keeps events apart in a stream of many', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(eventName, data, fc.option(id, { nil: undefined })), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (list, cuts) => {
          const text = list.map(([e, d, i]) => encodeEvent(e, d, i)).join('');
          const got = parse(split(text, cuts)).events.map((e) => decodeFrame(e));
          expect(got.map((f) => [f.event, f.data, f.id])).toEqual(list.map(([e, d, i]) => [e, d.replace(/\r\n|\r/g, '\n'), i]));
        },
      ),
      runs(500),
    );
  });
});

describe('encodeBatchLine + encodeBatch then parse + unbatch + decodeFrame', () => {
  it('is the identity for every event that fits one line, and leaves out exactly those that do not', () => {
    const nonEmptyId = id.filter((s) => s.length > 0);
    const item = fc.tuple(eventName, data, fc.option(nonEmptyId, { nil: undefined }), fc.option(channel, { nil: undefined }));
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (list, cuts) => {
        const fits = list.filter(([e, d, i, ch]) => {
          const line = encodeBatchLine(e, d, i, ch);
          expect(line === undefined).toBe(/[\r\n]/.test(d) || !!i?.includes('\t'));
          return line !== undefined;
        });
        if (!fits.length) return;
        const text = encodeBatch(fits.map(([e, d, i, ch]) => encodeBatchLine(e, d, i, ch)!));
        const r = parse(split(text, cuts));
        expect(r.events).toHaveLength(1);
        expect(isBatch(r.events[0])).toBe(true);
        // The message's id is the last event id in it (the resume point once all of it was read).
        const ids = fits.map(([, , i]) => i).filter((i) => i !== undefined);
        expect(r.events[0].id).toBe(ids.length ? ids[ids.length - 1] : undefined);
        const frames: unknown[] = [];
        expect(unbatch(r.events[0], Infinity, (inner) => frames.push(decodeFrame(inner)))).toBe(0);
        expect(frames).toEqual(
          fits.map(([event, d, i, ch]) => ({ event, data: d, ...(i !== undefined && { id: i }), ...(ch !== undefined && { channel: ch }) })),
        );
      }),
      runs(1000),
    );
  });

  it('unbatch never throws on any batch text: it gives each well-formed line, and counts the others and those over max', () => {
    fc.assert(
      fc.property(sseish, fc.nat({ max: 40 }), (text, max) => {
        let given = 0;
        const dropped = unbatch({ event: 'message', data: '$batch\n' + text }, max, (inner) => {
          given++;
          expect(typed(() => decodeFrame(inner), ['BAD_FRAME'])).toBeDefined();
        });
        expect(given + dropped).toBe(text.split('\n').length);
      }),
      runs(1000),
    );
  });
});

describe('parseClientMessages on any input', () => {
  const mutated = fc.tuple(fc.json(), fc.nat(), fc.string({ maxLength: 3 })).map(([j, at, s]) => {
    const k = at % (j.length + 1);
    return j.slice(0, k) + s + j.slice(k + 1);
  });
  const messagey = fc
    .record(
      {
        e: fc.oneof(eventName, fc.constantFrom(JOIN, LEAVE, '$x', '', 'a\nb'), fc.anything()),
        d: fc.anything(),
        r: fc.oneof(fc.integer(), fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((m) => {
      try {
        return JSON.stringify(Math.random() < 0.5 ? m : [m, m]) ?? 'null';
      } catch {
        return '{}';
      }
    });

  it('parses or throws BAD_FRAME, for any text, JSON, mutated JSON or near-message', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), mutated, messagey), (text) => {
        const r = typed(() => parseClientMessages(text), ['BAD_FRAME']);
        if (r instanceof PushError) return;
        expect(Array.isArray(r)).toBe(true);
        for (const m of r) {
          expect(isEventName(m.e) || m.e === JOIN || m.e === LEAVE).toBe(true);
          if (m.r !== undefined) expect(Number.isSafeInteger(m.r)).toBe(true);
        }
      }),
      runs(3000),
    );
  });

  it('throws BAD_FRAME, not a stack overflow, on JSON nested very deep', () => {
    for (const depth of [1000, 100_000]) {
      const text = '['.repeat(depth) + ']'.repeat(depth);
      expect(typed(() => parseClientMessages(text), ['BAD_FRAME'])).toBeInstanceOf(PushError);
      const obj = '{"e":"x","d":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + '}';
      typed(() => parseClientMessages(obj), ['BAD_FRAME']);
    }
  });
});

describe('encodeClientMessage then parseClientMessages', () => {
  const message: fc.Arbitrary<ClientMessage> = fc.record(
    { e: fc.oneof(eventName, fc.constantFrom(JOIN, LEAVE)), d: fc.jsonValue(), r: fc.maxSafeInteger().map((n) => n - Math.floor(n / 2)) },
    { requiredKeys: ['e'] },
  );

  it('is the identity for one message and for a batch', () => {
    fc.assert(
      fc.property(message, fc.array(message, { minLength: 1, maxLength: 10 }), (m, batch) => {
        expect(parseClientMessages(encodeClientMessage(m))).toEqual([JSON.parse(JSON.stringify(m))]);
        expect(parseClientMessages(encodeClientMessage(batch))).toEqual(JSON.parse(JSON.stringify(batch)));
        // What the HTTP sender sends: messages encoded one by one, joined into an array.
        expect(parseClientMessages('[' + batch.map((x) => encodeClientMessage(x)).join(',') + ']')).toEqual(JSON.parse(JSON.stringify(batch)));
      }),
      runs(1000),
    );
  });
});
