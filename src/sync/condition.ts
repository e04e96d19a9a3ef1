/**
 * Condition: Python's multiprocessing.Condition. Its waits are parked at the owner of the Condition; its Lock may be
 * owned elsewhere and is released and re-acquired through the Lock's own handle. A wake whose waiter dies before taking
 * it up goes to the next waiter (sync/condition-state.ts), so a notify(1) is never lost to a dead process.
 */
import { inspect as utilInspect } from 'node:util';
import { type Handle, kHandleKey, reviveRecords } from '../codec/handles.js';
import { ConditionNotHeld } from '../errors.js';
import { linkFor, validateWait, type WaitOptions } from '../broker/link.js';
import { abortError } from '../broker/wait.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { encodeHead } from '../transport/frame.js';
import { kAnswer, kRequest } from '../broker/protocol.js';
import { validateArgumentCount, validateInteger } from '../internal/validate.js';
import { type AcquireOptions, holdsPermit, type Lease, Lock, permitSource, restorePermit, suspendPermit } from './lock.js';
import { type ConditionSnapshot, kNotifyAll } from './condition-state.js';

const handleOf = (lock: Lock): Handle => (lock as unknown as Record<string, Handle>)[kHandleKey] as Handle;

/** Leases inside a wait() of any Condition of this thread: marked before the wait's first await, so a second wait() is refused. */
const inWait = new WeakSet<Lease>();

export class Condition {
  readonly #handle: Handle;
  readonly #lock: Lock;

