// The one reading of `timeoutMs` on every queue and sync call (absent or Infinity:
// no limit; 0 or negative: do not wait; NaN or a non-number: TypeError), and no
// listener left on a signal once a call settled, however it settled.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import {
  AbortError, Barrier, BarrierBroken, Event, JoinableQueue, Lock, LockTimeout, Queue, QueueEmpty, QueueFull, Semaphore,
} from 'procsafe';

const kT = { timeout: 10_000 };
const kBad: readonly unknown[] = [Number.NaN, '5', null, {}];

function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** Every bad value rejects TypeError naming timeoutMs, before anything is sent. */
async function refusesBad(call: (timeoutMs: unknown) => Promise<unknown>): Promise<void> {
  for (const bad of kBad) {
    await assert.rejects(call(bad), (error: Error) => error instanceof TypeError && /`timeoutMs`/.test(error.message), `timeoutMs ${String(bad)}`);
  }
}

test('Queue get/getEntry: -1 and 0 do not wait, Infinity waits, NaN and "5" are TypeErrors', kT, async () => {
  const q = new Queue<number>();
  for (const timeoutMs of [-1, 0, -Infinity]) {
    await assert.rejects(q.get({ timeoutMs }), QueueEmpty, `get timeoutMs ${timeoutMs}`);
    await assert.rejects(q.getEntry({ timeoutMs }), QueueEmpty, `getEntry timeoutMs ${timeoutMs}`);
  }
  await q.put(7);
  assert.equal(await q.get({ timeoutMs: -1 }), 7, 'an item already there is taken without waiting');
  const waiting = q.get({ timeoutMs: Infinity });
  await q.put(8);
  assert.equal(await waiting, 8);
  const entry = q.getEntry({ timeoutMs: Infinity });
  await q.put(9);
  assert.equal((await entry).value, 9);
  await refusesBad((timeoutMs) => q.get({ timeoutMs: timeoutMs as number }));
  await refusesBad((timeoutMs) => q.getEntry({ timeoutMs: timeoutMs as number }));
  assert.equal(await q.qsize(), 0);
});

test('Queue put/putMany: -1 and 0 do not wait for space, Infinity waits, NaN and "5" are TypeErrors', kT, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  await q.put(1, { timeoutMs: -1 });
  for (const timeoutMs of [-1, 0]) {
    await assert.rejects(q.put(2, { timeoutMs }), QueueFull);
    await assert.rejects(q.putMany([2, 3], { timeoutMs }), (error: Error) => error instanceof QueueFull && /^0 of 2 items were put/.test(error.message));
  }
  const waiting = q.put(2, { timeoutMs: Infinity });
  assert.equal(await q.get(), 1);
  await waiting;
  await refusesBad((timeoutMs) => q.put(3, { timeoutMs: timeoutMs as number }));
  await refusesBad((timeoutMs) => q.putMany([3], { timeoutMs: timeoutMs as number }));
  assert.equal(await q.qsize(), 1, 'nothing refused was enqueued');
});

test('JoinableQueue.join takes a signal only: a timeoutMs is refused rather than ignored', kT, async () => {
  const q = new JoinableQueue<number>();
  await assert.rejects(q.join({ timeoutMs: 10 } as never), /Unknown option `timeoutMs` in the options of join\(\)/);
  await q.join({});
});

test('Lock/Semaphore acquire: -1 and 0 only take a free permit, Infinity waits, NaN and "5" are TypeErrors', kT, async () => {
  for (const lock of [new Lock(), new Semaphore(1)]) {
    const held = await lock.acquire({ timeoutMs: -1 });
    for (const timeoutMs of [-1, 0, -0.5]) await assert.rejects(lock.acquire({ timeoutMs }), LockTimeout);
    const waiting = lock.acquire({ timeoutMs: Infinity });
    held.release();
    (await waiting).release();
    await refusesBad((timeoutMs) => lock.acquire({ timeoutMs: timeoutMs as number }));
    assert.deepEqual((await lock.inspect()).waiters, []);
  }
});

test('Event.wait: -1 and 0 answer at once, Infinity waits, NaN and "5" are TypeErrors', kT, async () => {
  const ev = new Event();
  assert.equal(await ev.wait({ timeoutMs: -1 }), false);
  assert.equal(await ev.wait({ timeoutMs: 0 }), false);
  const waiting = ev.wait({ timeoutMs: Infinity });
  await ev.set();
  assert.equal(await waiting, true);
  assert.equal(await ev.wait({ timeoutMs: -1 }), true);
  await refusesBad((timeoutMs) => ev.wait({ timeoutMs: timeoutMs as number }));
});

