// SPEC Pool guarantee 1: a worker that dies while running a task rejects that task
// alone with WorkerCrashed (or re-runs it while `retries` lasts), is replaced, and
// every other task, close() and terminate() complete. Every death here is real.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Pool, RemoteError, WorkerCrashed } from 'procsafe';
import { isAlive, tasks, tempDir, waitForPid, waitUntil } from '../helpers/index.js';

interface Death {
  readonly name: string;
  readonly fn: string;
  readonly args: unknown[];
  readonly options?: { maxMemoryMb?: number };
  readonly check: (error: WorkerCrashed) => void;
}

const deaths: Death[] = [
  { name: 'its own SIGKILL', fn: 'killSelf', args: [], check: (e) => assert.equal(e.signal, 'SIGKILL') },
  { name: 'process.exit(3)', fn: 'exitWith', args: [3], check: (e) => { assert.equal(e.exitCode, 3); assert.equal(e.signal, null); } },
  { name: 'process.exit(0) in the middle of a task', fn: 'exitWith', args: [0], check: (e) => assert.equal(e.exitCode, 0) },
  { name: 'a segfault-style abort (process.abort())', fn: 'abort', args: [], check: (e) => assert.equal(e.signal, 'SIGABRT') },
  {
    name: 'an uncaught exception in a timer', fn: 'throwInTimer', args: ['tick failed'], check: (e) => {
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /uncaught TypeError: tick failed/);
      assert.ok(e.cause instanceof RemoteError);
    },
  },
  {
    name: 'an unhandled rejection', fn: 'rejectUnhandled', args: ['nobody caught me'], check: (e) => {
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /nobody caught me/);
    },
  },
  {
    name: 'a heap over maxMemoryMb', fn: 'eatMemory', args: [], options: { maxMemoryMb: 64 }, check: (e) => {
      assert.equal(e.signal, 'SIGABRT');
      assert.match(e.message, /out of memory/);
    },
  },
];

describe('guarantee 1: a worker dying mid-task fails that task alone (process)', () => {
  for (const death of deaths) {
    test(`${death.name}: WorkerCrashed for that task, bystanders finish, the worker is replaced`, { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, stderr: 'ignore', ...death.options });
      t.after(() => pool.terminate());
      const bystander = pool.apply('slowSquare', [9, 300]);
      const doomed = pool.apply(death.fn, death.args);
      await assert.rejects(doomed, (error: unknown) => {
        assert.ok(error instanceof WorkerCrashed, `got ${String(error)}`);
        assert.equal(error.code, 'EWORKERCRASHED');
        assert.equal(error.attempts, 1);
        assert.equal(error.fn, death.fn);
        assert.equal(typeof error.pid, 'number');
        assert.ok(!isAlive(error.pid as number));
        assert.match(error.message,
          new RegExp(`^worker \\d+ \\(pid ${error.pid}\\) .* while running task \\d+ \\("${death.fn}"\\).*; 0 of 0 retries left$`));
        death.check(error);
        return true;
      });
      assert.equal(await bystander, 81);
      assert.equal(await pool.apply('square', [12]), 144);
      // The replacement is spawned on the turn after the crash settles the task.
      await waitUntil(() => pool.stats().restarts > 0, 'the dead worker is replaced');
      const stats = pool.stats();
      assert.equal(stats.crashed, 1);
      assert.equal(stats.restarts, 1);
      assert.equal(stats.failed, 1);
      await pool.close();
    });
  }

  test('SIGKILL from outside while the task runs', { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t);
    const pool = new Pool({ module: tasks, workers: 2 });
    t.after(() => pool.terminate());
    const marker = join(dir, 'pid');
    const doomed = pool.apply('reportThenHang', [marker]);
    const bystander = pool.apply('slowSquare', [5, 200]);
    const pid = await waitForPid(marker);
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    await assert.rejects(doomed, (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed);
      assert.equal(error.pid, pid);
      assert.equal(error.signal, 'SIGKILL');
      assert.match(error.message, /was killed by SIGKILL while running task \d+ \("reportThenHang"\); 0 of 0 retries left/);
      return true;
    });
    // Not a timing assertion: a sanity bound far above the measured figure (see BENCHMARKS.md).
    assert.ok(performance.now() - killedAt < 5000);
    assert.equal(await bystander, 25);
    assert.equal(await pool.apply('square', [3]), 9);
    await pool.close();
  });

  test('retries re-run a task whose worker died, and count attempts', { timeout: 30_000 }, async (t) => {
    const dir = tempDir(t);
    const pool = new Pool({ module: tasks, workers: 1, retries: 2 });
    t.after(() => pool.terminate());
    assert.equal(await pool.apply('crashUntil', [join(dir, 'a'), 2, 'third time lucky']), 'third time lucky');
    assert.equal(pool.stats().retried, 2);
    await assert.rejects(pool.apply('crashUntil', [join(dir, 'b'), 5, 'never']), (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed);
      assert.equal(error.attempts, 3);
      assert.match(error.message, /0 of 2 retries left/);
      return true;
    });
    await pool.close();
  });

  test('close() and terminate() return while workers keep dying', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 2, retries: 1 });
    t.after(() => pool.terminate());
    const doomed = Array.from({ length: 6 }, () => pool.apply('killSelf').catch((error: unknown) => error));
    await pool.close();
    for (const outcome of await Promise.all(doomed)) assert.ok(outcome instanceof WorkerCrashed);
    const second = new Pool({ module: tasks, workers: 2 });
    const dying = Array.from({ length: 6 }, () => second.apply('killSelf').catch((error: unknown) => error));
    await second.terminate();
    for (const outcome of await Promise.all(dying)) assert.ok(outcome instanceof Error);
  });
});

describe('guarantee 1 with isolation: thread', () => {
  const threadDeaths = deaths.filter((d) => ['exitWith', 'throwInTimer', 'rejectUnhandled', 'eatMemory'].includes(d.fn));
  for (const death of threadDeaths) {
    test(`${death.name}: WorkerCrashed for that task, the pool goes on`, { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation: 'thread', stderr: 'ignore', ...death.options });
      t.after(() => pool.terminate());
      const bystander = pool.apply('slowSquare', [9, 300]);
      await assert.rejects(pool.apply(death.fn, death.args), (error: unknown) => {
        assert.ok(error instanceof WorkerCrashed, `got ${String(error)}`);
        assert.equal(error.attempts, 1);
        assert.equal(error.signal, null);
        if (death.fn === 'exitWith') assert.equal(error.exitCode, death.args[0]);
        if (death.fn === 'eatMemory') assert.match(error.message, /out of memory/);
        return true;
      });
      assert.equal(await bystander, 81);
      assert.equal(await pool.apply('square', [12]), 144);
      await pool.close();
    });
  }
});