  /** @param lock the Lock it guards (any process may own it); a new one of its own when none is given. */
  constructor(...args: [lock?: Lock]) {
    validateArgumentCount(args, 'Condition', 1, 'one argument (lock)');
    const [lock] = args;
    if (lock !== undefined && !(lock instanceof Lock)) throw new TypeError('the lock of a Condition must be a Lock (or absent)');
    const claimed = claimHandle('condition', 0, 1024);
    if (claimed.lock !== undefined) {
      if (claimed.lock.kind !== 'lock') throw new TypeError(`a Condition's handle carries a ${claimed.lock.kind}, not a lock`);
      this.#lock = reviveRecords({ [kHandleKey]: claimed.lock }) as Lock;
      this.#handle = claimed;
    } else {
      this.#lock = lock ?? new Lock();
      this.#handle = { ...claimed, lock: handleOf(this.#lock) };
    }
    adopt(this, this.#handle);
  }

  /** The Lock it guards: the same lock in every process. */
  get lock(): Lock { return this.#lock; }

  /**
   * Acquires the lock: `cond.lock.acquire()` (rejecting LockTimeout), as in Python, where the condition's lock is just
   * the lock. Its lease, or one from `cond.lock.acquire()`, is what `wait()` and `waitFor()` take.
   */
  acquire(options?: AcquireOptions): Promise<Lease> {
    return this.#lock.acquire(options);
  }

  /**
   * Releases the lock, waits for a notify, and re-acquires the lock under the same lease: always, even on timeout or
   * abort. Resolves true when notified, false after `timeoutMs`; rejects AbortError on `signal` (holding the lock again).
   * After it, `held.previousOwnerDied` says whether the re-acquire found the lock freed by a death.
   */
  async wait(held: Lease, options?: WaitOptions): Promise<boolean> {
    const wait = validateWait(options, 'wait()');
    this.#holding(held, 'wait()');
    if (wait.signal?.aborted === true) throw abortError(wait.signal.reason);
    inWait.add(held);
    try {
      return await this.#wait(held, wait);
    } finally {
      inWait.delete(held);
    }
  }

  /** The body of wait(), with `held` marked as inside it. */
  async #wait(held: Lease, wait: WaitOptions): Promise<boolean> {
    const link = linkFor(this.#handle);
    let woken: Promise<unknown> = Promise.resolve(false);
    if (wait.timeoutMs !== 0) {
      const timedOut = new Error('timed out');
      // No give-back: a wake that races the timeout is taken up (wait() resolves true), so it is never lost.
      woken = link.ask(this.#handle, kRequest.Wait, wait, () => timedOut).then(() => true, (error: unknown) => {
        if (error === timedOut) return false;
        throw error;
      });
      woken.catch(() => {});
      // Answered in order: once this answers, the wait is parked, so no notify made after the release can miss it.
      await link.askValue(this.#handle, kRequest.Stats);
    }
    suspendPermit(held);
    let outcome: { notified: boolean } | { error: unknown };
    try {
      outcome = { notified: (await woken) === true };
    } catch (error) {
      outcome = { error };
    }
    let again: Lease;
    try {
      again = await this.#lock.acquire();
    } catch (error) {
      // Cannot take the wake up without the lock: it goes to the next waiter.
      if ('notified' in outcome && outcome.notified) this.#confirm(true);
      throw error;
    }
    if ('notified' in outcome && outcome.notified) this.#confirm(false);
    // Released by its holder during the wait: it holds nothing, so neither does what was re-acquired for it.
    if (held.released) again.release();
    else restorePermit(held, again);
    if ('error' in outcome) throw outcome.error;
    return outcome.notified;
  }

  /** Python's `wait_for`: waits until `predicate()` (sync or async) is truthy, re-checked after each wake; its last result. */
  async waitFor<T>(predicate: () => T | PromiseLike<T>, held: Lease, options?: WaitOptions): Promise<T> {
    if (typeof predicate !== 'function') throw new TypeError('the predicate of waitFor() must be a function');
    const wait = validateWait(options, 'waitFor()');
    this.#holding(held, 'waitFor()');
    const end = wait.timeoutMs === undefined ? undefined : performance.now() + wait.timeoutMs;
    let result = await predicate();
    while (!result) {
      const left = end === undefined ? undefined : end - performance.now();
      if (left !== undefined && left <= 0) break;
      await this.wait(held, { timeoutMs: left, signal: wait.signal });
      result = await predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters, oldest first; resolves once the owner applied it. Rejects ConditionNotHeld without the lock. */
  async notify(n = 1): Promise<void> {
    validateInteger(n, 'n', 0, kNotifyAll - 1);
    this.#holding(undefined, 'notify()');
    await this.#notify(n);
  }

  /** Wakes every waiter; resolves once the owner applied it. Rejects ConditionNotHeld without the lock. */
  async notifyAll(): Promise<void> {
    this.#holding(undefined, 'notifyAll()');
    await this.#notify(kNotifyAll);
  }

  /** Who waits, and who was woken but has not re-acquired the lock yet. */
  async inspect(): Promise<ConditionSnapshot> {
    return linkFor(this.#handle).askValue<ConditionSnapshot>(this.#handle, kRequest.Inspect);
  }

  [utilInspect.custom](): string {
    return `Condition { ${describeHandle(this.#handle)}, lock: ${describeHandle(handleOf(this.#lock))} }`;
  }

  async #notify(n: number): Promise<void> {
    const answer = await linkFor(this.#handle).request(this.#handle, (id) => {
      const frame = encodeHead(kRequest.Notify, id, this.#handle.object, 4);
      frame.writeUInt32BE(n, frame.length - 4);
      return [frame];
    });
    if (answer.type !== kAnswer.Done) throw new Error(`the owner answered a notify with frame type ${answer.type}`);
  }

  #confirm(handOn: boolean): void {
    const frame = encodeHead(kRequest.WaitDone, 0, this.#handle.object, 1);
    frame[frame.length - 1] = handOn ? 1 : 0;
    linkFor(this.#handle).send(this.#handle, [frame]);
  }

  // Checked in this process, as Python checks `_is_mine()`: a wait needs `held` to be a lease of this Condition's lock
  // (from cond.acquire(), cond.lock.acquire() or a wait() that re-acquired it), not released and not inside another
  // wait(); a notify needs this process to hold the lock through any such lease.
  #holding(held: Lease | undefined, call: string): void {
    if (held === undefined ? holdsPermit(this.#lock) : permitSource(held) === this.#lock && !inWait.has(held)) return;
    throw new ConditionNotHeld(held === undefined
      ? `${call} needs the condition's lock held in this process: call it between \`await cond.acquire()\` and the lease's release()`
      : `${call} needs a lease of this Condition's lock (from cond.acquire() or cond.lock.acquire()), still held ` +
        '(not released, not inside another wait())');
  }
}

shareable(Condition, ['condition'], () => new Condition());
