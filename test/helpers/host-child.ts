/**
 * Run by Bun or Deno (`bun test/helpers/host-child.ts bun`, `deno run -A test/helpers/host-child.ts
 * deno`): starts that host's example (examples/hosts/) on a free port and takes commands from the
 * test on stdin, one JSON object per line, answering each on stdout with its `seq`. The first line
 * out is `{ "ready": <push URL> }`. With `STATIC_DIR` set, the app's other routes serve the files
 * of that folder (`/` is `index.html`), so a browser page is of the push server's origin.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Started } from '../../examples/hosts/bun';

type Command = { seq: number; op: string; [key: string]: any };

const runtime = process.argv[2];
const { start } = (await (runtime === 'bun' ? import('../../examples/hosts/bun') : import('../../examples/hosts/deno'))) as {
  start: (options: object) => Started;
};

const staticDir = process.env.STATIC_DIR;
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8' };
async function app(request: Request): Promise<Response> {
  const name = new URL(request.url).pathname.slice(1) || 'index.html';
  if (!staticDir || !/^[\w.-]+$/.test(name)) return new Response('not found', { status: 404 });
  try {
    return new Response(await readFile(`${staticDir}/${name}`), { headers: { 'content-type': TYPES[name.split('.').pop()!] ?? 'text/plain' } });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

const options = JSON.parse(process.env.PUSH_OPTIONS ?? '{}');
const started = start({ port: 0, app, options });
const { push } = started;
const messages: unknown[] = [];
push.onMessage((event, data, conn) => void messages.push([event, data, conn.transport, conn.id]));

const out = (reply: object): void => void process.stdout.write(JSON.stringify(reply) + '\n');

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'publish':
      return push.publish(command.event, command.data, command.channel ? { channel: command.channel } : undefined);
    case 'publishRange':
      // Events 0..count-1, published without waiting on each (a burst in one tick).
      for (let i = 0; i < command.count; i++) void push.publish(command.event, i);
      return push.publish(command.event + ':end', command.count);
    case 'connections':
      return push.connections.map((c) => ({ id: c.id, transport: c.transport }));
    case 'sendTo':
      return push.sendTo(command.id, command.event, command.data);
    case 'closeConnections':
      for (const c of push.connections) c.close();
      return push.connections.length;
    case 'messages':
      return messages;
    case 'close':
      await started.close();
      return true;
    default:
      throw new Error('unknown op ' + command.op);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = JSON.parse(line) as Command;
  run(command).then(
    (result) => {
      out({ seq: command.seq, result: result ?? null });
      // After close nothing of the push server may keep the process alive: the test ends stdin
      // then, so the process ends by itself only if everything was released (the test waits for that).
      if (command.op === 'close') lines.close();
    },
    (err: unknown) => out({ seq: command.seq, error: String(err) }),
  );
});
out({ ready: started.url });
