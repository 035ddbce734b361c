import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { root } from './size';

/**
 * A bench's child process: `file` under tsx (with `args` after it), in a shell that raises the
 * open-file limit to the hard limit first, on the CPUs of `cpus` (a `taskset` list) when given,
 * talking over IPC. `next(type, ms)` resolves with the next message of that type, or rejects after
 * `ms`.
 */
export function child(
  file: string,
  nodeArgs: string[] = [],
  args: string[] = [],
  cpus?: string,
): ChildProcess & { next(type: string, ms: number): Promise<any> } {
  const pin = cpus ? `taskset -c ${cpus} ` : '';
  const cmd = `ulimit -n "$(ulimit -Hn)"; exec ${pin}"${process.execPath}" --import tsx ${nodeArgs.join(' ')} "${path.join(root, file)}" ${args.join(' ')}`;
  const c = spawn('sh', ['-c', cmd], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }) as any;
  const queue: any[] = [];
  const waiters: { type: string; resolve: (m: any) => void }[] = [];
  c.on('message', (m: any) => {
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else queue.push(m);
  });
  c.next = (type: string, ms: number) => {
    const q = queue.findIndex((m) => m.type === type);
    if (q >= 0) return Promise.resolve(queue.splice(q, 1)[0]);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = waiters.findIndex((x) => x.resolve === ok);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`no '${type}' from ${file} within ${ms} ms`));
      }, ms);
      const ok = (m: any) => {
        clearTimeout(t);
        resolve(m);
      };
      waiters.push({ type, resolve: ok });
    });
  };
  return c;
}

/** A server child's answer to `{ type: 'memory' }`, after GC. */
export interface MemoryReport {
  rss: number;
  heap: number;
  external: number;
}

/** Bytes per connection between an idle server and one holding `held` connections: RSS, and JS heap plus buffers. */
export function perConnection(idle: MemoryReport, full: MemoryReport, held: number): { rssPer: number; heapPer: number } {
  return { rssPer: (full.rss - idle.rss) / held, heapPer: (full.heap + full.external - idle.heap - idle.external) / held };
}
