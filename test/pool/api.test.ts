import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { AbortError, Pool, PoolClosed, RemoteError, TaskTimeout } from 'procsafe';
import { fixture, tasks, tempDir, waitUntil } from '../helpers/index.js';

const starTasks = fixture('star-tasks.mjs');

for (const isolation of ['process', 'thread'] as const) {
  describe(`Pool API (${isolation})`, () => {
    test('apply runs a named export with its arguments, sync or async', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      assert.equal(await pool.apply('square', [7]), 49);
      assert.equal(await pool.apply('add', [2, 3]), 5);
      assert.equal(await pool.apply('slowSquare', [4, 5]), 16);
      assert.equal(await pool.apply('echo', ['text']), 'text');
      assert.equal(await pool.apply('echo', [undefined]), undefined);
      const value = { n: 1n, d: new Date(5), m: new Map([[1, 'a']]), s: new Set([2]), b: Buffer.from('hi'), r: /x/g, nested: [null, true, 1.5] };
      assert.deepEqual(await pool.apply('echo', [value]), value);
    });

    test('many calls in flight all resolve with their own result', { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => pool.apply('inc', [i])));
      assert.deepEqual(results, Array.from({ length: 5000 }, (_, i) => i + 1));
      const stats = pool.stats();
      assert.equal(stats.completed, 5000);
      assert.equal(stats.failed, 0);
      assert.equal(stats.queued, 0);
      assert.equal(stats.workers, 2);
    });

    test('a task error arrives as RemoteError with remote name, message, stack and properties', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await assert.rejects(pool.apply('fail', ['boom']), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.equal(error.code, 'EREMOTE');
        assert.equal(error.message, 'boom');
        assert.equal(error.remoteName, 'RangeError');
        assert.equal(error.remoteCode, 'E_BAD_THING');
        assert.deepEqual(error.properties['details'], { retry: false, n: 3 });
        assert.deepEqual((error as unknown as { details: unknown }).details, { retry: false, n: 3 });
        assert.match(error.remoteStack ?? '', /at fail .*tasks\.mjs/);
        return true;
      });
      await assert.rejects(pool.apply('failWithCause'), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.ok(error.cause instanceof RemoteError);
        assert.equal(error.cause.message, 'inner');
        assert.equal(error.cause.remoteName, 'TypeError');
        return true;
      });
      await assert.rejects(pool.apply('throwString'), (error: unknown) => error instanceof RemoteError && /just a string/.test(error.message));
      // The worker survives task errors.
      assert.equal(await pool.apply('square', [3]), 9);
      assert.equal(pool.stats().crashed, 0);
    });

    test('map keeps order, picks a chunk size, and rejects with the first failure after the rest settle',
      { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const items = Array.from({ length: 1000 }, (_, i) => i);
      assert.deepEqual(await pool.map('square', items), items.map((x) => x * x));
      assert.deepEqual(await pool.map('square', items, { chunksize: 7, concurrency: 2 }), items.map((x) => x * x));
      assert.deepEqual(await pool.map('square', []), []);
      // eslint-disable-next-line @typescript-eslint/require-await -- an async source with nothing to await is the case covered
      async function* gen(): AsyncGenerator<number> { for (let i = 0; i < 10; i++) yield i; }
      assert.deepEqual(await pool.map('inc', gen()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const before = pool.stats().completed;
      await assert.rejects(pool.map('fail', ['a', 'b']), (error: unknown) => error instanceof RemoteError && error.message === 'a');
      assert.ok(pool.stats().completed + pool.stats().failed > before);
    });

    test('starmap spreads each item as the arguments and keeps order, whatever the chunk size', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: starTasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      assert.deepEqual(await pool.starmap('power', [[2, 10], [3, 3]]), [1024, 27]);
      const items = Array.from({ length: 300 }, (_, i) => [i % 7, i % 3] as [number, number]);
      const expected = items.map(([base, exp]) => base ** exp);
      const before = pool.stats().completed;
      assert.deepEqual(await pool.starmap('power', items), expected);
      assert.equal(pool.stats().completed - before, items.length, 'each item is a task');
      assert.deepEqual(await pool.starmap('power', items, { chunksize: 7, concurrency: 2 }), expected);
      assert.deepEqual(await pool.starmap('count', [[], [1], [1, 'two', { three: 3 }]]), [0, 1, 3]);
      assert.deepEqual(await pool.starmap('power', []), []);
      // eslint-disable-next-line @typescript-eslint/require-await -- an async source with nothing to await is the case covered
      async function* gen(): AsyncGenerator<[number, number]> { for (let i = 0; i < 5; i++) yield [2, i]; }
      assert.deepEqual(await pool.starmap('power', gen()), [1, 2, 4, 8, 16]);
    });

    test('starmap rejects with the first failure by position once the rest settled; a non-array item is a TypeError',
      { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: starTasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const before = pool.stats();
      await assert.rejects(
        pool.starmap('failOr', [[null, 1, 200], ['first', 0, 0], ['second', 0, 0], [null, 4, 200]]),
        (error: unknown) => error instanceof RemoteError && error.message === 'first');
      const after = pool.stats();
      assert.equal(after.completed - before.completed, 2, 'the slow items finished before the rejection');
      assert.equal(after.failed - before.failed, 2);
      await assert.rejects(pool.starmap('power', [[2, 1], 3, [4, 1]] as unknown as [number, number][]), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /items\[1\] of starmap\("power"\) to be an array of arguments, got number/);
        return true;
      });
      assert.equal(pool.stats().completed, after.completed, 'nothing ran');
    });

    test('an Error value returned (not thrown) keeps code, errno, syscall and path', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      const { failed } = await pool.apply('readError', ['/nonexistent-procsafe/file']) as { failed: NodeJS.ErrnoException };
      assert.ok(failed instanceof Error);
      assert.equal(failed.code, 'ENOENT');
      assert.equal(failed.syscall, 'open');
      assert.equal(failed.path, '/nonexistent-procsafe/file');
      assert.equal(typeof failed.errno, 'number');
    });

    test('mapSettled reports every item', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const settled = await pool.mapSettled('echo', [1, 2, 3]);
      assert.deepEqual(settled, [{ ok: true, value: 1 }, { ok: true, value: 2 }, { ok: true, value: 3 }]);
      const mixed = await pool.mapSettled('fail', ['x'], { chunksize: 1 });
      assert.equal(mixed.length, 1);
      assert.equal(mixed[0]?.ok, false);
    });

    test('imap is ordered and lazy: it reads input only as results are taken', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      let pulled = 0;
      function* input(): Generator<number> {
        for (let i = 0; i < 100_000; i++) { pulled++; yield i; }
      }
      const seen: number[] = [];
      for await (const value of pool.imap('square', input(), { concurrency: 8 })) {
        seen.push(value as number);
        if (seen.length === 20) break;
      }
      assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i * i));
      assert.ok(pulled <= 20 + 8 + 1, `pulled ${pulled} items for 20 results`);
    });

    test('imapUnordered yields every result, fastest first', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      // Both workers up first (each call returns once two workers run at once), so
      // the short items never wait for a worker that is still starting.
      const meet = tempDir(t);
      await Promise.all([pool.apply('rendezvous', [meet, 2]), pool.apply('rendezvous', [meet, 2])]);
      const out: number[] = [];
      for await (const value of pool.imapUnordered('sleep', [1000, 10, 10])) out.push(value as number);
      assert.deepEqual([...out].sort((a, b) => a - b), [10, 10, 1000]);
      assert.equal(out[out.length - 1], 1000);
    });

    test('initializer runs once per worker with initArgs', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation, initializer: 'init', initArgs: [{ token: 'abc' }] });
      t.after(() => pool.terminate());
      const got = await Promise.all([pool.apply('getInit'), pool.apply('getInit'), pool.apply('getInit')]);
      for (const value of got) assert.deepEqual(value, { token: 'abc' });
    });

    test('a signal drops a queued task and stops a running one; the pool goes on', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await pool.apply('square', [1]);
      const running = new AbortController();
      const queued = new AbortController();
      const a = pool.apply('hang', [], { signal: running.signal });
      const b = pool.apply('square', [5], { signal: queued.signal });
      const c = pool.apply('square', [6]);
      queued.abort(new Error('not needed'));
      await assert.rejects(b, (error: unknown) => error instanceof AbortError && (error.cause as Error).message === 'not needed');
      running.abort();
      await assert.rejects(a, AbortError);
      assert.equal(await c, 36);
      const aborted = AbortSignal.abort();
      await assert.rejects(pool.apply('square', [2], { signal: aborted }), AbortError);
      assert.equal(await pool.apply('square', [4]), 16);
    });

    test('taskTimeoutMs stops a runaway task and replaces its worker; others are untouched', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation, taskTimeoutMs: 300 });
      t.after(() => pool.terminate());
      const runaway = pool.apply('hang');
      const fine = pool.apply('slowSquare', [3, 50]);
      await assert.rejects(runaway, (error: unknown) => error instanceof TaskTimeout && /taskTimeoutMs \(300 ms\)/.test(error.message));
      assert.equal(await fine, 9);
      assert.equal(await pool.apply('square', [8]), 64);
      // The replacement starts on the turn after the rejection (spawn() blocks): wait for it,
      // then check that exactly one was started.
      await waitUntil(() => pool.stats().restarts > 0, 'the timed-out worker is replaced');
      assert.equal(pool.stats().restarts, 1);
      assert.equal(pool.stats().crashed, 0, 'a worker stopped for a timeout is not a crash');
    });

    test('a per-call timeoutMs fails a queued or running task with TaskTimeout', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await pool.apply('square', [1]);
      const running = pool.apply('hang', [], { timeoutMs: 200 });
      const queued = pool.apply('square', [3], { timeoutMs: 100 });
      await assert.rejects(queued, TaskTimeout);
      await assert.rejects(running, TaskTimeout);
      assert.equal(await pool.apply('square', [2], { timeoutMs: 10_000 }), 4);
    });

    test('maxTasksPerWorker recycles workers', { timeout: 30_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation, maxTasksPerWorker: 3 });
      t.after(() => pool.terminate());
      const ids: unknown[] = [];
      for (let i = 0; i < 7; i++) ids.push(await pool.apply(isolation === 'process' ? 'pid' : 'getInit'));
      if (isolation === 'process') assert.equal(new Set(ids).size, 3, `pids: ${ids.join(' ')}`);
      assert.ok(pool.stats().restarts >= 2);
      assert.equal(pool.stats().crashed, 0);
    });

    test('maxQueue holds extra work back without losing it', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation, maxQueue: 2 });
      t.after(() => pool.terminate());
      const all = Array.from({ length: 30 }, (_, i) => pool.apply('slowSquare', [i, 2]));
      let most = 0;
      const watch = setInterval(() => { most = Math.max(most, pool.stats().queued); }, 1);
      await new Promise((resolve) => setImmediate(resolve));
      most = Math.max(most, pool.stats().queued);
      const results = await Promise.all(all);
      clearInterval(watch);
      assert.deepEqual(results, Array.from({ length: 30 }, (_, i) => i * i));
      assert.ok(most <= 2, `the queue held ${most} tasks with maxQueue 2`);
      assert.ok(most >= 1, 'the queue was used');
    });

    test('close finishes accepted work; close twice is one close; apply after close is PoolClosed', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const work = [pool.apply('slowSquare', [2, 100]), pool.apply('slowSquare', [3, 100]), pool.apply('slowSquare', [4, 100])];
      const first = pool.close();
      const second = pool.close();
      await Promise.all([first, second]);
      assert.deepEqual(await Promise.all(work), [4, 9, 16]);
      await assert.rejects(pool.apply('square', [1]), PoolClosed);
      await assert.rejects(pool.map('square', [1]), PoolClosed);
      assert.equal(pool.stats().workers, 0);
    });

    test('terminate rejects running and queued work with PoolClosed and returns', { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 1, isolation });
      t.after(() => pool.terminate());
      await pool.apply('square', [1]);
      const running = assert.rejects(pool.apply('hang'), PoolClosed);
      const queued = assert.rejects(pool.apply('square', [2]), PoolClosed);
      await pool.terminate();
      await running;
      await queued;
      assert.equal(pool.stats().workers, 0);
      await pool.terminate();
      await pool.close();
    });

    test('await using closes the pool', { timeout: 20_000 }, async () => {
      let leaked: Pool | undefined;
      {
        await using pool = new Pool({ module: tasks, workers: 1, isolation });
        leaked = pool;
        assert.equal(await pool.apply('square', [3]), 9);
      }
      assert.equal(leaked.stats().workers, 0);
      await assert.rejects(leaked.apply('square', [1]), PoolClosed);
    });

    test("stdout 'pipe' delivers whole lines of every worker", { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation, stdout: 'pipe' });
      t.after(() => pool.terminate());
      const chunks: string[] = [];
      pool.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      // Enough output to fill the pipes, so the last lines are still queued when the
      // workers are told to stop: none may be lost to their exit.
      await Promise.all([pool.apply('logMany', ['a', 3000]), pool.apply('logMany', ['b', 3000])]);
      await pool.close();
      await finished(pool.stdout as NodeJS.ReadableStream);
      const lines = chunks.join('').split('\n').filter(Boolean);
      assert.equal(lines.length, 6000);
      for (const line of lines) assert.match(line, /^[ab] line \d+ x{200}$/);
    });
  });
}

