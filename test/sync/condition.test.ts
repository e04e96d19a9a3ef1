// Condition: notify and wait, waitFor, timeouts and aborts that re-acquire, the lock check, and a handle in a Process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, Condition, ConditionNotHeld, type Lease, Lock, Process, Queue, Semaphore } from 'procsafe';
import { fixture } from '../helpers/index.js';

const kT = { timeout: 10_000 };

/** Resolves once `n` waits are parked at the condition's owner. */
async function parked(cond: Condition, n: number): Promise<void> {
  while ((await cond.inspect()).waiters.length < n) await new Promise((resolve) => setTimeout(resolve, 2));
}

test('notify() wakes one waiter, oldest first, and each re-acquires the lock before wait() resolves', kT, async () => {
  const cond = new Condition();
  const order: number[] = [];
  const waiter = async (i: number): Promise<void> => {
    const held = await cond.acquire();
    assert.equal(await cond.wait(held), true);
    assert.equal(await cond.lock.locked(), true);
    order.push(i);
    held.release();
  };
  const waiters = [waiter(1), waiter(2)];
  await parked(cond, 2);
  const held = await cond.acquire();
  await cond.notify();
  assert.deepEqual(order, [], 'the woken waiter needs the lock the notifier holds');
  held.release();
  await waiters[0];
  assert.deepEqual(order, [1]);
  assert.equal((await cond.inspect()).waiters.length, 1, 'notify(1) woke one');
  const again = await cond.acquire();
  await cond.notify(5);
  again.release();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2]);
});

test('notifyAll() wakes every waiter; a Condition over a given Lock uses that lock', kT, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  assert.equal(cond.lock, lock);
  const waits = [1, 2, 3].map(async () => {
    const held = await cond.acquire();
    const notified = await cond.wait(held);
    held.release();
    return notified;
  });
  await parked(cond, 3);
  const held = await cond.acquire();
  assert.equal(await lock.locked(), true);
  await cond.notifyAll();
  held.release();
  assert.deepEqual(await Promise.all(waits), [true, true, true]);
  assert.equal(await lock.locked(), false);
});

test('wait() with timeoutMs resolves false holding the lock again; timeoutMs 0 does not wait', kT, async () => {
  const cond = new Condition();
  const held = await cond.acquire();
  assert.equal(await cond.wait(held, { timeoutMs: 30 }), false);
  assert.equal(await cond.lock.locked(), true);
  assert.equal(await cond.wait(held, { timeoutMs: 0 }), false);
  assert.equal(held.released, false);
  await cond.notify();
  held.release();
  assert.equal(await cond.lock.locked(), false);
  assert.deepEqual((await cond.inspect()).waiters, []);
});

test('an aborted wait() rejects AbortError only after re-acquiring the lock', kT, async () => {
  const cond = new Condition();
  const held = await cond.acquire();
  const controller = new AbortController();
  const waiting = cond.wait(held, { signal: controller.signal });
  await parked(cond, 1);
  const other = await cond.acquire();
  controller.abort();
  let settled = false;
  waiting.then(() => { settled = true; }, () => { settled = true; });
  // Its re-acquire is parked at the lock: it cannot settle before `other` lets go.
  while ((await cond.lock.inspect()).waiters.length < 1) await new Promise((resolve) => setTimeout(resolve, 2));
  assert.equal(settled, false, 'still waiting for the lock another holds');
  other.release();
  await assert.rejects(waiting, AbortError);
  assert.equal(await cond.lock.locked(), true, 'it holds the lock again');
  await cond.notify();
  held.release();
  const already = new AbortController();
  already.abort();
  const again = await cond.acquire();
  await assert.rejects(cond.wait(again, { signal: already.signal }), AbortError);
  assert.equal(again.released, false);
  again.release();
});

test('waitFor() re-checks a sync or async predicate after each wake; false on timeout', kT, async () => {
  const cond = new Condition();
  let value = 0;
  const waiting = (async (): Promise<[boolean, number]> => {
    const held = await cond.acquire();
    let checks = 0;
    const result = await cond.waitFor(() => { checks++; return value >= 2; }, held);
    held.release();
    return [result, checks];
  })();
  const asyncWaiting = (async (): Promise<boolean> => {
    const held = await cond.acquire();
    const result = await cond.waitFor(async () => { await Promise.resolve(); return value >= 2; }, held);
    held.release();
    return result;
  })();
  for (let i = 1; i <= 2; i++) {
    await parked(cond, 2);
    const held = await cond.acquire();
    value = i;
    await cond.notifyAll();
    held.release();
  }
  assert.deepEqual(await waiting, [true, 3]);
  assert.equal(await asyncWaiting, true);
  const held = await cond.acquire();
  const started = performance.now();
  assert.equal(await cond.waitFor(() => false, held, { timeoutMs: 40 }), false);
  assert.ok(performance.now() - started >= 35);
  assert.equal(await cond.waitFor(() => 'yes', held, { timeoutMs: 0 }), 'yes');
  held.release();
});

