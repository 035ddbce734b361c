import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * How a bench splits this machine's CPUs between a server and its clients: the server on CPU 0, the
 * clients on the others, as on two machines. Undefined (unpinned: both take turns on every CPU) with
 * BENCH_PIN=0, on one CPU, or without `taskset`.
 */
export function cpuSplit(): { server: string; clients: string } | undefined {
  const cpus = os.availableParallelism();
  if (process.env.BENCH_PIN === '0' || cpus < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { server: '0', clients: `1-${cpus - 1}` };
}
