// currentProcess(), parentProcess(), activeChildren() and cpuCount(), in the main process, in a Process child, in a
// grandchild whose parent was SIGKILLed, and in pool workers of both isolations.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test, type TestContext } from 'node:test';
import {
  activeChildren, cpuCount, type CurrentProcessInfo, currentProcess, type ParentProcessInfo, parentProcess, Pool, Process, Queue,
} from 'procsafe';
import { fixture, isAlive, waitForExit } from '../helpers/index.js';

const identityTasks = fixture('identity-tasks.mjs');
const procTasks = fixture('proc-tasks.mjs');

interface Who { readonly current: CurrentProcessInfo; readonly parent: ParentProcessInfo | null }

function queue<T>(t: TestContext): Queue<T> {
  const q = new Queue<T>();
  t.after(() => q.close());
  return q;
}

test('in the main process: MainProcess, no parent, and cpuCount() is availableParallelism()', { timeout: 10_000 }, () => {
  assert.deepEqual({ ...currentProcess() }, { name: 'MainProcess', pid: process.pid, daemon: false });
  assert.equal(parentProcess(), null);
  assert.equal(cpuCount(), availableParallelism());
});

for (const daemon of [false, true]) {
  test(`in a Process child (daemon: ${daemon}): its own name, pid and daemon; the main process as its live parent`,
    { timeout: 20_000 }, async (t) => {
    const q = queue<Who>(t);
    const p = new Process({ module: identityTasks, fn: 'reportWho', args: [q], name: 'reporter', daemon, stdout: 'ignore' });
    t.after(() => { p.kill('SIGKILL'); });
    await p.start();
    const who = await q.get({ timeoutMs: 10_000 });
    assert.deepEqual(who.current, { name: 'reporter', pid: p.pid, daemon });
    assert.deepEqual(who.parent, { name: 'MainProcess', pid: process.pid, isAlive: true });
    assert.deepEqual(await p.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
  });
}

test('activeChildren() holds a started Process until it exits, and never one not started', { timeout: 20_000 }, async (t) => {
  const q = queue<number>(t);
  const p = new Process({ module: procTasks, fn: 'noop', stdout: 'ignore', stderr: 'ignore' });
  const waiter = new Process({ module: identityTasks, fn: 'waitForWord', args: [q], stdout: 'ignore', stderr: 'ignore' });
  t.after(() => { p.kill('SIGKILL'); waiter.kill('SIGKILL'); });
  assert.ok(!activeChildren().includes(p));
  await p.start();
  await waiter.start();
  assert.ok(activeChildren().includes(waiter));
  await p.join({ timeoutMs: 10_000 });
  assert.ok(!activeChildren().includes(p), 'an exited Process is no longer active');
  assert.ok(activeChildren().includes(waiter), 'one still running stays');
  await q.put(1);
  await waiter.join({ timeoutMs: 10_000 });
  assert.ok(!activeChildren().includes(waiter));
});

test('a grandchild knows its parent by name and pid, and sees it dead once it was SIGKILLed', { timeout: 40_000 }, async (t) => {
  const q = queue<Who | { grandchild: number; active: number[] } | { parentAlive: boolean | null }>(t);
  const go = queue<number>(t);
  const middle = new Process({
    module: identityTasks, fn: 'startGrandchild', args: [q, go], name: 'middle', stdout: 'ignore', stderr: 'ignore',
  });
  t.after(() => { middle.kill('SIGKILL'); });
  await middle.start();
  const first = await q.get({ timeoutMs: 10_000 });
  const second = await q.get({ timeoutMs: 10_000 });
  // The grandchild's report and the middle's may arrive in either order.
  const [who, started] = 'current' in first ? [first, second] : [second, first];
  assert.ok('grandchild' in started, JSON.stringify(started));
  const grandchild = started.grandchild;
  t.after(() => { if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL'); });
  assert.deepEqual(started.active, [grandchild], 'the middle process lists its running child');
  assert.ok('current' in who);
  assert.deepEqual(who.current, { name: 'grandchild', pid: grandchild, daemon: false });
  assert.deepEqual(who.parent, { name: 'middle', pid: middle.pid, isAlive: true });

  middle.kill('SIGKILL');
  assert.equal((await middle.join({ timeoutMs: 10_000 })).signal, 'SIGKILL');
  // Reaped by now: its pid is free, and the grandchild (not a daemon) runs on.
  assert.ok(isAlive(grandchild));
  await go.put(1);
  assert.deepEqual(await q.get({ timeoutMs: 10_000 }), { parentAlive: false });
  assert.ok(await waitForExit(grandchild, 10_000), 'the grandchild exits once its function returned');
});

for (const isolation of ['process', 'thread'] as const) {
  test(`in a pool worker (${isolation}): named for its pool and id, daemonic; the pool's process as its live parent`,
    { timeout: 30_000 }, async (t) => {
    // One task per worker: the second task runs in the replacement, worker 2.
    const pool = new Pool({ module: identityTasks, workers: 1, maxTasksPerWorker: 1, name: 'crunch', isolation });
    t.after(() => pool.terminate());
    const first = await pool.apply('whoami') as Who;
    const second = await pool.apply('whoami') as Who;
    assert.equal(first.current.name, 'crunch-1');
    assert.equal(second.current.name, 'crunch-2');
    for (const who of [first, second]) {
      assert.equal(who.current.daemon, true);
      assert.deepEqual(who.parent, { name: 'MainProcess', pid: process.pid, isAlive: true });
      if (isolation === 'thread') assert.equal(who.current.pid, process.pid, 'a thread worker has the pid of its process');
      else assert.notEqual(who.current.pid, process.pid);
    }
    if (isolation === 'process') assert.notEqual(first.current.pid, second.current.pid);
  });
}
