/** Pool options are checked at construction, before anything is spawned, with messages naming the option and value. */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, SerializationError, type PoolOptions } from 'procsafe';
import { resolvePoolOptions } from '../../dist/pool/options.js';
import { childPids, tasks } from '../helpers/index.js';

type ErrorClass = typeof TypeError | typeof RangeError | typeof SerializationError;

/** Constructs a pool from untyped options (the point is to get them wrong), expecting `Class` with a message matching every pattern. */
function expectRefused(t: TestContext, options: unknown, Class: ErrorClass, ...patterns: RegExp[]): Error {
  const before = childPids(process.pid);
  let caught: unknown;
  try {
    const pool = new Pool(options as PoolOptions);
    t.after(() => pool.terminate());
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Class, `expected ${Class.name}, got ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  assert.deepEqual(childPids(process.pid), before, 'nothing was spawned');
  return caught;
}

const kT = { timeout: 5_000 };

describe('Pool options are validated at construction', () => {
  test('workers: 0 is a RangeError', kT, (t) => {
    expectRefused(t, { module: tasks, workers: 0 }, RangeError, /`workers`/, /got 0/);
  });
  test('workers: -1 and 1.5', kT, (t) => {
    expectRefused(t, { module: tasks, workers: -1 }, RangeError, /`workers`/, /-1/);
    expectRefused(t, { module: tasks, workers: 1.5 }, TypeError, /`workers`/, /1\.5/);
  });
  test("workers: '2' is a TypeError", kT, (t) => {
    expectRefused(t, { module: tasks, workers: '2' }, TypeError, /`workers`/, /"2"/, /string/);
  });
  test("isolation: 'fork'", kT, (t) => {
    expectRefused(t, { module: tasks, isolation: 'fork' }, TypeError, /`isolation`/, /"fork"/, /'process', 'thread'/);
  });
  test('retries: -1 is a RangeError', kT, (t) => {
    expectRefused(t, { module: tasks, retries: -1 }, RangeError, /`retries`/, /-1/);
  });
  test('taskTimeoutMs: 0 and -1 are RangeErrors; NaN and a string TypeErrors', kT, (t) => {
    expectRefused(t, { module: tasks, taskTimeoutMs: 0 }, RangeError, /`taskTimeoutMs`/, /got 0/);
    expectRefused(t, { module: tasks, taskTimeoutMs: -1 }, RangeError, /`taskTimeoutMs`/, /got -1/);
    expectRefused(t, { module: tasks, taskTimeoutMs: -Infinity }, RangeError, /`taskTimeoutMs`/, /got -Infinity/);
    expectRefused(t, { module: tasks, taskTimeoutMs: NaN }, TypeError, /`taskTimeoutMs`/, /NaN/);
    expectRefused(t, { module: tasks, taskTimeoutMs: '5' }, TypeError, /`taskTimeoutMs`/, /"5"/);
  });
  test('taskTimeoutMs is read as every timeoutMs: Infinity or past a timer is no limit, a fraction rounds up', kT, () => {
    const read = (taskTimeoutMs: number): number | undefined => resolvePoolOptions({ module: tasks, taskTimeoutMs }).taskTimeoutMs;
    assert.equal(read(Infinity), undefined);
    assert.equal(read(2 ** 31), undefined);
    assert.equal(read(2 ** 31 - 1), 2 ** 31 - 1);
    assert.equal(read(1.5), 2);
    assert.equal(read(300), 300);
    assert.equal(resolvePoolOptions({ module: tasks }).taskTimeoutMs, undefined);
  });
  test("maxMemoryMb: 'big'", kT, (t) => {
    expectRefused(t, { module: tasks, maxMemoryMb: 'big' }, TypeError, /`maxMemoryMb`/, /"big"/);
  });
  test("stdout: 'loud' and stderr: 42", kT, (t) => {
    expectRefused(t, { module: tasks, stdout: 'loud' }, TypeError, /`stdout`/, /"loud"/, /'prefix'/);
    expectRefused(t, { module: tasks, stderr: 42 }, TypeError, /`stderr`/, /42/);
  });
  test('maxTasksPerWorker: 0, maxQueue: 0', kT, (t) => {
    expectRefused(t, { module: tasks, maxTasksPerWorker: 0 }, RangeError, /`maxTasksPerWorker`/);
    expectRefused(t, { module: tasks, maxQueue: 0 }, RangeError, /`maxQueue`/);
  });
  test("initializer: '', initArgs: 'x', execArgv: 'x', env: 'x', name: 5", kT, (t) => {
    expectRefused(t, { module: tasks, initializer: '' }, TypeError, /`initializer`/);
    expectRefused(t, { module: tasks, initArgs: 'x' }, TypeError, /`initArgs`/, /"x"/);
    expectRefused(t, { module: tasks, execArgv: 'x' }, TypeError, /`execArgv`/);
    expectRefused(t, { module: tasks, env: 'x' }, TypeError, /`env`/);
    expectRefused(t, { module: tasks, name: 5 }, TypeError, /`name`/, /5/);
  });
  test('an unknown option (worker: 2) is a TypeError that lists the real ones', kT, (t) => {
    expectRefused(t, { module: tasks, worker: 2 }, TypeError, /Unknown option `worker`/, /workers/);
  });
  test("module: './relative.js' suggests new URL(..., import.meta.url)", kT, (t) => {
    expectRefused(t, { module: './relative.js' }, TypeError, /`module`/, /"\.\/relative\.js"/,
      /new URL\('\.\/relative\.js', import\.meta\.url\)/);
    expectRefused(t, { module: 'relative.js' }, TypeError, /new URL\('\.\/relative\.js', import\.meta\.url\)/);
  });
  test('module: 42, a missing module, and no options at all', kT, (t) => {
    expectRefused(t, { module: 42 }, TypeError, /`module`/, /42/);
    expectRefused(t, { workers: 1 }, TypeError, /`module`/);
    expectRefused(t, { module: '' }, TypeError, /`module`/);
    expectRefused(t, undefined, TypeError, /options/);
    expectRefused(t, null, TypeError, /options/);
  });
  test('initArgs containing a function is a SerializationError', kT, (t) => {
    const error = expectRefused(t, { module: tasks, workers: 1, initializer: 'init', initArgs: [() => 1] }, SerializationError,
      /initArgs/, /function/);
    assert.ok(error instanceof SerializationError);
    assert.match(error.path, /initArgs\[0\]$/);
  });
  test('the same for isolation: thread', kT, (t) => {
    expectRefused(t, { module: tasks, isolation: 'thread', workers: 0 }, RangeError, /`workers`/);
    expectRefused(t, { module: tasks, isolation: 'thread', workers: 1, initArgs: [Symbol('s')] }, SerializationError, /initArgs/);
  });
});

test('the SerializationError for initArgs names the exact path', kT, (t) => {
  const error = expectRefused(t, { module: tasks, workers: 1, initArgs: [() => 1] }, SerializationError);
  assert.ok(error instanceof SerializationError);
  assert.equal(error.path, 'initArgs[0]');
});
