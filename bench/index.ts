/**
 * `npm run bench [-- size|throughput|fallback|recovery|cuts|share|scale|fanout|sse|serverless]`: runs every benchmark in sequence, or
 * the one named. Each prints a Markdown table. Not part of the test suite. Loopback only; every loop
 * is bounded and every server and browser it starts is stopped before it returns.
 * BENCH_QUICK=1 makes each one shorter (fewer runs and samples); BENCH_SMOKE=1 shortest (bench/lib/mode.ts).
 * `--list` prints the names, one a line: test/bench-smoke.test.ts runs each one that way in `npm test`,
 * so a benchmark added here is smoke-tested without more ado.
 */
import os from 'node:os';

const ALL = ['size', 'throughput', 'fallback', 'recovery', 'cuts', 'share', 'scale', 'fanout', 'sse', 'serverless'] as const;
type Name = (typeof ALL)[number];

const load: Record<Name, () => Promise<{ run(): Promise<unknown> }>> = {
  size: () => import('./size'),
  throughput: () => import('./throughput'),
  fallback: () => import('./fallback'),
  recovery: () => import('./recovery'),
  cuts: () => import('./cuts'),
  share: () => import('./share'),
  scale: () => import('./scale'),
  fanout: () => import('./fanout'),
  sse: () => import('./sse-readers'),
  serverless: () => import('./serverless'),
};

const args = process.argv.slice(2);
if (args[0] === '--list') {
  console.log(ALL.join('\n'));
  process.exit(0);
}
const bad = args.filter((a) => !ALL.includes(a as Name));
if (bad.length) {
  console.error(`unknown benchmark ${bad.join(', ')}; choose from: ${ALL.join(', ')}`);
  process.exit(2);
}
const chosen = (args.length ? args : ALL) as Name[];
console.log(
  `# push-client benchmarks: ${chosen.join(', ')}\n\nnode ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
    `${Math.round(os.totalmem() / 2 ** 30)} GiB; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${new Date().toISOString()}`,
);
let failed = 0;
for (const name of chosen) {
  const t0 = Date.now();
  console.log(`\n# ${name}`);
  try {
    const m = await load[name]();
    await m.run();
  } catch (e) {
    failed++;
    console.error(`${name} failed:`, e);
  }
  console.log(`\n(${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
process.exit(failed ? 1 : 0);
