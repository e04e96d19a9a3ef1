// Misuse throws a ProcsafeError with a code of its own, never a bare Error, and
// constructors refuse what they do not know with a TypeError naming it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Barrier, BoundedSemaphore, Event, JoinableQueue, Lock, ProcsafeError, Queue, Semaphore } from 'procsafe';

const kT = { timeout: 10_000 };

function misuse(code: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof ProcsafeError, `a ProcsafeError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

test('a second release() of a lease throws ERELEASED, as does dispose after release (no-op)', kT, async () => {
  for (const lock of [new Lock(), new Semaphore(2), new BoundedSemaphore(1)]) {
    const lease = await lock.acquire();
    lease.release();
    assert.throws(() => lease.release(), { code: 'ERELEASED', name: 'ReleasedError' });
    assert.throws(() => lease.release(), misuse('ERELEASED'));
    lease[Symbol.dispose]();
    assert.equal((await lock.inspect()).holders.length, 0);
  }
});

test('taskDone() with nothing to finish throws ETASKDONE', kT, async () => {
  const q = new JoinableQueue<number>();
  assert.throws(() => q.taskDone(), { code: 'ETASKDONE' });
  assert.throws(() => q.taskDone(), misuse('ETASKDONE'));
  await q.put(1);
  await q.get();
  q.taskDone();
  assert.throws(() => q.taskDone(), misuse('ETASKDONE'));
  assert.throws(() => q.taskDone(5 as never), TypeError, 'a wrong argument type is still a TypeError');
});

test('constructors refuse unknown options and wrong argument types, naming them', kT, () => {
  assert.throws(() => new (Lock as new (...args: unknown[]) => Lock)({ weird: 1 }), { name: 'TypeError', message: /Lock\(\) takes no arguments/ });
  assert.throws(() => new (Event as new (...args: unknown[]) => Event)('x'), { name: 'TypeError', message: /Event\(\) takes no arguments, got `"x"` \(string\)/ });
  assert.throws(() => new Semaphore('2' as never), { name: 'TypeError', message: /`permits`/ });
  assert.throws(() => new Semaphore(-1), { name: 'RangeError', message: /`permits`/ });
  assert.throws(() => new (Semaphore as new (...args: unknown[]) => Semaphore)(1, {}), { name: 'TypeError', message: /Semaphore\(\) takes one argument/ });
  assert.throws(() => new BoundedSemaphore({ permits: 2 } as never), { name: 'TypeError', message: /`permits`/ });
  assert.throws(() => new Barrier(2, { timeout: 5 } as never), { name: 'TypeError', message: /Unknown option `timeout` in Barrier options/ });
  assert.throws(() => new Barrier(2, 5 as never), { name: 'TypeError', message: /Barrier options/ });
  assert.throws(() => new Barrier('2' as never), { name: 'TypeError', message: /`parties`/ });
  assert.throws(() => new Queue({ maxSize: 3 } as never), { name: 'TypeError', message: /Unknown option `maxSize` in Queue options/ });
  assert.throws(() => new Queue(3 as never), { name: 'TypeError', message: /Queue options/ });
  assert.throws(() => new JoinableQueue({ size: 3 } as never), { name: 'TypeError', message: /Unknown option `size` in JoinableQueue options/ });
  assert.throws(() => new JoinableQueue(null as never), { name: 'TypeError', message: /JoinableQueue options/ });
  // What is allowed stays allowed.
  void new Lock();
  void new Event();
  void new Semaphore(0);
  void new Barrier(1, {});
  void new JoinableQueue({});
});
