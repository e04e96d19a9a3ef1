// A Lock's word in shared memory (sync/lock-word.ts) across real processes that die holding it or waiting for it:
// every death is settled by the owner from the socket's close, the next holder is told (previousOwnerDied), nothing
// wedges, mutual exclusion holds across the fast and the contended paths, and the owner's /dev/shm directory goes
// with the owner however it dies.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Barrier, BoundedSemaphore, Lock, Process, type Queue as QueueType, Queue, Semaphore, SharedArray } from 'procsafe';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { loadNative, type NativeAddon } from '../../dist/native/load.js';
import { fixture, waitUntil } from '../helpers/index.js';

/** These tests are about the shared-memory path: where it is off, the socket path's own tests cover the same deaths. */
const kOff = loadNative() === undefined ? 'the shared-memory path is off here (PROCSAFE_NATIVE=0, or no native addon)' : false;

const laneTasks = fixture('lane-tasks.mjs');

interface After { after: (fn: () => void) => void }

/** A started child running `fn` of lane-tasks.mjs; SIGKILLed when the test ends, whatever happened. */
async function child(t: After, fn: string, args: unknown[]): Promise<Process> {
  const p = new Process({ module: laneTasks, fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  return p;
}

function handleOf(object: object): { path: string; object: string } {
  return (object as { __procsafe_handle__: { path: string; object: string } }).__procsafe_handle__;
}

/** Until the owner has settled every holder and waiter (it learns of a death from the socket, a moment after it). */
async function settled(lock: Lock, holders = 0, waiters = 0): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const snapshot = await lock.inspect();
    if (snapshot.holders.length === holders && snapshot.waiters.length === waiters) return;
    if (Date.now() > deadline) {
      assert.fail(`the owner still shows ${snapshot.holders.length} holders and ${snapshot.waiters.length} waiters ` +
        `(expected ${holders} and ${waiters}): ${JSON.stringify(snapshot)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Acquires (fast: by the word, as nobody holds it) and checks that the owner sees a fast hold, then tells what it was told. */
async function acquireFast(lock: Lock): Promise<boolean> {
  const lease = await lock.acquire({ timeoutMs: 5000 });
  const { holders } = await lock.inspect();
  assert.deepEqual(holders.map((h) => (h as { leaseId: number }).leaseId), [0], 'held by its word, unknown to the state machine');
  lease.release();
  return lease.previousOwnerDied;
}

for (const [how, ended] of [
  ['kill', { exitCode: null, signal: 'SIGKILL' }],
  ['exit', { exitCode: 3, signal: null }],
  ['abort', { exitCode: null, signal: 'SIGABRT' }],
] as const) {
  test(`a fast holder that dies by ${how} right after its CAS: the next fast acquire is told, the one after is not`,
    { timeout: 30_000, skip: kOff }, async (t) => {
    const lock = new Lock();
    assert.equal(await acquireFast(lock), false);
    const holder = await child(t, 'holdFastThenDie', [lock, how]);
    assert.deepEqual(await holder.join(), ended);
    // The owner freed the word from the socket's close: the next acquire is one CAS again, and told of the death.
    await settled(lock);
    assert.equal(await acquireFast(lock), true, 'told that the holder died');
    assert.equal(await acquireFast(lock), false, 'told once only');
  });
}

test('a fast holder SIGKILLed while another process waits: the owner booked its hold, the waiter is told', { timeout: 30_000, skip: kOff },
  async (t) => {
  const lock = new Lock();
  const ready = new Queue<{ pid: number; previousOwnerDied: boolean }>();
  const holder = await child(t, 'holdFastAndHang', [lock, ready]);
  assert.equal((await ready.get({ timeoutMs: 10_000 })).previousOwnerDied, false);
  const waiting = lock.acquire({ timeoutMs: 10_000 });
  // Parked at the owner, behind the fast hold it booked as a lease.
  await settled(lock, 1, 1);
  holder.kill('SIGKILL');
  const lease = await waiting;
  assert.equal(lease.previousOwnerDied, true);
  lease.release();
  await settled(lock);
  assert.equal(await acquireFast(lock), false, 'told once only, and the word is the clients\' again');
});

test('a waiter SIGKILLed asleep at the owner: the holder\'s release goes to the next live waiter, nothing wedges',
  { timeout: 30_000, skip: kOff },
  async (t) => {
  const lock = new Lock();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; previousOwnerDied: boolean }>();
  const held = await lock.acquire({ timeoutMs: 0 });
  const first = await child(t, 'waitForLock', [lock, ready, out]);
  await ready.get({ timeoutMs: 10_000 });
  await settled(lock, 1, 1);
  const second = await child(t, 'waitForLock', [lock, ready, out]);
  await ready.get({ timeoutMs: 10_000 });
  await settled(lock, 1, 2);
  first.kill('SIGKILL');
  await first.join();
  // The owner forgot the dead waiter (else it could be granted the lock as it dies, and its successor told of a death).
  await settled(lock, 1, 1);
  held.release();
  const got = await out.get({ timeoutMs: 10_000 });
  assert.deepEqual(got, { pid: second.pid, previousOwnerDied: false });
  assert.deepEqual(await second.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
  await settled(lock);
  assert.equal(await acquireFast(lock), false);
});

test('4 processes x 20k locked plain increments and 1M Atomics.add each: exact totals', { timeout: 90_000, skip: kOff }, async (t) => {
  const lock = new Lock();
  const arr = new SharedArray(Int32Array, 4);
  const barrier = new Barrier(4);
  const n = 20_000;
  const atomics = 1_000_000;
  const hammers = [];
  for (let i = 0; i < 4; i++) hammers.push(await child(t, 'hammer', [lock, arr, barrier, n, atomics]));
  for (const p of hammers) assert.deepEqual(await p.join({ timeoutMs: 80_000 }), { exitCode: 0, signal: null });
  assert.equal(arr.array[0], 4 * n, 'no increment made under the lock was lost: mutual exclusion held');
  assert.equal(arr.array[1], 4 * atomics, 'no atomic add was lost');
  await settled(lock);
  assert.equal(await acquireFast(lock), false);
});

test('an owner SIGKILLed with lanes and a lock word in use: its /dev/shm directory goes', { timeout: 30_000, skip: kOff }, async (t) => {
  const meta = new Queue<[Lock, QueueType<string>]>();
  const owner = await child(t, 'ownLockAndQueue', [meta]);
  const [lock, q] = await meta.get({ timeoutMs: 10_000 });
  assert.equal(await q.get({ timeoutMs: 5000 }), 'from the owner');
  const lease = await lock.acquire({ timeoutMs: 5000 });
  lease.release();
  const dir = sharedDirFor(handleOf(lock).path);
  assert.ok(existsSync(dir), `the owner's directory ${dir} exists`);
  assert.ok(readdirSync(dir).includes(`word-${handleOf(lock).object}`), 'the lock word lives there');
  owner.kill('SIGKILL');
  await owner.join();
  await waitUntil(() => !existsSync(dir), `the killed owner's directory ${dir} to be removed`);
});

test('a lock word scribbled with a value no client writes (a negative, the id of no client): the owner frees it, the next holder is told',
  { timeout: 60_000, skip: kOff }, async (t) => {
  // The owner is a child: a broken owner must not take this process's other objects with it.
  const meta = new Queue<[Lock, QueueType<string>]>();
  const owner = await child(t, 'ownLockAndQueue', [meta]);
  const [lock] = await meta.get({ timeoutMs: 10_000 });
  assert.equal(await acquireFast(lock), false);
  const { path, object } = handleOf(lock);
  const addon = loadNative() as NativeAddon;
  const words = new Int32Array(addon.map(join(sharedDirFor(path), `word-${object}`), 4096, false), 0, 17);
  for (const garbage of [-2, -(2 ** 31), 999_999]) {
    // As a broken client would (or one whose link was cut while it took the word): nobody the owner knows holds it.
    Atomics.store(words, 0, garbage);
    const lease = await lock.acquire({ timeoutMs: 5000 });
    assert.equal(lease.previousOwnerDied, true, `after ${garbage}: told`);
    lease.release();
    await settled(lock);
    assert.equal(await acquireFast(lock), false, `after ${garbage}: told once, and the word is the clients' again`);
  }
  owner.kill('SIGKILL');
  await owner.join();
});

test('a semaphore\'s slot taken fast by a process that then dies: the permit comes back, and its next taker is told',
  { timeout: 30_000, skip: kOff }, async (t) => {
  const sem = new BoundedSemaphore(2);
  // Open the words here, with a first acquire through the owner, and give everything back.
  (await sem.acquire()).release();
  const holder = await child(t, 'holdFastThenDie', [sem, 'kill']);
  assert.deepEqual(await holder.join(), { exitCode: null, signal: 'SIGKILL' });
  await waitUntilValue(sem, 2);
  // Both permits, fast: one of them is the dead holder's slot, and says so; then both are free again.
  const a = await sem.acquire({ timeoutMs: 5000 });
  const b = await sem.acquire({ timeoutMs: 5000 });
  assert.deepEqual([a.previousOwnerDied, b.previousOwnerDied].sort(), [false, true], 'one taker told of the death');
  const { holders } = await sem.inspect();
  assert.deepEqual(holders.map((h) => (h as { leaseId: number }).leaseId), [0, 0], 'both held by their slots');
  a.release();
  b.release();
  assert.equal(await sem.getValue(), 2);
});

test('4 processes x 3000 acquire/release on a Semaphore(2), fast and contended: never more than 2 inside, every pass counted',
  { timeout: 90_000, skip: kOff }, async (t) => {
  const sem = new Semaphore(2);
  const arr = new SharedArray(Int32Array, 3);
  const barrier = new Barrier(4);
  const n = 3000;
  const children = await Promise.all([0, 1, 2, 3].map(() => child(t, 'semaphoreHammer', [sem, arr, barrier, n])));
  for (const c of children) assert.deepEqual(await c.join({ timeoutMs: 80_000 }), { exitCode: 0, signal: null });
  assert.equal(arr.array[2], 4 * n, 'every pass counted');
  assert.ok((arr.array[1] as number) <= 2, `at most 2 inside at once (saw ${arr.array[1]})`);
  assert.equal(await sem.getValue(), 2, 'both permits free at the end');
});

/** Until the owner shows `value` free permits (it frees a dead holder's slot from its socket's close, a moment after). */
async function waitUntilValue(sem: Semaphore, value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await sem.getValue()) !== value) {
    assert.ok(Date.now() < deadline, `the semaphore back to ${value} free permits`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
