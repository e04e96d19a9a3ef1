/**
 * The child functions of the Queue and Lock scenarios of `procsafe demo`. Each
 * runs in a child Process and receives the demo's Queue or Lock as an argument,
 * with `events`, a Queue on which it tells the demo what it is doing.
 *
 * A child that starts to wait (in get, put or acquire) sends that request and
 * then reports `waiting` on `events` without awaiting the first: both go over
 * the child's one link to the owner, in order, so by the time the demo reads
 * `waiting` the owner has the request parked. That is the moment the demo kills.
 */
import type { Lock, Queue } from '../../index.js';
import { hangForever, now } from './clock.js';

/** What a child tells the demo, with its pid and the time (comparable across processes). */
export type Report =
  | { readonly kind: 'waiting' | 'holding' | 'released' | 'put-done'; readonly pid: number; readonly at: number }
  | { readonly kind: 'got'; readonly pid: number; readonly at: number; readonly value: unknown; readonly deliveries: number }
  | { readonly kind: 'acquired'; readonly pid: number; readonly at: number; readonly previousOwnerDied: boolean };

/** Blocks in get(); reports `waiting` once the get is on its way, then `got` with what it received. */
export async function readOne(queue: Queue, events: Queue<Report>, timeoutMs: number): Promise<void> {
  const getting = queue.getEntry({ timeoutMs });
  getting.catch(() => {});
  await events.put({ kind: 'waiting', pid: process.pid, at: now() });
  const { value, deliveries } = await getting;
  await events.put({ kind: 'got', pid: process.pid, at: now(), value, deliveries });
}

/** Puts `bytes` bytes into a full queue, so it blocks in put(); reports `waiting` once the put is on its way. */
export async function putBig(queue: Queue, events: Queue<Report>, bytes: number, timeoutMs: number): Promise<void> {
  const putting = queue.put(Buffer.alloc(bytes, 0x5a), { timeoutMs });
  putting.catch(() => {});
  await events.put({ kind: 'waiting', pid: process.pid, at: now() });
  await putting;
  // Only if it is not killed first: the demo reports it as a problem.
  await events.put({ kind: 'put-done', pid: process.pid, at: now() });
}

/** Acquires the lock, reports `holding`, and keeps it for ever: the demo kills it. */
export async function holdLock(lock: Lock, events: Queue<Report>, timeoutMs: number): Promise<never> {
  await lock.acquire({ timeoutMs });
  await events.put({ kind: 'holding', pid: process.pid, at: now() });
  // A lease keeps nothing alive by itself: without this timer the child would exit, releasing it.
  return hangForever();
}

/** Waits for the lock behind its holder; reports `waiting`, then `acquired` (with previousOwnerDied), then `released`. */
export async function acquireLock(lock: Lock, events: Queue<Report>, timeoutMs: number): Promise<void> {
  const acquiring = lock.acquire({ timeoutMs });
  acquiring.catch(() => {});
  await events.put({ kind: 'waiting', pid: process.pid, at: now() });
  const lease = await acquiring;
  const at = now();
  await events.put({ kind: 'acquired', pid: process.pid, at, previousOwnerDied: lease.previousOwnerDied });
  lease.release();
  // Sent after the release on the same link: when the demo reads it, the owner has the lock back.
  await events.put({ kind: 'released', pid: process.pid, at: now() });
}
