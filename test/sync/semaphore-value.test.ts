// Semaphore's own value, as Python's: Semaphore(0) as a signal, release(k) adding
// permits no one owns, getValue(), lock.locked(), and BoundedSemaphore's bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedSemaphore, Lock, LockTimeout, ProcsafeError, Semaphore } from 'procsafe';

const kT = { timeout: 10_000 };

test('Semaphore(0) is a signal: acquire waits until someone calls release()', kT, async () => {
  const sem = new Semaphore(0);
  assert.equal(sem.permits, 0);
  assert.equal(await sem.getValue(), 0);
  await assert.rejects(sem.acquire({ timeoutMs: 0 }), LockTimeout);
  const waiting = sem.acquire();
  await sem.release();
  const lease = await waiting;
  assert.equal(lease.previousOwnerDied, false);
  assert.equal(await sem.getValue(), 0);
  lease.release();
  assert.equal(await sem.getValue(), 1, 'the permit added by release() is now free');
});

test('release(k) adds k permits at once and wakes k waiters in order; getValue() counts free permits', kT, async () => {
  const sem = new Semaphore(1);
  const a = await sem.acquire();
  const order: number[] = [];
  const waiters = [1, 2, 3].map((i) => sem.acquire().then((lease) => { order.push(i); return lease; }));
  await sem.release(2);
  const [w1, w2] = await Promise.all(waiters.slice(0, 2));
  assert.deepEqual(order, [1, 2]);
  assert.equal(await sem.getValue(), 0);
  a.release();
  const w3 = await waiters[2];
  for (const lease of [w1, w2, w3]) lease?.release();
  assert.equal(await sem.getValue(), 3, '1 permit it was created with, 2 added');
  for (const bad of [0, -1, 1.5, '2', 2 ** 32]) {
    await assert.rejects(sem.release(bad as number),
      (error: Error) => error instanceof TypeError || error instanceof RangeError, String(bad));
  }
});

test('lock.locked() says whether someone holds the lock', kT, async () => {
  const lock = new Lock();
  assert.equal(await lock.locked(), false);
  const lease = await lock.acquire();
  assert.equal(await lock.locked(), true);
  lease.release();
  assert.equal(await lock.locked(), false);
});

test('BoundedSemaphore: release() beyond its permits throws EBOUNDED and changes nothing', kT, async () => {
  const sem = new BoundedSemaphore(2);
  assert.equal(await sem.getValue(), 2);
  await assert.rejects(sem.release(), (error: Error) => {
    assert.ok(error instanceof ProcsafeError);
    assert.equal(error.code, 'EBOUNDED');
    assert.match(error.message, /2 permits/);
    return true;
  });
  const lease = await sem.acquire();
  await assert.rejects(sem.release(), { code: 'EBOUNDED' }, 'a held lease will come back: the bound counts it');
  lease.release();
  const a = await sem.acquire();
  const b = await sem.acquire();
  await assert.rejects(sem.release(), { code: 'EBOUNDED' });
  a.release();
  b.release();
  assert.equal(await sem.getValue(), 2);
  const zero = new BoundedSemaphore(0);
  await assert.rejects(zero.release(), { code: 'EBOUNDED' });
});

test('a Lock is bounded at one permit: release() on it throws EBOUNDED', kT, async () => {
  const lock = new Lock();
  await assert.rejects(lock.release(), { code: 'EBOUNDED' });
  assert.equal(await lock.getValue(), 1);
});
