import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool, reportProgress, SerializationError, WorkerCrashed } from 'procsafe';
import { fixture } from '../helpers/index.js';

const progressTasks = fixture('progress-tasks.mjs');

test('reportProgress outside a worker task is a no-op', () => {
  assert.equal(reportProgress({ any: 'value' }), undefined);
});

for (const isolation of ['process', 'thread'] as const) {
  describe(`Pool progress (${isolation})`, () => {
    test('each report reaches onProgress in order, copied as any value, before the call settles', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const seen: unknown[] = [];
      let settled = false;
      const values = [1, 'two', { three: 3n }, new Map([[4, [4]]]), undefined, null, -0];
      const result = pool.apply('reportEach', [values], {
        onProgress: (value) => {
          assert.equal(settled, false);
          seen.push(value);
        },
      });
      assert.equal(await result.finally(() => { settled = true; }), values.length);
      assert.deepEqual(seen, values);
      assert.ok(Object.is(seen[6], -0));
    });

    test('reports reach the callback of their own call only', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const seen: Record<string, unknown[]> = { a: [], b: [], c: [] };
      const results = await Promise.all(['a', 'b', 'c'].map((tag) =>
        pool.apply('tagged', [tag, 5], { onProgress: (value) => seen[tag]?.push(value) })));
      assert.deepEqual(results, ['a', 'b', 'c']);
      for (const tag of ['a', 'b', 'c']) assert.deepEqual(seen[tag], [0, 1, 2, 3, 4].map((i) => `${tag}:${i}`));
      // Without onProgress the reports go nowhere and the call still resolves.
      assert.equal(await pool.apply('tagged', ['d', 3]), 'd');
    });

    test('a storm of 100k reports arrives whole and in order, then the result', { timeout: 60_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      let count = 0;
      let inOrder = true;
      const result = await pool.apply('count', [100_000, 'finished'], {
        onProgress: (value) => {
          count++;
          if (value !== count) inOrder = false;
        },
      });
      assert.equal(result, 'finished');
      assert.equal(count, 100_000);
      assert.ok(inOrder);
    });

    test('reports made before the worker dies stay delivered; the call rejects WorkerCrashed', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const seen: unknown[] = [];
      await assert.rejects(pool.apply('reportThenDie', [3, isolation === 'thread'], { onProgress: (value) => seen.push(value) }),
        (error: unknown) => error instanceof WorkerCrashed);
      assert.deepEqual(seen, [1, 2, 3]);
    });

    test('a report outside any task (the module\'s top level) reaches nobody', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const seen: unknown[] = [];
      assert.equal(await pool.apply('count', [2, 'next'], { onProgress: (value) => seen.push(value) }), 'next');
      assert.deepEqual(seen, [1, 2]);
    });

    test('a report left behind by a finished task reaches neither its call nor the next one', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const first: unknown[] = [];
      const second: unknown[] = [];
      assert.equal(await pool.apply('leaveStray', [], { onProgress: (value) => first.push(value) }), 'left');
      assert.equal(await pool.apply('fireThenCount', [2], { onProgress: (value) => second.push(value) }), 2);
      assert.deepEqual(first, []);
      assert.deepEqual(second, [1, 2]);
    });

    test('an uncopyable report throws in the task, which rejects', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('reportFunction', [], { onProgress: () => {} }),
        (error: unknown) => error instanceof SerializationError && /reported progress/.test(error.message));
    });

    test('an onProgress that throws is a warning; the later reports and the result still arrive', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
      const seen: unknown[] = [];
      const result = await pool.apply('count', [3, 'ok'], {
        onProgress: (value) => {
          seen.push(value);
          if (value === 1) throw new Error('callback broke');
        },
      });
      assert.equal(result, 'ok');
      assert.deepEqual(seen, [1, 2, 3]);
      assert.match((await warned).message, /onProgress of task \d+ \("count"\) threw: callback broke/);
    });

    test('onProgress must be a function', async (t) => {
      const pool = new Pool({ module: progressTasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('count', [1, 'x'], { onProgress: 5 as unknown as () => void }), TypeError);
    });
  });
}
