// The Redis Pool: the Pool API on Redis, naming, a poison task, and a CPU-bound task that keeps its lease. Every test
// has its own redis-server and pool name; workers and hosts are real processes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pool, Queue, RemoteError, SerializationError, WorkerCrashed } from 'procsafe';
import { runNode } from '../helpers/children.js';
import { fixture, repoRoot, tempDir, waitUntil } from '../helpers/index.js';
import { redisCli, runsIn, startHost } from '../helpers/redis-hosts.js';
import { redisMissing, startRedis } from '../helpers/redis-server.js';

const skip = redisMissing();
const tasks = fixture('redis-pool-tasks.mjs');
const fresh = (): string => `t-${randomUUID()}`;

test('a Redis pool served by its own workers: apply, map, starmap, errors, stats; nothing left in Redis after',
  { timeout: 30_000, skip }, async (t) => {
    const server = await startRedis(t);
    const name = fresh();
    const pool = new Pool({ redis: server.url, name, module: tasks, workers: 2, leaseMs: 500, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    assert.equal(await pool.apply('square', [7]), 49);
    assert.deepEqual(await pool.map('square', [1, 2, 3, 4, 5], { chunksize: 2 }), [1, 4, 9, 16, 25]);
    assert.deepEqual(await pool.starmap('square', [[2], [3]]), [4, 9]);
    await assert.rejects(pool.apply('fail', ['nope']), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.remoteName, 'RangeError');
      assert.equal(error.message, 'nope');
      return true;
    });
    const stats = pool.stats();
    assert.equal(stats.completed, 8);
    assert.equal(stats.failed, 1);
    await pool.close();
    // Results are trimmed as read, the host left: only the empty keys' absence remains.
    assert.equal(redisCli(server.port, '--scan', '--pattern', `procsafe:{${name}}:*`), '');
  });

test('a local object in a task\'s arguments is refused with SerializationError', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const name = fresh();
  const pool = new Pool({ redis: server.url, name, module: tasks, workers: 1, leaseMs: 500, redisTimeoutMs: 1000 });
  t.after(() => pool.terminate());
  const local = new Queue<number>();
  t.after(() => local.close());
  await assert.rejects(pool.apply('square', [local]), (error: unknown) => error instanceof SerializationError && error.path === 'args[0]');
  assert.equal(await pool.apply('square', [4]), 16);
  await pool.close();
});

test('two pools with different names on one Redis never see each other\'s tasks', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const a = new Pool({ redis: server.url, name: fresh(), module: tasks, workers: 1, leaseMs: 500, redisTimeoutMs: 1000 });
  const b = new Pool({
    redis: server.url, name: fresh(), module: fixture('redis-pool-tasks-b.mjs'), workers: 1, leaseMs: 500, redisTimeoutMs: 1000,
  });
  t.after(() => Promise.all([a.terminate(), b.terminate()]));
  const n = 30;
  const [fromA, fromB] = await Promise.all([
    Promise.all(Array.from({ length: n }, () => a.apply('which'))),
    Promise.all(Array.from({ length: n }, () => b.apply('which'))),
  ]);
  assert.deepEqual(fromA, new Array(n).fill('a'));
  assert.deepEqual(fromB, new Array(n).fill('b'));
  await Promise.all([a.close(), b.close()]);
});

test('a poison task that kills its worker every time rejects WorkerCrashed after exactly retries + 1 attempts; the pool keeps serving',
  { timeout: 40_000, skip }, async (t) => {
    const server = await startRedis(t);
    const dir = tempDir(t);
    const pool = new Pool({ redis: server.url, name: fresh(), module: tasks, workers: 1, retries: 2, leaseMs: 500, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'poison');
    await assert.rejects(pool.apply('killWorker', [marks]), (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed);
      assert.equal(error.attempts, 3);
      assert.equal(error.signal, 'SIGKILL');
      assert.match(error.message,
        /on host .* \(pid \d+\) was killed by SIGKILL while running task \d+ \("killWorker"\); 0 of 2 retries left/);
      return true;
    });
    assert.equal(runsIn(marks).length, 3);
    assert.equal(await pool.apply('square', [3]), 9);
    await pool.close();
  });

test('a CPU-bound task that runs for 3 x leaseMs, while its host\'s own event loop is blocked as long, is never taken over',
  { timeout: 40_000, skip }, async (t) => {
    // Long enough that a loaded machine (2 cores, two spinning processes here) never starves a renewal by chance.
    const leaseMs = 1000;
    const server = await startRedis(t);
    const dir = tempDir(t);
    const name = fresh();
    const pool = new Pool({ redis: server.url, name, module: tasks, workers: 1, leaseMs, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'spin');
    const result = pool.apply('markThenSpin', [marks, 3 * leaseMs]);
    await waitUntil(() => runsIn(marks).length === 1, 'the task started');
    // An idle host that would take the task over if this process's lease lapsed.
    await startHost(t, server.url, name, leaseMs);
    const end = Date.now() + 3 * leaseMs;
    while (Date.now() < end);
    assert.equal(await result, 1);
    assert.equal(runsIn(marks).length, 1);
    await pool.close();
  });

test('an idle Redis pool, served or not by its own workers, never keeps a plain node process alive',
  { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const ran = await runNode(t, [fixture('redis-pool-idle.mjs').pathname, server.url, fresh(), tasks.pathname], { cwd: repoRoot });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), '[9,16]');
});
