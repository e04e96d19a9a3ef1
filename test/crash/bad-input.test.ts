// SPEC Pool guarantee 4 and the bad input: a clear error, and nothing
// already accepted is lost. Broken worker modules fail the work that waits for
// them, and the pool backs off instead of respawning in a loop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pool, RemoteError, SerializationError, WorkerCrashed } from 'procsafe';
import { fixture, tasks } from '../helpers/index.js';

describe('bad input to a working pool', () => {
  test('an unknown export name or a non-function export is a clear RemoteError; the worker lives on', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    await assert.rejects(pool.apply('nope'), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.remoteName, 'TypeError');
      assert.match(error.message, /has no export named "nope"; its function exports are: .*square/);
      return true;
    });
    await assert.rejects(pool.apply('notAFunction'), /export "notAFunction" of worker module .* is a number, not a function/);
    assert.equal(await pool.apply('square', [2]), 4);
    assert.equal(pool.stats().crashed, 0);
  });

  test('an unserializable argument rejects SerializationError naming the path, before dispatch', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    await pool.apply('square', [1]);
    const before = pool.stats();
    class Connection { #fd = 3; get fd(): number { return this.#fd; } }
    const cases: [unknown, string][] = [
      [{ a: [1, { cb: () => 1 }] }, 'args[0].a[1].cb'],
      [new Connection(), 'args[0]'],
      [new Map([['k', Symbol('s')]]), 'args[0].get("k")'],
      [Promise.resolve(1), 'args[0]'],
    ];
    for (const [value, path] of cases) {
      await assert.rejects(pool.apply('echo', [value]), (error: unknown) => {
        assert.ok(error instanceof SerializationError);
        assert.equal(error.code, 'ESERIALIZE');
        assert.equal(error.path, path);
        assert.match(error.message, new RegExp(`Cannot copy the arguments of "echo": ${path.replace(/[[\]().]/g, '\\$&')} `));
        return true;
      });
    }
    await assert.rejects(pool.map('echo', [1, 2, () => 3]),
      (error: unknown) => error instanceof SerializationError && error.path === 'items[2]');
    const after = pool.stats();
    // Nothing reached a worker or the queue.
    assert.equal(after.completed, before.completed);
    assert.equal(after.failed, before.failed);
    assert.equal(after.queued, 0);
    assert.equal(await pool.apply('square', [3]), 9);
  });

  test('an unserializable result rejects that task with SerializationError', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    await assert.rejects(pool.apply('returnFunction'),
      (error: unknown) => error instanceof SerializationError && error.path === 'result.nested.fn');
    await assert.rejects(pool.apply('returnClass'), (error: unknown) => error instanceof SerializationError && /instance of Point/.test(error.message));
    const settled = await pool.mapSettled('echo', [1, 2], { chunksize: 2 });
    assert.deepEqual(settled, [{ ok: true, value: 1 }, { ok: true, value: 2 }]);
    assert.equal(await pool.apply('square', [5]), 25);
  });

  test('a wrong argument list or option is refused at the call', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    await assert.rejects(pool.apply('square', 3 as unknown as [number]), /Expected `args` to be an array/);
    await assert.rejects(pool.apply('square', [1], { timeoutMs: Number.NaN }), TypeError);
    await assert.rejects(pool.apply('', []), /`fn`/);
    await assert.rejects(pool.map('square', [1], { chunksize: 0 }), /`chunksize`/);
  });
});

describe('broken worker modules', () => {
  for (const isolation of ['process', 'thread'] as const) {
    test(`a module that fails to import rejects every pending task with the import error, without a respawn loop (${isolation})`,
      { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: fixture('broken-syntax.mjs'), workers: 2, isolation, stderr: 'ignore' });
      t.after(() => pool.terminate());
      const pending = Array.from({ length: 5 }, () => pool.apply('ok'));
      for (const result of await Promise.allSettled(pending)) {
        assert.equal(result.status, 'rejected');
        const error = result.reason as unknown;
        assert.ok(error instanceof RemoteError, String(error));
        assert.equal(error.remoteName, 'SyntaxError');
        assert.match(error.message, /worker module .*broken-syntax\.mjs failed to load: /);
      }
      // Backing off: in the next second, new calls fail fast and few workers are started.
      const restartsBefore = pool.stats().restarts;
      await assert.rejects(pool.apply('ok'), RemoteError);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.ok(pool.stats().restarts - restartsBefore <= 4, `restarted ${pool.stats().restarts - restartsBefore} times in a second`);
      await pool.close();
    });
  }

  test('a module whose import exits the process: WorkerCrashed, and no loop', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: fixture('exits-on-import.mjs'), workers: 1 });
    t.after(() => pool.terminate());
    await assert.rejects(pool.apply('anything'), (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed, String(error));
      assert.equal(error.exitCode, 9);
      assert.match(error.message, /exited with code 9 while starting, before it could run a task/);
      return true;
    });
    assert.ok(pool.stats().restarts <= 4);
    await pool.close();
  });

  for (const isolation of ['process', 'thread'] as const) {
    test(`a TypeScript module without a loader says what to do (${isolation})`, { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: fixture('ts-tasks.ts'), workers: 1, isolation, stderr: 'ignore', execArgv: [] });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('triple', [5]), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.match(error.message, /cannot load the TypeScript worker module .*ts-tasks\.ts: .*(--import tsx)/);
        assert.equal(error.remoteCode, 'ERR_PROCSAFE_NO_TS_LOADER', 'a code for callers to test, not the wording');
        return true;
      });
    });
  }

  test('a missing module file is refused by the constructor, naming it', { timeout: 20_000 }, () => {
    assert.throws(() => new Pool({ module: fixture('does-not-exist.mjs'), workers: 1, stderr: 'ignore' }),
      /`module` to name an existing file, but there is no such file \/.*does-not-exist\.mjs/);
  });

  test('an initializer that throws fails the waiting work with its error', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 2, initializer: 'failInit', stderr: 'ignore' });
    t.after(() => pool.terminate());
    await assert.rejects(pool.apply('square', [2]), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.match(error.message, /initializer "failInit" failed in worker \d+ \(pid \d+\): initializer exploded/);
      return true;
    });
    await pool.close();
  });
});
