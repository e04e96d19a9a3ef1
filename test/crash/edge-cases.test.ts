// Races and hostile input at the edges of the guarantees: a deliberate kill that
// races an unread answer, garbage on the wire from a worker, oversized messages,
// iterators outliving their pool, aborts reaching a chunk narrowed after a crash.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortError, Pool, PoolClosed, SerializationError, WorkerCrashed } from 'procsafe';
import { fixture, tasks, waitUntil } from '../helpers/index.js';

/** Blocks this thread, so answers pile up unread in the pipe. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('edge cases', () => {
  test('aborting a task whose answer is already in the pipe charges nothing to the task behind it', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    // Short tasks first, so the pool pipelines: the next task is already on the worker.
    await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.apply('inc', [i])));
    const controller = new AbortController();
    const first = pool.apply('spin', [20], { signal: controller.signal });
    const behind = pool.apply('slowSquare', [3, 300]);
    await new Promise((resolve) => setImmediate(resolve)); // both are sent to the worker
    busy(150); // the first task finishes and the second starts while we read nothing
    controller.abort();
    await assert.rejects(first, AbortError);
    assert.equal(await behind, 9, 'the task behind is re-run, not failed as a crash');
    assert.equal(pool.stats().crashed, 0);
    await pool.close();
  });

  for (const kind of ['wrong-id', 'huge-length', 'garbage']) {
    test(`a worker writing ${kind} on the wire is cut off; its task fails, nothing else is lost`, { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, stderr: 'ignore' });
      t.after(() => pool.terminate());
      const warnings: string[] = [];
      const onWarning = (warning: Error): void => { warnings.push(warning.message); };
      process.on('warning', onWarning);
      t.after(() => process.off('warning', onWarning));
      const bystanders = Array.from({ length: 20 }, (_, i) => pool.apply('slowSquare', [i, 10]));
      await assert.rejects(pool.apply('writeToWire', [kind]), WorkerCrashed);
      assert.deepEqual(await Promise.all(bystanders), Array.from({ length: 20 }, (_, i) => i * i));
      assert.equal(await pool.apply('square', [6]), 36);
      await pool.close();
      if (kind !== 'garbage') assert.ok(warnings.some((w) => /procsafe: \[worker-\d+ \d+\]/.test(w)), warnings.join('\n'));
    });
  }

  test('a result over maxMessageBytes fails its task with SerializationError; so does an argument', { timeout: 30_000 }, async (t) => {
    for (const isolation of ['process', 'thread'] as const) {
      const pool = new Pool({ module: tasks, workers: 1, isolation, maxMessageBytes: 1 << 20 });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('bytes', [2 << 20]), (error: unknown) => {
        assert.ok(error instanceof SerializationError, String(error));
        assert.match(error.message, /over maxMessageBytes \(1048576\)/);
        return true;
      });
      await assert.rejects(pool.apply('byteLength', [Buffer.alloc(2 << 20)]), (error: unknown) =>
        error instanceof SerializationError && /arguments of "byteLength" take \d+ bytes, over maxMessageBytes/.test(error.message));
      assert.equal(await pool.apply('byteLength', [Buffer.alloc(1000)]), 1000);
      assert.equal(pool.stats().crashed, 0);
      await pool.close();
    }
  });

  test('an imap still being read after terminate() ends with PoolClosed, never hangs', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 2 });
    t.after(() => pool.terminate());
    function* endless(): Generator<number> { for (let i = 0; ; i++) yield i; }
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const value of pool.imap('slowSquare', endless(), { concurrency: 4 })) {
        seen.push(value);
        if (seen.length === 3) await pool.terminate();
      }
    }, PoolClosed);
    assert.ok(seen.length >= 3);
  });

  test('an idle pool with a broken module does not respawn workers on its own', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: fixture('broken-syntax.mjs'), workers: 2, stderr: 'ignore' });
    t.after(() => pool.terminate());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(pool.stats().restarts, 0);
    assert.equal(pool.stats().workers, 0);
    await pool.close();
  });

  test('aborting a map reaches the items of a chunk narrowed down after a crash', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    const controller = new AbortController();
    const items = Array.from({ length: 30 }, (_, i) => [i, 2, 200]);
    const settled = pool.mapSettled('killOnSlow', items, { chunksize: 30, signal: controller.signal });
    // The chunk crashes at item 2 and is split; abort while its items run one by one.
    await waitUntil(() => pool.stats().crashed > 0, 'the chunk has crashed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const abortedAt = Date.now();
    controller.abort();
    const outcomes = await settled;
    // 30 items of 200 ms would take 6 s; the abort ends it at once.
    assert.ok(Date.now() - abortedAt < 2000, `took ${Date.now() - abortedAt} ms after the abort`);
    assert.ok(outcomes.some((o) => !o.ok && o.error instanceof AbortError));
    await pool.close();
  });
});
