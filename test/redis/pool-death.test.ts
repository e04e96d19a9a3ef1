// Worker hosts of a Redis pool dying for real: SIGKILL mid-task (taken over after the lease, charged an attempt),
// SIGTERM (drains) and a second SIGTERM (gives its task back uncharged).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { Pool, Queue, WorkerCrashed } from 'procsafe';
import { fixture, repoRoot, tempDir, waitUntil } from '../helpers/index.js';
import { netnsLink, redisCli, runsIn, startHost } from '../helpers/redis-hosts.js';
import { redisMissing, startRedis } from '../helpers/redis-server.js';

const skip = redisMissing();
const tasks = fixture('redis-pool-tasks.mjs');
const kLeaseMs = 400;
const fresh = (): string => `t-${randomUUID()}`;

test('a worker host SIGKILLed mid-task: the task completes on another host, once more than it started; tasks it had not started run once',
  { timeout: 40_000, skip }, async (t) => {
    const server = await startRedis(t);
    const dir = tempDir(t);
    const name = fresh();
    const doomed = await startHost(t, server.url, name, kLeaseMs);
    const pool = new Pool({ redis: server.url, name, module: tasks, retries: 1, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'hang');
    const hung = pool.apply('hangFirstRun', [marks, 'done']);
    await waitUntil(() => runsIn(marks).length === 1, 'the task started on the first host');
    assert.equal(runsIn(marks)[0]?.host, doomed.pid);
    // Queued while the first host was busy with its one worker: never started there.
    const waiting = [0, 1, 2].map((i) => pool.apply('markThenSleep', [join(dir, `w${i}`), 0, i]));
    await startHost(t, server.url, name, kLeaseMs);
    doomed.process.kill('SIGKILL');
    const killedAt = performance.now();
    assert.equal(await hung, 'done');
    t.diagnostic(`taken over and finished ${Math.round(performance.now() - killedAt)} ms after the SIGKILL (leaseMs ${kLeaseMs})`);
    const runs = runsIn(marks);
    assert.equal(runs.length, 2);
    assert.notEqual(runs[1]?.host, doomed.pid);
    assert.deepEqual(await Promise.all(waiting), [0, 1, 2]);
    for (let i = 0; i < 3; i++) assert.equal(runsIn(join(dir, `w${i}`)).length, 1);
  });

test('a worker host SIGKILLed mid-task with no retries left: WorkerCrashed names the host, even with no host left to notice',
  { timeout: 40_000, skip }, async (t) => {
    const server = await startRedis(t);
    const dir = tempDir(t);
    const name = fresh();
    const doomed = await startHost(t, server.url, name, kLeaseMs);
    const pool = new Pool({ redis: server.url, name, module: tasks, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'hang');
    const hung = pool.apply('hangFirstRun', [marks, 'done']);
    await waitUntil(() => runsIn(marks).length === 1, 'the task started');
    doomed.process.kill('SIGKILL');
    await assert.rejects(hung, (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed);
      assert.equal(error.attempts, 1);
      assert.equal(error.pid, doomed.pid);
      assert.match(error.message, new RegExp(`host .* \\(pid ${doomed.pid}\\) stopped renewing its lease .* 0 of 0 retries left`));
      return true;
    });
    assert.equal(runsIn(marks).length, 1);
    await pool.close();
  });

test('SIGTERM drains a worker host: its running task finishes and is delivered, it takes no new task, and exits 0',
  { timeout: 40_000, skip }, async (t) => {
    const server = await startRedis(t);
    const dir = tempDir(t);
    const name = fresh();
    const host = await startHost(t, server.url, name, kLeaseMs);
    const pool = new Pool({ redis: server.url, name, module: tasks, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'sleep');
    const running = pool.apply('markThenSleep', [marks, 1000, 'finished']);
    await waitUntil(() => runsIn(marks).length === 1, 'the task started');
    host.process.kill('SIGTERM');
    await waitUntil(() => host.stderr().includes('draining'), 'the host drains');
    const later = pool.apply('square', [5]);
    assert.equal(await running, 'finished');
    assert.equal(await host.exited, 0);
    // The task submitted while it drained waits in Redis for another host.
    assert.equal(redisCli(server.port, 'LLEN', `procsafe:{${name}}:tasks`), '1');
    await startHost(t, server.url, name, kLeaseMs);
    assert.equal(await later, 25);
  });

test('a second SIGTERM stops a draining host at once and gives its task back uncharged', { timeout: 40_000, skip }, async (t) => {
  const server = await startRedis(t);
  const dir = tempDir(t);
  const name = fresh();
  const host = await startHost(t, server.url, name, kLeaseMs);
  // No retries: a charged attempt would end the task as WorkerCrashed.
  const pool = new Pool({ redis: server.url, name, module: tasks, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
  t.after(() => pool.terminate());
  const marks = join(dir, 'hang');
  const hung = pool.apply('hangFirstRun', [marks, 'rerun']);
  await waitUntil(() => runsIn(marks).length === 1, 'the task started');
  host.process.kill('SIGTERM');
  await waitUntil(() => host.stderr().includes('draining'), 'the host drains');
  host.process.kill('SIGTERM');
  assert.equal(await host.exited, 143);
  const worker = runsIn(marks)[0]?.pid as number;
  await waitUntil(() => !isRunning(worker), 'the host\'s worker is gone');
  await startHost(t, server.url, name, kLeaseMs);
  assert.equal(await hung, 'rerun');
  assert.equal(runsIn(marks).length, 2);
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('procsafe status --redis shows the pool, its hosts with pid and workers, and the task each runs',
  { timeout: 40_000, skip }, async (t) => {
  const server = await startRedis(t);
  const dir = tempDir(t);
  const name = fresh();
  const host = await startHost(t, server.url, name, kLeaseMs, 2);
  const pool = new Pool({ redis: server.url, name, module: tasks, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
  t.after(() => pool.terminate());
  const marks = join(dir, 'sleep');
  const running = pool.apply('markThenSleep', [marks, 60_000, 'x']);
  running.catch(() => {});
  await waitUntil(() => runsIn(marks).length === 1, 'the task started');
  const queue = new Queue<number>({ redis: server.url, name: fresh(), redisTimeoutMs: 1000 });
  await queue.put(1);
  await queue.disconnect();
  const main = new URL('dist/cli/main.js', repoRoot).pathname;
  const text = spawnSync(process.execPath, [main, 'status', '--redis', server.url], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`pool "${name}": 0 queued, 1 running on 1 host\\(s\\)`));
  assert.match(text.stdout, new RegExp(`\\b${host.pid}\\b.*\\b2\\b.*ago`));
  assert.match(text.stdout, /markThenSleep/);
  const json = spawnSync(process.execPath, [main, 'status', '--redis', server.url, '--json'], { encoding: 'utf8' });
  const report = JSON.parse(json.stdout) as { queues: { size: number }[]; pools: { hosts: { pid: number; tasks: unknown[] }[] }[] };
  assert.equal(report.queues[0]?.size, 1);
  assert.equal(report.pools[0]?.hosts[0]?.pid, host.pid);
  assert.equal(report.pools[0]?.hosts[0]?.tasks.length, 1);
  await pool.terminate();
});

const netnsSkip = skip ?? (process.getuid?.() === 0 ? undefined : 'needs root for ip netns');

test('a worker host whose link is cut mid-task: the task re-runs elsewhere after the lease, and the stale host\'s late result is ' +
  'discarded when the link comes back', { timeout: 40_000, skip: netnsSkip }, async (t) => {
  const server = await startRedis(t);
  const link = netnsLink(t);
  if (link === undefined) {
    t.skip('could not make a network namespace with a veth pair (ip netns)');
    return;
  }
  // The server listens on the veth too (bind is settable at runtime since Redis 7), a private link of this test's, where
  // protected mode would refuse a client without a password.
  redisCli(server.port, 'CONFIG', 'SET', 'bind', `127.0.0.1 ${link.outside}`);
  redisCli(server.port, 'CONFIG', 'SET', 'protected-mode', 'no');
  const dir = tempDir(t);
  const name = fresh();
  const cutOff = await startHost(t, `redis://${link.outside}:${server.port}`, name, kLeaseMs, 1, undefined, link.name);
  const pool = new Pool({ redis: server.url, name, module: tasks, retries: 1, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
  t.after(() => pool.terminate());
  const marks = join(dir, 'cut');
  const result = pool.apply('hostAfter', [marks, 1500]);
  await waitUntil(() => runsIn(marks).length === 1, 'the task started in the namespace');
  const other = await startHost(t, server.url, name, kLeaseMs);
  link.cut();
  assert.equal(await result, other.pid);
  const runs = runsIn(marks);
  assert.equal(runs.length, 2);
  assert.equal(runs[0]?.host, cutOff.pid);
  // The cut-off host finished its run meanwhile; back online, it reports it, is refused, and joins again.
  link.restore();
  await waitUntil(() => redisCli(server.port, 'ZCARD', `procsafe:{${name}}:hosts`) === '2', 'the cut-off host joined again', 20_000);
  assert.equal(redisCli(server.port, '--scan', '--pattern', `procsafe:{${name}}:res:*`), '');
  assert.equal(redisCli(server.port, 'LLEN', `procsafe:{${name}}:tasks`), '0');
  await pool.close();
});

test('a worker host SIGKILLed with sub-millisecond tasks waiting behind its running one: only the running task is charged, ' +
  'the others re-run uncharged', { timeout: 40_000, skip }, async (t) => {
  const server = await startRedis(t);
  const dir = tempDir(t);
  const name = fresh();
  const doomed = await startHost(t, server.url, name, kLeaseMs);
  // No retries: a task charged for the death would reject WorkerCrashed.
  const pool = new Pool({ redis: server.url, name, module: tasks, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
  t.after(() => pool.terminate());
  // Short tasks first: the host learns they take well under a millisecond and takes several per worker.
  await Promise.all(Array.from({ length: 300 }, (_, i) => pool.apply('square', [i])));
  const marks = join(dir, 'hang');
  const hung = pool.apply('hangFirstRun', [marks, 'x']);
  // It may reject before the next host is up (the submitter itself takes a dead host over).
  hung.catch(() => {});
  const behind = Array.from({ length: 4 }, (_, i) => pool.apply('markThenSleep', [join(dir, `b${i}`), 0, i]));
  await waitUntil(() => runsIn(marks).length === 1, 'the task started');
  const held = redisCli(server.port, '--scan', '--pattern', `procsafe:{${name}}:held:*`);
  assert.equal(redisCli(server.port, 'HLEN', held), '5', 'the host holds the waiting tasks too');
  doomed.process.kill('SIGKILL');
  await startHost(t, server.url, name, kLeaseMs);
  await assert.rejects(hung, (error: unknown) => error instanceof WorkerCrashed && error.attempts === 1);
  assert.deepEqual(await Promise.all(behind), [0, 1, 2, 3]);
  for (let i = 0; i < 4; i++) assert.equal(runsIn(join(dir, `b${i}`)).length, 1);
  await pool.close();
});

test('a poison task that kills its whole host every time rejects WorkerCrashed after exactly retries + 1 attempts; the pool serves on',
  { timeout: 40_000, skip }, async (t) => {
    const server = await startRedis(t);
    const dir = tempDir(t);
    const name = fresh();
    const pool = new Pool({ redis: server.url, name, module: tasks, retries: 1, leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
    t.after(() => pool.terminate());
    const marks = join(dir, 'poison');
    const poison = pool.apply('killHost', [marks]);
    poison.catch(() => {});
    // Each host it reaches dies; the next one is started once the last is gone.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const host = await startHost(t, server.url, name, kLeaseMs);
      assert.equal(await host.exited, 'SIGKILL');
      assert.equal(runsIn(marks).length, attempt);
    }
    await assert.rejects(poison, (error: unknown) => {
      assert.ok(error instanceof WorkerCrashed);
      assert.equal(error.attempts, 2);
      assert.match(error.message, /stopped renewing its lease .* 0 of 1 retries left/);
      return true;
    });
    await startHost(t, server.url, name, kLeaseMs);
    assert.equal(await pool.apply('square', [6]), 36);
    assert.equal(runsIn(marks).length, 2);
    await pool.close();
  });
