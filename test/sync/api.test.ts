// Lock, Semaphore, Event and Barrier used from the owner itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, Barrier, BarrierBroken, Event, Lock, LockTimeout, Semaphore } from 'procsafe';

test('Lock: one holder at a time, FIFO; timeouts reject LockTimeout; timeoutMs 0 only takes a free lock', { timeout: 10_000 }, async () => {
  const lock = new Lock();
  const first = await lock.acquire();
  assert.equal(first.previousOwnerDied, false);
  await assert.rejects(lock.acquire({ timeoutMs: 0 }), LockTimeout);
  await assert.rejects(lock.acquire({ timeoutMs: 40 }), (error: Error) => error instanceof LockTimeout && /within 40 ms/.test(error.message));
  const order: number[] = [];
  const waiting = [1, 2, 3].map((i) => lock.acquire().then((lease) => { order.push(i); lease.release(); }));
  first.release();
  await Promise.all(waiting);
  assert.deepEqual(order, [1, 2, 3]);
  assert.throws(() => first.release(), { code: 'ERELEASED', message: /already released/ });
  const free = await lock.acquire({ timeoutMs: 0 });
  free.release();
  assert.deepEqual((await lock.inspect()).holders, []);
});

test('Lock: `using` releases at the end of the block; an aborted acquire rejects AbortError and takes nothing',
  { timeout: 10_000 }, async () => {
  const lock = new Lock();
  {
    using lease = await lock.acquire();
    assert.equal(lease.released, false);
    const controller = new AbortController();
    const waiting = lock.acquire({ signal: controller.signal });
    controller.abort();
    await assert.rejects(waiting, AbortError);
  }
  const again = await lock.acquire({ timeoutMs: 0 });
  again.release();
  assert.deepEqual((await lock.inspect()).waiters, []);
});

test('Semaphore(2): two holders at once, the third waits for a release', { timeout: 10_000 }, async () => {
  const sem = new Semaphore(2);
  assert.equal(sem.permits, 2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  await assert.rejects(sem.acquire({ timeoutMs: 0 }), LockTimeout);
  const c = sem.acquire();
  a.release();
  (await c).release();
  b.release();
  assert.equal((await sem.inspect()).free, 2);
  assert.throws(() => new Semaphore(-1), /Expected `permits` to be an integer between 0/);
});

test('Event: wait resolves true once set, false on timeout; clear resets it', { timeout: 10_000 }, async () => {
  const ev = new Event();
  assert.equal(await ev.isSet(), false);
  assert.equal(await ev.wait({ timeoutMs: 30 }), false);
  assert.equal(await ev.wait({ timeoutMs: 0 }), false);
  const waiters = [ev.wait(), ev.wait(), ev.wait({ timeoutMs: 5000 })];
  await ev.set();
  assert.deepEqual(await Promise.all(waiters), [true, true, true]);
  assert.equal(await ev.isSet(), true);
  await ev.clear();
  assert.equal(await ev.isSet(), false);
  void ev.set();
  assert.equal(await ev.wait(), true, 'a set() not awaited is still applied before a later call');
});

test('Barrier: parties pass together with indexes 0..n-1; a timeout breaks it for everyone until reset()',
  { timeout: 10_000 }, async () => {
  const barrier = new Barrier(3);
  assert.equal(barrier.parties, 3);
  const indexes = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
  assert.deepEqual(indexes.sort(), [0, 1, 2]);
  const waiting = barrier.wait();
  await assert.rejects(barrier.wait({ timeoutMs: 30 }), BarrierBroken);
  await assert.rejects(waiting, BarrierBroken);
  assert.equal(await barrier.broken(), true);
  await assert.rejects(barrier.wait(), BarrierBroken);
  await barrier.reset();
  assert.equal(await barrier.broken(), false);
  const pair = new Barrier(2);
  const one = pair.wait();
  assert.equal(await pair.nWaiting(), 1);
  await pair.abort();
  await assert.rejects(one, BarrierBroken);
});
