// Lock, Semaphore, Barrier and Event across real processes, with holders and
// parties killed by SIGKILL (seeds 002/003: locks held across a death).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Barrier, BarrierBroken, Event, Lock, Queue, Semaphore } from 'procsafe';
import { startChild } from '../helpers/index.js';

const child = startChild;

test('a Lock holder SIGKILLed: the waiting acquirer gets it at once, told previousOwnerDied', { timeout: 30_000 }, async (t) => {
  const lock = new Lock();
  const ready = new Queue<{ pid: number; previousOwnerDied: boolean }>();
  const holder = await child(t, 'holdAndHang', [lock, ready]);
  assert.equal((await ready.get()).previousOwnerDied, false);
  const waiting = lock.acquire({ timeoutMs: 10_000 });
  while ((await lock.inspect()).waiters.length < 1) await new Promise((resolve) => setTimeout(resolve, 2));
  const killedAt = Date.now();
  holder.kill('SIGKILL');
  const lease = await waiting;
  const waited = Date.now() - killedAt;
  assert.equal(lease.previousOwnerDied, true);
  assert.ok(waited < 1000, `acquired ${waited} ms after the kill`);
  lease.release();
  const next = await lock.acquire({ timeoutMs: 0 });
  assert.equal(next.previousOwnerDied, false, 'told once, to the next holder only');
  next.release();
});

test('a Lock holder SIGKILLed with nobody waiting: the next acquirer, in another process, is told', { timeout: 30_000 }, async (t) => {
  const lock = new Lock();
  const ready = new Queue<{ pid: number; previousOwnerDied: boolean }>();
  const out = new Queue<{ ok: boolean; previousOwnerDied: boolean }>();
  const holder = await child(t, 'holdAndHang', [lock, ready]);
  await ready.get();
  holder.kill('SIGKILL');
  await holder.join();
  await child(t, 'acquireAndReport', [lock, out, 5000]);
  const got = await out.get({ timeoutMs: 10_000 });
  assert.equal(got.ok, true);
  assert.equal(got.previousOwnerDied, true);
});

test('Semaphore(2): both holders SIGKILLed; two later holders are each told once', { timeout: 30_000 }, async (t) => {
  const sem = new Semaphore(2);
  const ready = new Queue<{ pid: number }>();
  const holders = [await child(t, 'holdAndHang', [sem, ready]), await child(t, 'holdAndHang', [sem, ready])];
  await ready.get();
  await ready.get();
  for (const holder of holders) holder.kill('SIGKILL');
  for (const holder of holders) await holder.join();
  const a = await sem.acquire({ timeoutMs: 5000 });
  const b = await sem.acquire({ timeoutMs: 5000 });
  assert.deepEqual([a.previousOwnerDied, b.previousOwnerDied], [true, true]);
  a.release();
  b.release();
  const c = await sem.acquire({ timeoutMs: 0 });
  assert.equal(c.previousOwnerDied, false);
  c.release();
});

test('a Barrier party SIGKILLed while waiting: every other party rejects BarrierBroken', { timeout: 30_000 }, async (t) => {
  const barrier = new Barrier(4);
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; ok: boolean; name?: string }>();
  const victim = await child(t, 'barrierHang', [barrier, ready]);
  const others = [await child(t, 'barrierWait', [barrier, ready, out]), await child(t, 'barrierWait', [barrier, ready, out])];
  for (let i = 0; i < 3; i++) await ready.get();
  while ((await barrier.nWaiting()) < 3) await new Promise((resolve) => setTimeout(resolve, 2));
  victim.kill('SIGKILL');
  const results = [await out.get({ timeoutMs: 5000 }), await out.get({ timeoutMs: 5000 })];
  assert.deepEqual(results.map((r) => [r.ok, r.name]), [[false, 'BarrierBroken'], [false, 'BarrierBroken']]);
  for (const other of others) assert.deepEqual(await other.join(), { exitCode: 0, signal: null });
  assert.equal(await barrier.broken(), true);
});

