/**
 * Lock and Semaphore: the permits live in the owner's broker; a holder holds a
 * lease the owner can take back. A holder that dies is released by the owner
 * and the next holder learns it (`previousOwnerDied`), so a death never wedges
 * the lock and never passes unnoticed.
 */
import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { LockTimeout } from '../errors.js';
import { linkFor, validateWait, type WaitOptions } from '../broker/link.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { encodeHead } from '../transport/frame.js';
import { kAcquire, kAcquireNowait, kGranted, kInspect, kReleaseLease } from '../transport/messages.js';
import { validateInteger } from '../internal/validate.js';
import type { SemaphoreSnapshot } from './semaphore-state.js';

export type AcquireOptions = WaitOptions;

/** A held permit. Release it once: `release()`, or `using` / `await using`. */
export class Lease {
  /** The permit's last holder died holding it: what it guarded may be half-updated. */
  readonly previousOwnerDied: boolean;
  readonly #release: () => void;
  #released = false;

  /** @internal */
  constructor(previousOwnerDied: boolean, release: () => void) {
    this.previousOwnerDied = previousOwnerDied;
    this.#release = release;
  }

  get released(): boolean { return this.#released; }

  /** Gives the permit back. A second call throws (as releasing an unlocked lock does in Python). */
  release(): void {
    if (this.#released) throw new Error('this lease was already released; release each acquire exactly once');
    this.#released = true;
    this.#release();
  }

  [Symbol.dispose](): void {
    if (!this.#released) this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
  }
}

/** A counting semaphore shared between processes. */
export class Semaphore {
  readonly #handle: Handle;

  /** @param permits how many holders at once (Python's `value`). @default 1 */
  constructor(permits = 1) {
    validateInteger(permits, 'permits', 1, 2 ** 32 - 1);
    this.#handle = claimHandle(this instanceof Lock ? 'lock' : 'semaphore', permits, 1024);
    adopt(this, this.#handle);
  }

  /** How many holders it allows at once. */
  get permits(): number { return this.#handle.size; }

  /**
   * Waits for a permit (first come, first served). Rejects LockTimeout when
   * `timeoutMs` passes (`timeoutMs: 0`: only if one is free now), AbortError on `signal`.
   */
  async acquire(options?: AcquireOptions): Promise<Lease> {
    const wait = validateWait(options, 'acquire()');
    const link = linkFor(this.#handle);
    const what = this.#handle.kind;
    const answer = await link.ask(this.#handle, wait.timeoutMs === 0 ? kAcquireNowait : kAcquire, wait,
      () => new LockTimeout(`could not acquire the ${what} within ${wait.timeoutMs} ms; it is held by another process (see inspect())`));
    if (answer.type !== kGranted) {
      // Only a nowait acquire gets a refusal it did not ask for.
      throw new LockTimeout(`the ${what} is held by another process (acquire with timeoutMs: 0 does not wait)`);
    }
    const leaseId = answer.payload.readUInt32BE(0);
    return new Lease(answer.payload[4] === 1, () => {
      const frame = encodeHead(kReleaseLease, 0, this.#handle.object, 4);
      frame.writeUInt32BE(leaseId, frame.length - 4);
      link.send(this.#handle, [frame]);
    });
  }

  /** Holders, waiters and how many permits were freed by a death. */
  async inspect(): Promise<SemaphoreSnapshot> {
    return linkFor(this.#handle).askValue<SemaphoreSnapshot>(this.#handle, kInspect);
  }

  [utilInspect.custom](): string {
    return `${this.constructor.name} { ${describeHandle(this.#handle)}, permits: ${this.#handle.size} }`;
  }
}

/** A mutual-exclusion lock shared between processes: a Semaphore of one permit. Not reentrant. */
export class Lock extends Semaphore {
  constructor() {
    super(1);
  }
}

shareable(Semaphore, ['semaphore'], (handle) => new Semaphore(handle.size));
shareable(Lock, ['lock'], () => new Lock());
