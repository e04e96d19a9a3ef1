/**
 * The crash storm: `count` tasks through map, a fifth of them killing their worker,
 * retries: 10; then 100 apply() calls the same way. Threads die by process.exit()
 * (a SIGKILL from a thread would take the whole process down: that is what
 * isolation 'process' is for). Used by test/crash/crash-storm.test.ts and by
 * `npm run soak`.
 */
import assert from 'node:assert/strict';
import { Pool } from 'procsafe';
import { tasks } from './index.js';

export async function crashStorm(isolation: 'process' | 'thread' = 'process', count = 500): Promise<{ crashed: number; retried: number }> {
  const pool = new Pool({ module: tasks, workers: 2, retries: 10, isolation });
  try {
    const items = Array.from({ length: count }, (_, i) => i);
    const settled = await pool.mapSettled(isolation === 'process' ? 'maybeCrash' : 'maybeExit', items, { chunksize: 1 });
    const failures = settled.filter((o) => !o.ok);
    const example = String(failures[0] && !failures[0].ok && failures[0].error.stack);
    assert.equal(failures.length, 0, `${failures.length} items failed, e.g. ${example}; ${JSON.stringify(pool.stats())}`);
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
