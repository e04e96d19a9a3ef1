// The same objects used from the owner, from a Process and from Pool workers of
// both isolations: handles travel in arguments and behave the same everywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinableQueue, Lock, Pool, Process, Queue } from 'procsafe';
import { fixture, startChild } from '../helpers/index.js';

const queueTasks = fixture('queue-tasks.mjs');

for (const isolation of ['process', 'thread'] as const) {
  test(`${isolation} pool workers put, get, taskDone and lock through handles passed as task arguments`, { timeout: 30_000 }, async () => {
    await using pool = new Pool({ module: queueTasks, workers: 2, isolation });
    const q = new Queue<number>();
    const jq = new JoinableQueue<string>();
    await jq.putMany(Array.from({ length: 20 }, (_, i) => `job ${i}`));
    const took = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.apply('roundTrip', [q, jq, [i * 2, i * 2 + 1]])));
    assert.deepEqual([...took].sort(), Array.from({ length: 20 }, (_, i) => `job ${i}`).sort());
    await jq.join();
    assert.equal(await q.qsize(), 40);
    const got: number[] = [];
    for (let i = 0; i < 40; i++) got.push(await q.get());
    assert.deepEqual(got.sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));

    const lock = new Lock();
    const counter = new Queue<number>();
    await counter.put(0);
    await Promise.all(Array.from({ length: 50 }, () => pool.apply('lockedIncrement', [lock, counter])));
    assert.equal(await counter.get(), 50, 'no increment was lost: the lock excluded the others');
  });
}

test('a Process uses the same handles: the locked counter and the queue agree with the pool', { timeout: 30_000 }, async () => {
  const lock = new Lock();
  const counter = new Queue<number>();
  await counter.put(0);
  const processes = Array.from({ length: 3 },
    () => new Process({ module: queueTasks, fn: 'lockedIncrement', args: [lock, counter], stdout: 'ignore' }));
  await Promise.all(processes.map((p) => p.start()));
  for (const p of processes) assert.deepEqual(await p.join(), { exitCode: 0, signal: null });
  assert.equal(await counter.get(), 3);
});

test('inspect() names every client by pid: a reader parked in get(), a lock holder, the owner itself', { timeout: 30_000 }, async (t) => {
  const q = new Queue<string>();
  const ready = new Queue<number>();
  const out = new Queue<unknown>();
  const reader = await startChild(t, 'getAndReport', [q, ready, out]);
  assert.equal(await ready.get(), reader.pid);
  // The reader said so just before get(): wait until its get is parked at the owner.
  await waitUntilAsync(async () => (await q.inspect()).gets.length === 1, 'the reader is parked in get()');
  assert.deepEqual((await q.inspect()).gets.map((g) => g.pid), [reader.pid]);

  const lock = new Lock();
  const held = new Queue<{ pid: number }>();
  const holder = await startChild(t, 'holdAndHang', [lock, held]);
  assert.equal((await held.get()).pid, holder.pid);
  assert.deepEqual((await lock.inspect()).holders.map((h) => h.pid), [holder.pid]);

  await q.put('for the reader');
  assert.deepEqual(await out.get(), { pid: reader.pid, ok: true, value: 'for the reader' });
  // The owner's own main thread is a client too, named by its pid.
  const own = q.get({ timeoutMs: 10_000 });
  await waitUntilAsync(async () => (await q.inspect()).gets.length === 1, 'the owner\'s get is parked');
  assert.deepEqual((await q.inspect()).gets.map((g) => g.pid), [process.pid]);
  await q.put('for the owner');
  assert.equal(await own, 'for the owner');
});

/** As waitUntil, for a condition that needs an await (an inspect() round trip). */
async function waitUntilAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('an Error value crosses whole: code and path from a child, a handle inside an error\'s property', { timeout: 30_000 }, async () => {
  const q = new Queue<NodeJS.ErrnoException>();
  const child = new Process({ module: queueTasks, fn: 'putReadError', args: [q, '/nonexistent-procsafe/file'], stdout: 'ignore' });
  await child.start();
  assert.deepEqual(await child.join(), { exitCode: 0, signal: null });
  const error = await q.get({ timeoutMs: 5_000 });
  assert.ok(error instanceof Error);
  assert.equal(error.code, 'ENOENT');
  assert.equal(error.syscall, 'open');
  assert.equal(error.path, '/nonexistent-procsafe/file');
  assert.match(String(error.stack), /ENOENT/);

  // There and back through a child: the error's property holds a queue, which must work on arrival.
  const reply = new Queue<string>();
  const there = new Queue<Error & { reply?: Queue<string> }>();
  const back = new Queue<Error & { reply?: Queue<string> }>();
  const forwarder = new Process({ module: queueTasks, fn: 'forward', args: [there, back, 1], stdout: 'ignore' });
  await forwarder.start();
  await there.put(Object.assign(new Error('with a reply queue'), { reply }));
  const returned = await back.get({ timeoutMs: 5_000 });
  assert.deepEqual(await forwarder.join(), { exitCode: 0, signal: null });
  assert.equal(returned.message, 'with a reply queue');
  assert.ok(returned.reply instanceof Queue);
  await returned.reply.put('answered');
  assert.equal(await reply.get({ timeoutMs: 5_000 }), 'answered');

  // A plain Error, which v8 copies itself, with a queue in its cause.
  const forwarder2 = new Process({ module: queueTasks, fn: 'forward', args: [there, back, 1], stdout: 'ignore' });
  await forwarder2.start();
  await there.put(new Error('cause holds a queue', { cause: { reply } }));
  const plain = await back.get({ timeoutMs: 5_000 });
  assert.deepEqual(await forwarder2.join(), { exitCode: 0, signal: null });
  const cause = plain.cause as { reply?: Queue<string> };
  assert.ok(cause.reply instanceof Queue);
  await cause.reply.put('again');
  assert.equal(await reply.get({ timeoutMs: 5_000 }), 'again');
});
