// A worker process is gone some time before its output ends (a grandchild may hold its stdout open for up to the drain
// grace): in that gap the pool must not hand it a task. One sent there would be lost with the dead process and then
// charged an attempt it never ran.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'procsafe';
import { fixture, waitForExit } from '../helpers/index.js';

test('a task submitted after a worker died but before its output ended runs on a new worker, uncharged',
  { timeout: 30_000 }, async (t) => {
  const pool = new Pool({ module: fixture('tasks.mjs'), workers: 1, retries: 0, stdout: 'ignore' });
  t.after(() => pool.terminate());
  const { worker, holder } = await pool.apply('holdOutput', [3000]) as { worker: number; holder: number };
  t.after(() => { try { process.kill(holder, 'SIGKILL'); } catch { /* gone */ } });
  process.kill(worker, 'SIGKILL');
  assert.ok(await waitForExit(worker), 'the worker died');
  // The pool has seen the exit (or will at once), but the grandchild keeps the worker's output open: the gap.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await pool.apply('square', [7]), 49, 'the task ran on a new worker, not into the dead one');
  // With retries: 0, a charge would have rejected it WorkerCrashed; the death itself is counted, once.
  const stats = pool.stats();
  assert.deepEqual([stats.completed, stats.failed, stats.retried, stats.crashed], [2, 0, 0, 1], JSON.stringify(stats));
});
