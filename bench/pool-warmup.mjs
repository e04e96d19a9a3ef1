// A process Pool's first calls against its later ones, for the README's section on V8's tier-up
// budget (not part of `npm run bench`):
//   npm run build && node [--interrupt-budget=4000] bench/pool-warmup.mjs [N=2000] [RUNS=3]
// Each run starts a Pool of 2 process workers (they inherit this process's flags), times its start
// and first 300 `apply` calls made one at a time, then the next N.
import { kTasks, loadProcsafe } from './lib/common.mjs';

const [n = 2000, runs = 3] = process.argv.slice(2).map(Number);
const { Pool } = await loadProcsafe();
for (let run = 1; run <= runs; run++) {
  const t0 = performance.now();
  const pool = new Pool({ module: kTasks, workers: 2, isolation: 'process' });
  for (let i = 0; i < 300; i++) await pool.apply('inc', [i]);
  const t1 = performance.now();
  for (let i = 0; i < n; i++) await pool.apply('inc', [i]);
  const t2 = performance.now();
  await pool.close();
  console.log(`run ${run}: start + first 300 calls ${(t1 - t0).toFixed(0)} ms (${((t1 - t0) * 1000 / 300).toFixed(0)} µs a call); next ${n}: ${((t2 - t1) * 1000 / n).toFixed(1)} µs a call`);
}
