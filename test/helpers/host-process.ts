import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** The runtimes the `bun` and `deno` npm packages install. */
export const RUNTIMES = {
  bun: { bin: path.join(ROOT, 'node_modules/.bin/bun'), args: ['test/helpers/host-child.ts', 'bun'] },
  deno: {
    bin: path.join(ROOT, 'node_modules/.bin/deno'),
    args: ['run', '-A', '--sloppy-imports', '--unstable-no-legacy-abort', 'test/helpers/host-child.ts', 'deno'],
  },
} as const;

/** A host example (Bun or Deno) running in a child process, driven by test/helpers/host-child.ts. */
export interface HostProcess {
  /** The push URL. */
  readonly url: string;
  readonly origin: string;
  /** Runs a command of host-child.ts in the child and resolves with its result. */
  command<T = any>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Closes the push server and the host's server, then waits for the process to end by itself: ms it took after the answer, or rejects. */
  close(ms?: number): Promise<number>;
  /** Kills the child if it still runs. */
  kill(): void;
}

/**
 * Starts `runtime`'s example in a child process. `env.STATIC_DIR` serves a folder beside the push
 * path; `options` go to `createPushServer` (JSON only).
 */
export async function startHost(
  runtime: keyof typeof RUNTIMES,
  { env = {}, options = {} }: { env?: Record<string, string>; options?: object } = {},
): Promise<HostProcess> {
  const { bin, args } = RUNTIMES[runtime];
  const child: ChildProcess = spawn(bin, args, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env, PUSH_OPTIONS: JSON.stringify(options), NO_COLOR: '1' },
  });
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let seq = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} example did not start within 15 s`)), 15_000);
    void exited.then((code) => reject(new Error(`${runtime} example exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return void process.stderr.write(`[${runtime}] ${line}\n`);
      }
      if (msg.ready) {
        clearTimeout(timer);
        return resolve(msg.ready);
      }
      const w = waiting.get(msg.seq);
      waiting.delete(msg.seq);
      if (msg.error) w?.reject(new Error(msg.error));
      else w?.resolve(msg.result);
    });
  });
  let url: string;
  try {
    url = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const self: HostProcess = {
    url,
    origin: new URL(url).origin,
    command(op, rest = {}) {
      const n = ++seq;
      return new Promise((resolve, reject) => {
        waiting.set(n, { resolve, reject });
        child.stdin!.write(JSON.stringify({ seq: n, op, ...rest }) + '\n');
      });
    },
    async close(ms = 5000) {
      await self.command('close');
      // Deno keeps a process alive while its stdin is open, whatever the child does with it.
      child.stdin!.end();
      const t0 = Date.now();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
      if (code === 'timeout') throw new Error(`${runtime} process still running ${ms} ms after close(): something was not released`);
      return Date.now() - t0;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  return self;
}