test('notify(), notifyAll() and wait() without the lock reject ConditionNotHeld (ECONDITIONNOTHELD)', kT, async () => {
  const cond = new Condition();
  await assert.rejects(cond.notify(), (error: Error) => error instanceof ConditionNotHeld &&
    error.code === 'ECONDITIONNOTHELD' && /cond\.acquire\(\)/.test(error.message));
  await assert.rejects(cond.notifyAll(), ConditionNotHeld);
  const held = await cond.acquire();
  held.release();
  await assert.rejects(cond.notify(), ConditionNotHeld, 'a released lease holds nothing');
  await assert.rejects(cond.wait(held), ConditionNotHeld);
  const other = new Lock();
  const foreign = await other.acquire();
  await assert.rejects(cond.wait(foreign), ConditionNotHeld, 'a lease of another lock is not this condition\'s');
  await assert.rejects(cond.notify(), ConditionNotHeld);
  foreign.release();
  const semaphore = await new Semaphore(1).acquire();
  await assert.rejects(cond.wait(semaphore), ConditionNotHeld);
  semaphore.release();
  await assert.rejects(cond.wait({} as Lease), ConditionNotHeld);
  const waiting = await cond.acquire();
  const first = cond.wait(waiting);
  await assert.rejects(cond.wait(waiting), ConditionNotHeld, 'a second wait() in the same turn');
  await parked(cond, 1);
  await assert.rejects(cond.wait(waiting), ConditionNotHeld, 'a lease inside another wait() holds nothing');
  const notifier = await cond.acquire();
  await cond.notify();
  notifier.release();
  assert.equal(await first, true);
  waiting.release();
  await assert.rejects(cond.notify(-1), /n/);
  assert.throws(() => new Condition({} as Lock), TypeError);
});

test('a lease from cond.lock.acquire() is the condition\'s lock: wait() and waitFor() take it, notify() sees it', kT, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  let ready = false;
  const waiting = (async () => {
    const held = await lock.acquire();
    const notified = await cond.wait(held);
    const holds = !held.released && (await lock.locked());
    const found = await cond.waitFor(() => ready, held);
    held.release();
    return { notified, holds, found };
  })();
  await parked(cond, 1);
  const notifier = await cond.lock.acquire();
  await cond.notify();
  notifier.release();
  // Woken with the predicate still false: waitFor() waits again.
  await parked(cond, 1);
  const again = await lock.acquire();
  ready = true;
  await cond.notifyAll();
  again.release();
  assert.deepEqual(await waiting, { notified: true, holds: true, found: true });
  assert.equal(await lock.locked(), false, 'the lease released after wait() let go of the re-acquired lock');
  assert.throws(() => again.release(), /already released/);
});

test('a lock lease released during its wait(): the wait ends holding nothing, the lock is free', kT, async () => {
  const cond = new Condition();
  const held = await cond.lock.acquire();
  const waiting = cond.wait(held);
  await parked(cond, 1);
  held.release();
  // The wait let go of the lock, and the release above took nothing more: the lock is free for the notifier.
  const notifier = await cond.lock.acquire({ timeoutMs: 5000 });
  await cond.notify();
  notifier.release();
  assert.equal(await waiting, true);
  assert.equal(await cond.lock.locked(), false);
  await assert.rejects(cond.notify(), ConditionNotHeld);
});

test('a Condition travels to a Process: a child waits, the owner notifies; a child notifies, the owner wakes', { timeout: 30_000 },
  async (t) => {
  const cond = new Condition();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; notified: boolean; holds: boolean }>();
  const waiter = new Process({ module: fixture('condition-tasks.mjs'), fn: 'condWait', args: [cond, ready, out] });
  t.after(() => { waiter.kill('SIGKILL'); });
  await waiter.start();
  await ready.get({ timeoutMs: 10_000 });
  await parked(cond, 1);
  const held = await cond.acquire();
  await cond.notify();
  held.release();
  assert.deepEqual(await out.get({ timeoutMs: 10_000 }), { pid: waiter.pid, notified: true, holds: true });
  assert.deepEqual(await waiter.join(), { exitCode: 0, signal: null });

  const mine = await cond.acquire();
  const waiting = cond.wait(mine, { timeoutMs: 10_000 });
  await parked(cond, 1);
  const notifier = new Process({ module: fixture('condition-tasks.mjs'), fn: 'condNotifyAll', args: [cond] });
  t.after(() => { notifier.kill('SIGKILL'); });
  await notifier.start();
  assert.equal(await waiting, true);
  mine.release();
  assert.deepEqual(await notifier.join(), { exitCode: 0, signal: null });
});
