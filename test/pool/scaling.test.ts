// A pool between minWorkers and workers, with real workers: idle ones exit after idleTimeoutMs (seen in stats() and,
// for processes, in /proc), a burst starts them again, and none of it is a crash, even while tasks crash around it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool } from 'procsafe';
import { childPids, fixture, waitUntil } from '../helpers/index.js';

const scaling = fixture('scaling-tasks.mjs');

/** Worker processes of this test process: the pool's only children here. */
const osWorkers = (): number => childPids(process.pid).length;

for (const isolation of ['process', 'thread'] as const) {
  describe(`Pool scaling (${isolation})`, () => {
    const os = (expected: number): boolean => isolation === 'thread' || osWorkers() === expected;

    test('workers go from N down to minWorkers after idleTimeoutMs; a burst brings them back', { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: scaling, workers: 3, minWorkers: 1, idleTimeoutMs: 100, isolation });
      t.after(() => pool.terminate());
      assert.equal(pool.stats().workers, 1, 'starts minWorkers');
      await waitUntil(() => os(1), 'one worker process');
      const pids = await Promise.all([0, 1, 2].map(() => pool.apply('sleepyPid', [300])));
      if (isolation === 'process') assert.equal(new Set(pids).size, 3, `three tasks waiting started three workers: ${pids.join(' ')}`);
      await waitUntil(() => pool.stats().workers === 1 && os(1), `down to minWorkers (${JSON.stringify(pool.stats())})`);
      let most = 0;
      const watch = setInterval(() => { most = Math.max(most, pool.stats().workers); }, 5);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.apply('maybeDie', [i, 0, 20])));
      clearInterval(watch);
      assert.deepEqual(results, Array.from({ length: 30 }, (_, i) => i * 2));
      assert.equal(most, 3, 'the burst used every worker allowed');
      await waitUntil(() => pool.stats().workers === 1 && os(1), 'down to minWorkers again');
      const { crashed, restarts, failed } = pool.stats();
      assert.deepEqual({ crashed, restarts, failed }, { crashed: 0, restarts: 0, failed: 0 });
      await pool.close();
      await waitUntil(() => os(0), 'no worker left after close');
    });

    test('minWorkers 0 starts no worker until a task, and ends with none', { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: scaling, workers: 2, minWorkers: 0, idleTimeoutMs: 100, isolation });
      t.after(() => pool.terminate());
      assert.equal(pool.stats().workers, 0);
      assert.equal(osWorkers(), 0);
      assert.equal(await pool.apply('maybeDie', [21, 0, 0]), 42);
      await waitUntil(() => pool.stats().workers === 0 && os(0), 'the idle worker gone');
      assert.equal(await pool.apply('maybeDie', [5, 0, 0]), 10, 'started again on demand');
      assert.equal(pool.stats().crashed, 0);
      await pool.close();
    });

    test('a pool scaling down while tasks crash: every result right, and close() returns', { timeout: 120_000 }, async (t) => {
      const pool = new Pool({ module: scaling, workers: 4, minWorkers: 1, idleTimeoutMs: 100, retries: 10, isolation });
      t.after(() => pool.terminate());
      let scaledDown = 0;
      for (let wave = 0; wave < 6; wave++) {
        // Tasks of mixed length: some workers go idle, and are stopped, while others still run (and die).
        const items = Array.from({ length: 40 }, (_, i) => wave * 100 + i);
        const results = await Promise.all(items.map((x) => pool.apply('maybeDie', [x, 0.15, (x * 37) % 160])));
        assert.deepEqual(results, items.map((x) => x * 2));
        // The next wave arrives while the pool is on its way down.
        await waitUntil(() => pool.stats().workers < 4, 'some worker stopped for idleness');
        scaledDown++;
      }
      const stats = pool.stats();
      assert.equal(stats.failed, 0);
      assert.ok(stats.crashed >= 10, `only ${stats.crashed} crashes: the storm did not happen`);
      assert.ok(stats.retried >= stats.crashed - 1, JSON.stringify(stats));
      assert.equal(scaledDown, 6);
      await pool.close();
      assert.equal(pool.stats().workers, 0);
      await waitUntil(() => os(0), 'no worker left after close');
    });
  });
}