for (const isolation of ['process', 'thread'] as const) {
  test(`large binary arguments and results arrive intact (${isolation})`, { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1, isolation });
    t.after(() => pool.terminate());
    const big = Buffer.alloc(8 * 2 ** 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const back = await pool.apply('echo', [{ big, floats: new Float64Array(50_000).fill(0.5) }]) as { big: Buffer; floats: Float64Array };
    assert.ok(back.big.equals(big));
    assert.equal(back.floats[49_999], 0.5);
    assert.equal(await pool.apply('byteLength', [big]), big.length);
    const made = await pool.apply('bytes', [3 * 2 ** 20]) as Buffer;
    assert.equal(made.length, 3 * 2 ** 20);
    assert.equal(made[12345], 7);
    // The caller's buffer is untouched and still usable (nothing was moved away from it).
    assert.equal(big.length, 8 * 2 ** 20);
  });
}

describe('Pool edge cases', () => {
  for (const isolation of ['process', 'thread'] as const) {
    test(`imap and imapUnordered yield the results of the items read before the input threw, then reject with its error (${isolation})`,
      { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      const broken = new SyntaxError('input broke');
      function* input(): Generator<number> {
        for (let i = 0; ; i++) {
          if (i === 6) throw broken;
          yield i;
        }
      }
      // eslint-disable-next-line @typescript-eslint/require-await -- an async source with nothing to await is the case covered
      async function* asyncInput(): AsyncGenerator<number> { yield* input(); }
      const cases = [
        ['imap', true, {}], ['imap', true, { chunksize: 4 }], ['imapUnordered', false, {}], ['imapUnordered', false, { chunksize: 4 }],
      ] as const;
      for (const [name, ordered, options] of cases) {
        for (const source of [input, asyncInput]) {
          const seen: number[] = [];
          const iterate = ordered ? pool.imap('square', source(), options) : pool.imapUnordered('square', source(), options);
          await assert.rejects(async () => { for await (const value of iterate) seen.push(value as number); }, (error) => error === broken);
          const expected = [0, 1, 4, 9, 16, 25];
          assert.deepEqual(ordered ? seen : [...seen].sort((a, b) => a - b), expected, `${name} ${JSON.stringify(options)} ${source.name}`);
        }
      }
    });

    test(`close() right after construction still runs the initializer in every started worker (${isolation})`,
      { timeout: 20_000 }, async (t) => {
      const file = join(tempDir(t), 'inits');
      const pool = new Pool({ module: tasks, workers: 2, isolation, initializer: 'appendLine', initArgs: [file, 'init'] });
      t.after(() => pool.terminate());
      await pool.close();
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), ['init', 'init']);
    });

    test(`stats() counts tasks, not chunks: a map item is a task (${isolation})`, { timeout: 20_000 }, async (t) => {
      const pool = new Pool({ module: tasks, workers: 2, isolation });
      t.after(() => pool.terminate());
      await pool.map('square', Array.from({ length: 1000 }, (_, i) => i));
      assert.equal(pool.stats().completed, 1000);
      await pool.mapSettled('fail', ['a', 'b', 'c'], { chunksize: 3 });
      assert.equal(pool.stats().failed, 3);
      assert.equal(pool.stats().completed, 1000);
    });
  }

  test('a settled call leaves no listener on its signal: apply, map, starmap, mapSettled, imap, imapUnordered; success, error and abort',
    { timeout: 60_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 2 });
    t.after(() => pool.terminate());
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => { warnings.push(warning.name); };
    process.on('warning', onWarning);
    t.after(() => { process.off('warning', onWarning); });
    const drain = async (iterable: AsyncIterable<unknown>): Promise<void> => { for await (const value of iterable) void value; };
    const calls: Record<string, (fn: string, args: unknown[], signal: AbortSignal) => Promise<unknown>> = {
      apply: (fn, args, signal) => pool.apply(fn, args, { signal }),
      map: (fn, args, signal) => pool.map(fn, Array.from({ length: 40 }, () => args[0]), { signal }),
      starmap: (fn, args, signal) => pool.starmap(fn, Array.from({ length: 40 }, () => args), { signal }),
      mapSettled: (fn, args, signal) => pool.mapSettled(fn, Array.from({ length: 40 }, () => args[0]), { signal }),
      imap: (fn, args, signal) => drain(pool.imap(fn, Array.from({ length: 40 }, () => args[0]), { signal })),
      imapUnordered: (fn, args, signal) => drain(pool.imapUnordered(fn, Array.from({ length: 40 }, () => args[0]), { signal })),
    };
    const shared = new AbortController().signal;
    for (const [name, call] of Object.entries(calls)) {
      await call('square', [3], shared);
      assert.equal(getEventListeners(shared, 'abort').length, 0, `${name} succeeded`);
      await call('fail', ['no'], shared).catch(() => undefined);
      assert.equal(getEventListeners(shared, 'abort').length, 0, `${name} failed`);
      const controller = new AbortController();
      const pending = call('sleep', [5000], controller.signal);
      setImmediate(() => controller.abort());
      const outcome = await pending.then((value) => value, (error: unknown) => error);
      if (name !== 'mapSettled') assert.ok(outcome instanceof AbortError, `${name} aborted: ${String(outcome)}`);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0, `${name} aborted`);
    }
    for (let i = 0; i < 20; i++) await drain(pool.imap('square', Array.from({ length: 50 }, (_, j) => j), { signal: shared }));
    assert.equal(getEventListeners(shared, 'abort').length, 0, '20 imap loops');
    assert.ok(!warnings.includes('MaxListenersExceededWarning'), `warnings: ${warnings.join(', ')}`);
  });

  test('apply timeoutMs follows the one reading of timeouts; taskTimeoutMs: Infinity is no limit', { timeout: 20_000 }, async (t) => {
    const pool = new Pool({ module: tasks, workers: 1 });
    t.after(() => pool.terminate());
    const file = join(tempDir(t), 'ran');
    for (const timeoutMs of [0, -5]) {
      await assert.rejects(pool.apply('appendLine', [file, 'ran'], { timeoutMs }), TaskTimeout);
    }
    assert.equal(await pool.apply('square', [3], { timeoutMs: Infinity }), 9);
    assert.equal(await pool.apply('square', [4], { timeoutMs: 2 ** 40 }), 16);
    assert.equal(await pool.apply('square', [5], { timeoutMs: 12.5 }), 25);
    for (const timeoutMs of [Number.NaN, '100', null]) {
      await assert.rejects(pool.apply('square', [1], { timeoutMs: timeoutMs as number }), TypeError);
    }
    assert.throws(() => statSync(file), /ENOENT/, 'a task with no time to run never ran');
    const unlimited = new Pool({ module: tasks, workers: 1, taskTimeoutMs: Infinity });
    t.after(() => unlimited.terminate());
    assert.equal(await unlimited.apply('slowSquare', [6, 30]), 36);
  });

  test('recycling never runs more worker processes than `workers`', { timeout: 60_000 }, async (t) => {
    const pool = new Pool({ module: fixture('pool-recycle.mjs'), workers: 2, maxTasksPerWorker: 1 });
    t.after(() => pool.terminate());
    const counts = await Promise.all(Array.from({ length: 40 }, () => pool.apply('siblings') as Promise<number>));
    assert.ok(Math.max(...counts) <= 2, `a task saw ${Math.max(...counts)} worker processes: ${counts.join(' ')}`);
    assert.equal(pool.stats().crashed, 0);
  });
});
