// Scenario 1: N trivial tasks (x => x + 1) in flight at once, tasks per second, 2 workers each.
// Parameters: BENCH_N (comma list, default 20000,100000), BENCH_WARMUP (default 5000).
import { pathToFileURL } from 'node:url';
import {
  burst, envInt, envInts, kPools, log, pythonVersion, ratio, round, runPython, withPool, withTimeout,
} from './lib/common.mjs';

export const title = 'Throughput: N tasks in flight at once';

const kGoalPeer = { op: '>=', value: 3, goal: 'process throughput >= 3x the best process-based peer' };
const kGoalPython = { op: '>=', value: 1.5, goal: 'process throughput >= 1.5x Python multiprocessing' };
const kGoalThread = { op: '>=', value: 2, goal: 'thread throughput >= 2x piscina' };

export async function throughput() {
  const sizes = envInts('BENCH_N', [20_000, 100_000], [2_000, 5_000]);
  const warmup = envInt('BENCH_WARMUP', 5_000, 200);
  const rows = [];
  const notes = [
    `${sizes.join(' and ')} calls of \`inc(x) = x + 1\` submitted at once and awaited with Promise.all; 2 workers; ` +
    `each pool warmed up with ${warmup} tasks first; peers with their default options.`,
  ];

  for (const kind of kPools) {
    try {
      await withPool(kind, async (pool) => {
        await withTimeout(burst(pool, warmup), 60_000, `${kind.name} warm-up`);
        for (const n of sizes) {
          const seconds = await withTimeout(burst(pool, n), 180_000, `${kind.name} ${n} tasks`);
          rows.push({ pool: kind.name, isolation: kind.isolation, n, seconds: round(seconds, 3), tasksPerSec: Math.round(n / seconds) });
          log(`throughput ${kind.name} n=${n}: ${Math.round(n / seconds)} tasks/s`);
        }
      });
    } catch (error) {
      log(`throughput ${kind.name} failed: ${error.message}`);
      rows.push({ pool: kind.name, isolation: kind.isolation, n: null, seconds: null, tasksPerSec: null, error: error.message });
    }
  }

  if (pythonVersion() === null) {
    notes.push('python3 not found: the Python multiprocessing rows were skipped.');
  } else {
    for (const n of sizes) {
      try {
        const r = await runPython('map', n, warmup, 300_000);
        rows.push({ pool: `python multiprocessing (${r.start_method})`, isolation: 'process', n, seconds: round(r.seconds, 3), tasksPerSec: Math.round(n / r.seconds) });
        log(`throughput python n=${n}: ${Math.round(n / r.seconds)} tasks/s`);
      } catch (error) {
        log(`throughput python failed: ${error.message}`);
        rows.push({ pool: 'python multiprocessing', isolation: 'process', n, seconds: null, tasksPerSec: null, error: error.message });
      }
    }
    notes.push('Python: `Pool(2).map(inc, range(N), chunksize=1)` in bench/python/mp_bench.py, timed inside Python after a warm-up map.');
  }

  const rate = (pool, n) => rows.find((r) => r.n === n && (r.pool === pool || r.pool.startsWith(`${pool} (`)))?.tasksPerSec ?? 0;
  const ratios = [];
  for (const n of sizes) {
    const peers = ['tinypool child_process', 'workerpool process'].map((p) => ({ p, v: rate(p, n) })).sort((a, b) => b.v - a.v);
    const best = peers[0];
    ratios.push(ratio(`n=${n}: procsafe process / best process peer (${best.p})`, rate('procsafe process', n), best.v, kGoalPeer));
    ratios.push(ratio(`n=${n}: procsafe process / Python multiprocessing`, rate('procsafe process', n), rate('python multiprocessing', n), kGoalPython));
    ratios.push(ratio(`n=${n}: procsafe thread / piscina`, rate('procsafe thread', n), rate('piscina', n), kGoalThread));
  }
  return { title, rows, ratios, notes };
}

export default throughput;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await throughput(), null, 2));
}
