// A pool scaling down (idle workers exiting after idleTimeoutMs) while its workers are SIGKILLed, by their own task or
// while idle: each kill costs only the task that was running, and the pool serves on and ends with no orphans.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool, WorkerCrashed } from 'procsafe';
import { childPids, fixture, isAlive, waitForExit } from '../helpers/index.js';

const scaling = fixture('scaling-tasks.mjs');

test('workers SIGKILLed while the pool scales down: each kill rejects its own task only, an idle worker killed costs nothing, ' +
  'and close() leaves no process behind', { timeout: 120_000 }, async (t) => {
  const pool = new Pool({ module: scaling, workers: 3, minWorkers: 1, idleTimeoutMs: 40 });
  t.after(() => pool.terminate());
  const seen = new Set<number>();
  let killers = 0;
  let idleKills = 0;
  for (let wave = 0; wave < 5; wave++) {
    // Mixed lengths: while some tasks still run (and some kill their worker), idle workers time out and exit.
    const jobs = Array.from({ length: 12 }, (_, i) => (i % 4 === 0
      ? { killer: true, run: pool.apply('killSelfAfter', [(i * 7 + wave * 11) % 50]) }
      : { killer: false, run: pool.apply('sleepyPid', [(i * 13 + wave * 17) % 90]) }));
    const settled = await Promise.allSettled(jobs.map((job) => job.run));
    settled.forEach((outcome, i) => {
      const job = jobs[i] as { killer: boolean };
      if (job.killer) {
        killers++;
        assert.equal(outcome.status, 'rejected', `wave ${wave} task ${i} killed its worker`);
        const error = (outcome).reason as unknown;
        assert.ok(error instanceof WorkerCrashed, String(error));
        assert.equal(error.signal, 'SIGKILL');
      } else {
        assert.equal(outcome.status, 'fulfilled', `wave ${wave} task ${i}: ${String((outcome as PromiseRejectedResult).reason)}`);
        seen.add((outcome as PromiseFulfilledResult<number>).value);
      }
    });
    // Every worker is idle now, and about to be stopped for it: kill one of them in the middle of that.
    const idle = childPids(process.pid).filter((pid) => seen.has(pid));
    if (idle.length > 0) {
      const failed = pool.stats().failed;
      process.kill(idle[0] as number, 'SIGKILL');
      idleKills++;
      // Reaped: the pool has seen it go. (A task sent before that would be charged: it may have started.)
      assert.ok(await waitForExit(idle[0] as number), 'the killed worker was reaped');
      assert.equal(pool.stats().failed, failed, 'an idle worker killed fails no task');
    }
  }
  assert.ok(idleKills > 0, 'some idle worker was killed');
  const stats = pool.stats();
  assert.equal(stats.failed, killers, 'only the tasks that killed their worker failed');
  assert.equal(stats.completed, 5 * 12 - killers);
  assert.ok(stats.crashed >= killers, JSON.stringify(stats));
  assert.equal(await pool.apply('sleepyPid', [0]).then((pid) => typeof pid), 'number', 'the pool still serves');
  await pool.close();
  assert.equal(pool.stats().workers, 0);
  for (const pid of seen) assert.ok(await waitForExit(pid), `worker ${pid} outlived close()`);
  assert.deepEqual(childPids(process.pid).filter(isAlive), []);
});
