/**
 * Issue 21, "the client can wedge": the app's code (reconnect policy, handlers, subscribers,
 * listeners, `decode`, `query`/`headers` functions) and a transport's `create`/`connect` may throw
 * or reject. The client reports it as a `PushError` on `lifecycle.error`, goes on to the next
 * transport or the next attempt as the failure demands (or closes, for a policy that throws), and
 * never leaves an unhandled rejection nor stays in `connecting`. Against real servers on 127.0.0.1;
 * the property test at the end drives a client whose every callback may throw or re-enter.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PushError, longPoll, webSocket, type PushClientOptions, type TransportDefinition } from '../src';
import { BUILT_IN } from '../src/client/named-transports';
import { PushClient } from '../src/node';
import type { Status } from '../src/client/state';
import { cleanups, until } from './helpers/net';
import { opened, startPush } from './helpers/push';

const cleanup = cleanups();
afterEach(() => cleanup.run());

/** Unhandled rejections seen while a test runs (vitest would only fail the run as a whole). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));
afterEach(() => void (unhandled.length = 0));
/** After the microtasks and the next macrotask: Node has reported every rejection left unhandled so far. */
const rejectionsReported = () => new Promise((resolve) => setImmediate(resolve));

async function server() {
  const s = await startPush({ retryMs: 0 });
  cleanup.add(() => s.stop());
  return s;
}

function client(url: string, options: PushClientOptions) {
  const c = new PushClient(url, { reconnect: { minDelay: 10, maxDelay: 20 }, ...options });
  cleanup.add(() => c.close());
  return c;
}

/** What the lifecycle said, in order, as `name` or `name: CODE message`. */
function record(c: PushClient) {
  const heard: string[] = [];
  c.lifecycle.on('*', (name, value) => heard.push(value instanceof PushError ? `${name}: ${value.code} ${value.message}` : name));
  return heard;
}

/** A built-in transport under another name whose `create` or `connect` throws (or rejects). */
function broken(part: 'create' | 'connect' | 'connect async', bug = new Error('transport bug')): TransportDefinition {
  return {
    ...webSocket,
    name: 'broken',
    create(options) {
      if (part === 'create') throw bug;
      const transport = webSocket.create(options);
      transport.connect =
        part === 'connect'
          ? () => {
              throw bug;
            }
          : // A connect written as an async function: its throw is a rejected promise the client must catch.
            ((async () => {
              throw bug;
            }) as () => void);
      return transport;
    },
  };
}

describe('a reconnect policy that throws', () => {
  it('is reported with its cause, and the client closes with that error: never stuck in connecting, no unhandled rejection', async () => {
    const s = await server();
    s.gate.ws = false; // every attempt fails, so the policy is asked
    const bug = new Error('policy bug');
    const c = client(s.url, {
      transports: ['websocket'],
      reconnect: () => {
        throw bug;
      },
    });
    const heard = record(c);
    await until(() => c.status.state === 'closed', 3000, 'closed');
    expect(c.status.error).toMatchObject({ code: 'HANDLER_ERROR', message: 'reconnect policy threw', cause: bug });
    expect(heard).toEqual(['attempt', 'error: HANDLER_ERROR reconnect policy threw', 'close']);
    await rejectionsReported();
    expect(unhandled).toEqual([]);
    // And it starts afresh on connect(), as after any close.
    s.gate.ws = true;
    c.connect();
    await opened(c);
  });

  it('a policy that throws after some delays: the client reconnects until then, then closes', async () => {
    const s = await server();
    s.gate.ws = false;
    const c = client(s.url, {
      transports: ['websocket'],
      reconnect: ({ attempt }) => {
        if (attempt === 2) throw new Error('policy bug');
        return 10;
      },
    });
    const heard = record(c);
    await until(() => c.status.state === 'closed', 3000, 'closed');
    expect(heard.filter((h) => h !== 'attempt')).toEqual(['reconnecting', 'reconnecting', 'error: HANDLER_ERROR reconnect policy threw', 'close']);
  });
});

describe.each(['create', 'connect', 'connect async'] as const)('a transport whose %s throws', (part) => {
  it('is reported, and the next transport in the list opens', async () => {
    const s = await server();
    const bug = new Error('transport bug');
    const c = client(s.url, { transports: [broken(part, bug), longPoll] });
    const errors: PushError[] = [];
    c.lifecycle.on('error', (e) => errors.push(e));
    await opened(c);
    expect(c.status.transport).toBe('longpoll');
    expect(errors).toEqual([expect.objectContaining({ code: 'TRANSPORT_FAILED', message: 'broken threw', cause: bug })]);
    await rejectionsReported();
    expect(unhandled).toEqual([]);
  });

  it('alone in the list: the client goes on by its policy, and closes when the policy gives up', async () => {
    await server();
    const c = client('http://127.0.0.1:9/push', { transports: [broken(part)], reconnect: ({ attempt }) => (attempt < 2 ? 10 : null) });
    const heard = record(c);
    await until(() => c.status.state === 'closed', 3000, 'closed');
    expect(c.status.error?.code).toBe('MAX_RETRIES');
    expect(heard.filter((h) => h.startsWith('error') || h === 'reconnecting' || h === 'close')).toEqual([
      'error: TRANSPORT_FAILED broken threw',
      'reconnecting',
      'error: TRANSPORT_FAILED broken threw',
      'reconnecting',
      'error: TRANSPORT_FAILED broken threw',
      'close',
    ]);
    await rejectionsReported();
    expect(unhandled).toEqual([]);
  });
});