test('a Barrier party SIGKILLed before it arrives: timeoutMs breaks the barrier for the parties of every process; ' +
  'reset() makes it usable again', { timeout: 30_000 }, async (t) => {
  // The barrier's own timeoutMs is the default of this process's waits; a child gives one to its wait.
  const barrier = new Barrier(3, { timeoutMs: 300 });
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; ok: boolean; name?: string; index?: number }>();
  const missing = await child(t, 'barrierNeverArrives', [barrier, ready]);
  const patient = await child(t, 'barrierWait', [barrier, ready, out]);
  for (let i = 0; i < 2; i++) await ready.get();
  while ((await barrier.nWaiting()) < 1) await new Promise((resolve) => setTimeout(resolve, 2));
  missing.kill('SIGKILL');
  await missing.join();
  // The dead party never counted: only the timeout can end the wait, and it breaks the barrier for every party.
  await assert.rejects(barrier.wait(), (error: Error) => error instanceof BarrierBroken && /within 300 ms/.test(error.message));
  assert.deepEqual(await out.get({ timeoutMs: 5000 }), { pid: patient.pid, ok: false, name: 'BarrierBroken' });
  assert.equal(await barrier.broken(), true);
  await assert.rejects(barrier.wait({ timeoutMs: Infinity }), BarrierBroken, 'broken until reset()');

  await barrier.reset();
  const hurried = await child(t, 'barrierWait', [barrier, ready, out, 200]);
  const late = await child(t, 'barrierNeverArrives', [barrier, ready]);
  for (let i = 0; i < 2; i++) await ready.get();
  const mine = assert.rejects(barrier.wait({ timeoutMs: Infinity }), BarrierBroken, 'for this process\'s party too, which had no timeout');
  assert.deepEqual(await out.get({ timeoutMs: 5000 }), { pid: hurried.pid, ok: false, name: 'BarrierBroken' },
    'the child\'s own timeoutMs broke it');
  await mine;
  late.kill('SIGKILL');

  await barrier.reset();
  const parties = [await child(t, 'barrierWait', [barrier, ready, out]), await child(t, 'barrierWait', [barrier, ready, out])];
  for (let i = 0; i < 2; i++) await ready.get();
  const index = await barrier.wait({ timeoutMs: 10_000 });
  const theirs = [await out.get({ timeoutMs: 5000 }), await out.get({ timeoutMs: 5000 })];
  assert.deepEqual([index, ...theirs.map((r) => r.index)].sort(), [0, 1, 2]);
  for (const party of [patient, hurried, ...parties]) assert.equal((await party.join()).exitCode, 0);
});

test('a Barrier of 3 processes and the owner passes, with indexes 0..3', { timeout: 30_000 }, async (t) => {
  const barrier = new Barrier(4);
  const ready = new Queue<number>();
  const out = new Queue<{ ok: boolean; index: number }>();
  for (let i = 0; i < 3; i++) await child(t, 'barrierWait', [barrier, ready, out]);
  for (let i = 0; i < 3; i++) await ready.get();
  const mine = await barrier.wait({ timeoutMs: 10_000 });
  const theirs = [await out.get(), await out.get(), await out.get()];
  assert.ok(theirs.every((r) => r.ok));
  assert.deepEqual([mine, ...theirs.map((r) => r.index)].sort(), [0, 1, 2, 3]);
});

test('Event waiters in 6 processes all wake on set()', { timeout: 30_000 }, async (t) => {
  const event = new Event();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; set: boolean }>();
  const waiters = [];
  for (let i = 0; i < 6; i++) waiters.push(await child(t, 'eventWait', [event, ready, out]));
  for (let i = 0; i < 6; i++) await ready.get();
  // Every waiter is parked at the owner before set().
  while ((await event.inspect()).waiters.length < 6) await new Promise((resolve) => setTimeout(resolve, 2));
  await event.set();
  const woke = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const got = await out.get({ timeoutMs: 5000 });
    assert.equal(got.set, true);
    woke.add(got.pid);
  }
  assert.deepEqual([...woke].sort(), waiters.map((p) => p.pid as number).sort());
});
