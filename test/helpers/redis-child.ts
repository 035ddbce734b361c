/**
 * A push server with the Redis backplane in its own process, for the scale-out tests: started by
 * `forkRedisPush` in ./redis.ts with its options as argv[2], driven over IPC.
 */
import { startRedisPush, type RedisPushOptions } from './redis';

const o = JSON.parse(process.argv[2]) as RedisPushOptions;

async function main(): Promise<void> {
  const p = await startRedisPush(o, { onError: (e) => console.error('child push server:', e) });
  const ops: Record<string, (...a: any[]) => Promise<unknown>> = {
    publish: (event, from, count, opts) => p.publish(event, from, count, opts ?? undefined),
    sendTo: (cid, event, data) => p.sendTo(cid, event, data),
    connectionIds: () => p.connectionIds(),
    said: () => p.said(),
    stop: async () => {
      await p.stop();
      setImmediate(() => process.exit(0));
    },
  };
  process.on('message', (m: { r: number; op: string; args: unknown[] }) => {
    const f = ops[m.op];
    (f ? f(...m.args) : Promise.reject(new Error('unknown op ' + m.op))).then(
      (value) => process.send!({ r: m.r, value }),
      (err: unknown) => process.send!({ r: m.r, error: String((err as Error)?.message ?? err) }),
    );
  });
  // The parent went away (a crashed test run): do not linger.
  process.on('disconnect', () => process.exit(0));
  process.send!({ port: p.port });
}

main().catch((err: unknown) => {
  process.send?.({ error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