describe("the app's other functions that throw", () => {
  it('a query or headers function that throws or rejects: reported, and the next attempt follows', async () => {
    const s = await server();
    let calls = 0;
    const c = client(s.url, {
      transports: ['longpoll'],
      autoConnect: false,
      query: () => {
        calls++;
        if (calls === 1) throw new Error('no token yet');
        return { token: 't' };
      },
      headers: async () => {
        if (calls === 2) throw new Error('no header yet');
        return {};
      },
    });
    const heard = record(c);
    c.connect();
    await opened(c);
    expect(heard.filter((h) => h !== 'attempt' && h !== 'transport')).toEqual([
      'error: TRANSPORT_FAILED query or headers threw',
      'reconnecting',
      'error: TRANSPORT_FAILED query or headers threw',
      'reconnecting',
      'open',
    ]);
  });

  it('a decode that throws is reported as BAD_FRAME and its event skipped; one that closes the client: no handler is called', async () => {
    const s = await server();
    const c: PushClient = client(s.url, {
      transports: ['websocket'],
      decode: (payload) => {
        if (payload === '"bad"') throw new Error('cannot');
        if (payload === '"close"') c.close();
        return JSON.parse(payload);
      },
    });
    const errors: string[] = [];
    c.lifecycle.on('error', (e) => errors.push(`${e.code} ${e.message}`));
    const got: unknown[] = [];
    c.on('x', (d) => got.push(d));
    c.onAny((_event, d) => got.push(`onAny ${d}`));
    await opened(c);
    await s.push.publish('x', 'bad');
    await s.push.publish('x', 'good');
    await until(() => got.length === 2, 3000, 'the good event');
    await s.push.publish('x', 'close');
    await until(() => c.status.state === 'closed', 3000, 'closed');
    expect(got).toEqual(['good', 'onAny good']);
    expect(errors).toEqual(['BAD_FRAME cannot decode "x"']);
  });
});

describe('a client whose every callback may throw or re-enter (property)', () => {
  const seed = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {};
  /** What one callback does when called: nothing, throw, close the client, or close and connect it again (once per run each). */
  const behaviour = fc.oneof(
    { arbitrary: fc.constant('ok'), weight: 12 },
    { arbitrary: fc.constant('throw'), weight: 6 },
    { arbitrary: fc.constant('close'), weight: 1 },
    { arbitrary: fc.constant('reopen'), weight: 1 },
  );
  const CALLBACKS = ['policy', 'handler', 'onAny', 'subscriber', 'lifecycle', 'wildcard', 'decode', 'query', 'headers', 'create', 'connect'] as const;
  type Plan = Record<(typeof CALLBACKS)[number], string>;

  let s: Awaited<ReturnType<typeof startPush>>;
  beforeAll(async () => (s = await startPush({ retryMs: 0 })));
  afterAll(() => s.stop());

  it('always ends open (and delivering) or closed, never stuck, and leaves no unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(CALLBACKS.map((name) => [name, behaviour])) as { [K in keyof Plan]: fc.Arbitrary<string> }),
        fc.constantFrom<('websocket' | 'eventsource' | 'longpoll')[]>(['websocket', 'eventsource', 'longpoll'], ['eventsource', 'longpoll'], ['longpoll']),
        async (plan: Plan, names) => {
          const used = new Set<string>();
          let c: PushClient | undefined;
          /** Does what `plan` says for `callback`; re-entry happens once per run, throws every time. */
          const act = (callback: keyof Plan) => {
            const what = plan[callback];
            if (what === 'throw') throw new Error(`${callback} bug`);
            if (what === 'ok' || used.has(callback) || !c) return;
            used.add(callback);
            c.close();
            if (what === 'reopen') c.connect();
          };
          const flaky = (definition: TransportDefinition): TransportDefinition => ({
            ...definition,
            create(options) {
              act('create');
              const transport = definition.create(options);
              const connect = transport.connect;
              transport.connect = () => (act('connect'), connect.call(transport));
              return transport;
            },
          });
          c = new PushClient(s.url, {
            autoConnect: false,
            transports: names.map((name) => flaky(BUILT_IN[name])),
            connectTimeout: 300,
            rememberTransport: 0,
            upgradeInterval: 0,
            reconnect: ({ attempt }) => (act('policy'), attempt < 2 ? 5 : null),
            decode: (payload) => (act('decode'), JSON.parse(payload)),
            query: () => (act('query'), {}),
            headers: async () => (act('headers'), {}),
          });
          const client = c;
          /** Whether a tick reached the client since it opened: delivered, or reported as undecodable. */
          let reached = false;
          client.on('tick', () => act('handler'));
          client.onAny(() => ((reached = true), act('onAny')));
          client.lifecycle.on('error', (e) => e.code === 'BAD_FRAME' && (reached = true));
          client.subscribe((st: Status) => st.state !== 'idle' && act('subscriber'));
          client.lifecycle.on('open', () => act('lifecycle'));
          client.lifecycle.on('*', (name) => name === 'reconnecting' && act('wildcard'));
          try {
            client.connect();
            const settled = () => client.status.state === 'closed' || (client.status.state === 'open' && reached);
            const deadline = Date.now() + 900;
            while (!settled()) {
              if (Date.now() > deadline) throw new Error(`stuck: ${JSON.stringify(client.status)} after ${JSON.stringify(plan)}`);
              if (client.status.state === 'open') await s.push.publish('tick', 1);
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            await rejectionsReported();
            expect(unhandled).toEqual([]);
          } finally {
            client.close();
          }
        },
      ),
      { numRuns: 30, ...seed },
    );
  });
});
