// Condition waiters SIGKILLed: a notify meant for a dead waiter reaches the next live one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Condition, Lock, Process, Queue } from 'procsafe';
import { fixture } from '../helpers/index.js';

async function parked(cond: Condition, n: number): Promise<void> {
  while ((await cond.inspect()).waiters.length !== n) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Starts a waiter process and resolves once its wait is parked (the `n`th). */
async function waiter(t: { after: (fn: () => void) => void }, cond: Condition, ready: Queue<number>, out: Queue<unknown>, n: number,
  viaLock = false): Promise<Process> {
  const p = new Process({
    module: fixture('condition-tasks.mjs'), fn: 'condWait', args: [cond, ready, out, undefined, viaLock], stdout: 'ignore',
  });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  await ready.get({ timeoutMs: 10_000 });
  await parked(cond, n);
  return p;
}

test('the first of two waiters SIGKILLed while parked: notify(1) reaches the live one', { timeout: 30_000 }, async (t) => {
  const cond = new Condition();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; notified: boolean; holds: boolean }>();
  const first = await waiter(t, cond, ready, out, 1);
  const second = await waiter(t, cond, ready, out, 2);
  first.kill('SIGKILL');
  await first.join();
  await parked(cond, 1);
  const held = await cond.acquire();
  await cond.notify(1);
  held.release();
  assert.deepEqual(await out.get({ timeoutMs: 5000 }), { pid: second.pid, notified: true, holds: true });
  assert.deepEqual(await second.join(), { exitCode: 0, signal: null });
  assert.deepEqual(await cond.inspect(), { kind: 'condition', waiters: [], woken: [] });
});

test('a waiter SIGKILLed after notify(1) woke it, before it re-took the lock: the wake goes to the live one', { timeout: 30_000 },
  async (t) => {
  const cond = new Condition();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; notified: boolean; holds: boolean }>();
  const first = await waiter(t, cond, ready, out, 1);
  const second = await waiter(t, cond, ready, out, 2);
  // Held across the kill: the woken first waiter is stuck re-acquiring, so it dies before taking its wake up.
  const held = await cond.acquire();
  await cond.notify(1);
  const snapshot = await cond.inspect();
  assert.equal(snapshot.waiters.length, 1);
  assert.deepEqual(snapshot.woken.map((w) => w.pid), [first.pid]);
  first.kill('SIGKILL');
  await first.join();
  while ((await cond.inspect()).waiters.length !== 0) await new Promise((resolve) => setTimeout(resolve, 2));
  held.release();
  assert.deepEqual(await out.get({ timeoutMs: 5000 }), { pid: second.pid, notified: true, holds: true });
  assert.deepEqual(await second.join(), { exitCode: 0, signal: null });
});

test('waiters holding leases from cond.lock.acquire(): the first SIGKILLed while parked, notify(1) from a lock lease reaches the live one',
  { timeout: 30_000 }, async (t) => {
  const lock = new Lock();
  const cond = new Condition(lock);
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; notified: boolean; holds: boolean }>();
  const first = await waiter(t, cond, ready, out, 1, true);
  const second = await waiter(t, cond, ready, out, 2, true);
  first.kill('SIGKILL');
  await first.join();
  await parked(cond, 1);
  const held = await lock.acquire({ timeoutMs: 5000 });
  assert.equal(held.previousOwnerDied, false, 'the dead waiter held no lock: its wait had let go of it');
  await cond.notify(1);
  held.release();
  assert.deepEqual(await out.get({ timeoutMs: 5000 }), { pid: second.pid, notified: true, holds: true });
  assert.deepEqual(await second.join(), { exitCode: 0, signal: null });
  assert.deepEqual(await cond.inspect(), { kind: 'condition', waiters: [], woken: [] });
  assert.equal(await lock.locked(), false);
});
