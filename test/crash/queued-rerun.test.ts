// SPEC Pool guarantee 2: tasks handed to a worker but not started when it died are
// re-run without counting an attempt, and no result is ever delivered twice.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pool, WorkerCrashed } from 'procsafe';
import { tasks, tempDir } from '../helpers/index.js';

test('tasks pipelined behind a crashing task run once each, elsewhere, with no attempt charged', { timeout: 30_000 }, async (t) => {
  const pool = new Pool({ module: tasks, workers: 1 });
  t.after(() => pool.terminate());
  // Many short tasks first, so the pool pipelines several tasks per worker.
  await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.apply('inc', [i])));
  const dir = tempDir(t);
  const log = join(dir, 'runs');
  const doomed = pool.apply('killSelf');
  const behind = Array.from({ length: 50 }, (_, i) => pool.apply('appendLine', [log, String(i)]));
  await assert.rejects(doomed, (error: unknown) => error instanceof WorkerCrashed && error.attempts === 1);
  assert.deepEqual(await Promise.all(behind), Array.from({ length: 50 }, (_, i) => String(i)));
  const runs = readFileSync(log, 'utf8').trim().split('\n');
  // Each ran exactly once: none had started on the dead worker, none ran twice.
  assert.deepEqual([...runs].sort(), Array.from({ length: 50 }, (_, i) => String(i)).sort());
  assert.equal(pool.stats().retried, 0);
  await pool.close();
});

test('a crash inside a map chunk is narrowed down: only the guilty item fails', { timeout: 30_000 }, async (t) => {
  const pool = new Pool({ module: tasks, workers: 2 });
  t.after(() => pool.terminate());
  const items = Array.from({ length: 40 }, (_, i) => i);
  const settled = await pool.mapSettled('killOn', items.map((i) => [i, 17]), { chunksize: 10 });
  for (const [i, outcome] of settled.entries()) {
    if (i === 17) {
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok && outcome.error instanceof WorkerCrashed);
    } else {
      assert.deepEqual(outcome, { ok: true, value: i });
    }
  }
  await pool.close();
});
