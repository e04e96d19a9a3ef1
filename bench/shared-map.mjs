// SharedMap against Python's Manager().dict(): a child process does a get and a set of one key per iteration on a
// map owned by the main process; µs per operation. Parameters: BENCH_MAP_N (default 20000), BENCH_MAP_WARMUP (default
// 2000). Run alone: `node bench/shared-map.mjs` (after `npm run build`); prints one JSON row per implementation.
import { fileURLToPath } from 'node:url';
import { envInt, loadProcsafe, log, round, runPythonScript, withTimeout, ratio } from './lib/common.mjs';

const kGoal = { op: '<=', value: 0.5, goal: "shared map: get/set from a child <= 0.5x Python's Manager().dict() time" };

export const title = 'SharedMap: get + set from a child, against Manager().dict()';

const kTasks = new URL('./workers/shared-map-tasks.mjs', import.meta.url);
const kPython = fileURLToPath(new URL('./python/mp_dict_bench.py', import.meta.url));

export async function sharedMap() {
  const n = envInt('BENCH_MAP_N', 20_000, 1_000);
  const warmup = envInt('BENCH_MAP_WARMUP', 2_000, 100);
  const rows = [];
  const { Pool, SharedMap } = await loadProcsafe();
  const m = new SharedMap();
  await m.set('k', 0);
  const pool = new Pool({ module: kTasks, workers: 1 });
  try {
    const us = await withTimeout(pool.apply('mapLoop', [m, n, warmup]), 120_000, 'procsafe SharedMap');
    const total = await m.get('k');
    if (total !== n + warmup) throw new Error(`the map counted ${total}, expected ${n + warmup}`);
    rows.push({ impl: 'procsafe SharedMap', op: 'get or set', ops: 2 * n, usPerOp: round(us, 2) });
  } finally {
    await pool.close();
  }
  try {
    const out = await runPythonScript(kPython, [n, warmup], 120_000, 'python3 Manager().dict()');
    rows.push({ impl: `python Manager().dict() (${out.start_method})`, op: 'get or set', ops: 2 * n, usPerOp: round(out.us_per_op, 2) });
  } catch (error) {
    log(`python Manager().dict() failed: ${error.message}`);
  }
  const pick = (prefix) => rows.find((r) => r.impl.startsWith(prefix))?.usPerOp ?? null;
  const ratios = [ratio('SharedMap get/set from a child: procsafe / Python Manager().dict() (time per operation)',
    pick('procsafe'), pick('python'), kGoal)];
  const notes = ['A pool worker (a child process) does a get then a set of one key on a map this process owns, ' +
    `${warmup} warm-up pairs then ${n} timed; Python's child does the same on a Manager().dict() proxy.`];
  return { title, rows, ratios, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of (await sharedMap()).rows) console.log(JSON.stringify(row));
}