test('Barrier.wait: -1 and 0 break the barrier unless this party fills it; Infinity waits; NaN and "5" are TypeErrors', kT, async () => {
  for (const timeoutMs of [-1, 0]) {
    const barrier = new Barrier(2);
    await assert.rejects(barrier.wait({ timeoutMs }), BarrierBroken, `a lone party with timeoutMs ${timeoutMs} does not wait`);
    assert.equal(await barrier.broken(), true);
    await barrier.reset();
    const first = barrier.wait({ timeoutMs: Infinity });
    const last = barrier.wait({ timeoutMs });
    assert.deepEqual([await first, await last], [0, 1], 'the party that fills the barrier passes without waiting');
    await refusesBad((bad) => barrier.wait({ timeoutMs: bad as number }));
  }
});

test('Barrier(parties, { timeoutMs }) is the default of each wait; a wait\'s own timeoutMs wins', kT, async () => {
  const barrier = new Barrier(2, { timeoutMs: 20 });
  await assert.rejects(barrier.wait(), (error: Error) => error instanceof BarrierBroken && /within 20 ms/.test(error.message));
  await barrier.reset();
  const first = barrier.wait({ timeoutMs: Infinity });
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(await barrier.nWaiting(), 1, 'Infinity overrides the default');
  assert.equal(await barrier.wait(), 1);
  await first;
  assert.throws(() => new Barrier(2, { timeoutMs: '5' as never }), TypeError);
});

test('no listener stays on a signal after get, put, acquire or wait settle (success, timeout, abort)', kT, async () => {
  const controller = new AbortController();
  const { signal } = controller;
  const q = new Queue<number>({ maxsize: 1 });
  const lock = new Lock();
  const ev = new Event();
  const barrier = new Barrier(2);
  const jq = new JoinableQueue<number>();
  // Success.
  await q.put(1, { signal });
  await q.putMany([], { signal });
  assert.equal(await q.get({ signal }), 1);
  await q.put(2, { signal, timeoutMs: 1000 });
  assert.equal((await q.getEntry({ signal, timeoutMs: 1000 })).value, 2);
  (await lock.acquire({ signal })).release();
  (await lock.acquire({ signal, timeoutMs: 1000 })).release();
  await ev.set();
  assert.equal(await ev.wait({ signal }), true);
  await ev.clear();
  await Promise.all([barrier.wait({ signal }), barrier.wait({ signal, timeoutMs: 1000 })]);
  await jq.join({ signal });
  assert.equal(listeners(signal), 0, 'after successes');
  // Timeouts.
  await assert.rejects(q.get({ signal, timeoutMs: 5 }), QueueEmpty);
  await q.put(3);
  await assert.rejects(q.put(4, { signal, timeoutMs: 5 }), QueueFull);
  await assert.rejects(q.putMany([4, 5], { signal, timeoutMs: 5 }), QueueFull);
  const held = await lock.acquire();
  await assert.rejects(lock.acquire({ signal, timeoutMs: 5 }), LockTimeout);
  assert.equal(await ev.wait({ signal, timeoutMs: 5 }), false);
  await assert.rejects(barrier.wait({ signal, timeoutMs: 5 }), BarrierBroken);
  await barrier.reset();
  assert.equal(listeners(signal), 0, 'after timeouts');
  // Aborts.
  const pending = [
    q.put(6, { signal }), q.putMany([6, 7], { signal }), lock.acquire({ signal }), ev.wait({ signal }), barrier.wait({ signal }),
    new Queue().get({ signal }), new Queue().getEntry({ signal }),
  ];
  await jq.put(1);
  pending.push(jq.join({ signal }));
  assert.ok(listeners(signal) > 0, 'waiting calls listen');
  // Taken before the abort: most of them reject at once, without waiting for the owner.
  const outcomes = pending.map((call: Promise<unknown>) => call.then(() => 'resolved', (error: Error) => error));
  controller.abort();
  for (const outcome of await Promise.all(outcomes)) {
    assert.ok(outcome instanceof AbortError || outcome instanceof BarrierBroken, String(outcome));
  }
  assert.equal(listeners(signal), 0, 'after aborts');
  held.release();
});

test('Queue.iterate({ signal }): a loop that ends leaves no listener on its signal (20 loops, one signal)', kT, async () => {
  const q = new Queue<number>();
  const { signal } = new AbortController();
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning); };
  process.on('warning', onWarning);
  try {
    await q.putMany(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 0; i < 20; i++) {
      for await (const item of q.iterate({ signal, prefetch: 1 })) {
        assert.equal(item, i);
        break;
      }
    }
    assert.equal(listeners(signal), 0, 'each loop took its listener off when it ended');
    await q.put(99);
    await q.close();
    const rest: number[] = [];
    for await (const item of q.iterate({ signal })) rest.push(item);
    assert.deepEqual(rest, [99]);
    assert.equal(listeners(signal), 0, 'a loop that drained the queue took its listener off');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
  }
});
