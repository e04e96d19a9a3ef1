// A crash storm: 500 tasks, a fifth of them killing their worker at random, retries: 10.
// Every result arrives, in order for map, and close() returns. `npm run soak` repeats it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'procsafe';
import { tasks } from '../helpers/index.js';

export async function crashStorm(isolation: 'process' | 'thread' = 'process', count = 500): Promise<{ crashed: number; retried: number }> {
  const pool = new Pool({ module: tasks, workers: 2, retries: 10, isolation });
  try {
    const items = Array.from({ length: count }, (_, i) => i);
    const settled = await pool.mapSettled('maybeCrash', items, { chunksize: 1 });
    const failures = settled.filter((o) => !o.ok);
    assert.equal(failures.length, 0, `${failures.length} items failed, e.g. ${String(failures[0] && !failures[0].ok && failures[0].error.stack)}; ${JSON.stringify(pool.stats())}`);
    assert.deepEqual(settled.map((o) => o.ok && o.value), items.map((i) => i * 2));
    const applied = await Promise.all(items.slice(0, 100).map((i) => pool.apply('maybeCrashSelf', [i, 0.2])));
    assert.deepEqual(applied, items.slice(0, 100).map((i) => i * 2));
    const stats = pool.stats();
    await pool.close();
    return { crashed: stats.crashed, retried: stats.retried };
  } finally {
    await pool.terminate();
  }
}

test('crash storm: 500 tasks, 20% kill their worker, retries 10: every result, in order, and close() returns', { timeout: 120_000 }, async () => {
  const { crashed, retried } = await crashStorm();
  assert.ok(crashed >= 50, `only ${crashed} crashes: the storm did not happen`);
  assert.ok(retried >= crashed - 1);
});
