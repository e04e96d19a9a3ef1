/**
 * Lock, Semaphore and BoundedSemaphore: the owner's broker releases a dead holder's lease and tells the next holder
 * (`previousOwnerDied`), so a death never wedges the lock and never passes unnoticed.
 */
import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { BoundedError, LockTimeout, ReleasedError } from '../errors.js';
import { type Link, linkFor, validateWait, type WaitOptions } from '../broker/link.js';
import { kMaxSlots, type LockWord, wordFor } from './lock-word.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { encodeHead } from '../transport/frame.js';
import { type AnswerFrame, kAnswer, kRequest } from '../broker/protocol.js';
import { validateArgumentCount, validateInteger } from '../internal/validate.js';
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
    if (this.#released) {
      throw new ReleasedError('this lease was already released; release each acquire exactly once (`using` releases it for you)');
    }
    this.#released = true;
    this.#release();
  }

  [Symbol.dispose](): void {
    if (!this.#released) this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    // A throw from release() becomes a rejection, as from an async method.
    return new Promise((resolve) => {
      this[Symbol.dispose]();
      resolve();
    });
  }
}

/** What a Lease from acquire() holds: `give` hands the permit back (to the owner, or the lock word); undefined once it did. */
interface Permit {
  readonly source: Semaphore;
  give: (() => void) | undefined;
}

const permits = new WeakMap<Lease, Permit>();
/** Leases this thread holds, by the one instance of their Lock or Semaphore here: what Condition.notify() checks. */
const held = new WeakMap<Semaphore, Set<Lease>>();

function heldIn(source: Semaphore): Set<Lease> {
  let leases = held.get(source);
  if (leases === undefined) held.set(source, leases = new Set());
  return leases;
}

/** A lease of `source` whose release() calls `give` once, unless a Condition's wait() moved its permit meanwhile. */
function leaseOf(source: Semaphore, previousOwnerDied: boolean, give: () => void): Lease {
  const permit: Permit = { source, give };
  const lease = new Lease(previousOwnerDied, () => {
    heldIn(source).delete(lease);
    const giveBack = permit.give;
    permit.give = undefined;
    giveBack?.();
  });
  permits.set(lease, permit);
  heldIn(source).add(lease);
  return lease;
}

/** @internal The Lock or Semaphore whose permit `lease` holds now: undefined once released, or while a wait() let go of it. */
export function permitSource(lease: Lease): Semaphore | undefined {
  const permit = permits.get(lease);
  return permit?.give === undefined || lease.released ? undefined : permit.source;
}

/** @internal Whether this thread holds a permit of `source` now (Python's `_is_mine()`). */
export function holdsPermit(source: Semaphore): boolean {
  return (held.get(source)?.size ?? 0) > 0;
}

/**
 * @internal Condition.wait(): gives back the permit behind `lease`, which stays unreleased and holds nothing until
 * restorePermit(); a release() meanwhile only ends it. The caller checked permitSource(lease).
 */
export function suspendPermit(lease: Lease): void {
  const permit = permits.get(lease) as Permit;
  const giveBack = permit.give as () => void;
  permit.give = undefined;
  heldIn(permit.source).delete(lease);
  giveBack();
}

/** @internal Moves the permit of `fresh`, just acquired from the same source, behind the suspended `lease`; `fresh` is spent. */
export function restorePermit(lease: Lease, fresh: Lease): void {
  const permit = permits.get(lease) as Permit;
  const from = permits.get(fresh) as Permit;
  permit.give = from.give;
  from.give = undefined;
  heldIn(from.source).delete(fresh);
  heldIn(permit.source).add(lease);
  (lease as { previousOwnerDied: boolean }).previousOwnerDied = fresh.previousOwnerDied;
}

/** A counting semaphore shared between processes. */
export class Semaphore {
  readonly #handle: Handle;

  /** @param permits how many holders at once (Python's `value`); 0 makes a signal that `release()` opens. @default 1 */
  constructor(...args: [permits?: number]) {
    validateArgumentCount(args, new.target.name, 1, 'one argument (permits)');
    const permits = args[0] ?? 1;
    validateInteger(permits, 'permits', 0, 2 ** 32 - 1);
    const kind = this instanceof Lock ? 'lock' : this instanceof BoundedSemaphore ? 'bounded-semaphore' : 'semaphore';
    this.#handle = claimHandle(kind, permits, 1024);
    adopt(this, this.#handle);
  }

  /** How many holders it allows at once, as created (`release()` may add more). */
  get permits(): number { return this.#handle.size; }

  /**
   * Adds `k` permits nobody holds (Python's `sem.release()`), waking waiters in order; resolves once the owner applied it.
   * Rejects BoundedError (EBOUNDED) on a BoundedSemaphore or Lock it would take past its permits.
   */
  async release(k = 1): Promise<void> {
    validateInteger(k, 'k', 1, 2 ** 32 - 1);
    const answer = await linkFor(this.#handle).request(this.#handle, (id) => {
      const frame = encodeHead(kRequest.AddPermits, id, this.#handle.object, 4);
      frame.writeUInt32BE(k, frame.length - 4);
      return [frame];
    });
    if (answer.type === kAnswer.Done) return;
    const why = answer.payload.toString('utf8');
    throw new BoundedError(this.#handle.kind === 'lock'
      ? 'a Lock has one permit, so release() cannot add another; release the lease acquire() gave you (lease.release())'
      : `${why}; a BoundedSemaphore never grows: release a lease, or use a Semaphore`);
  }

  /** Permits free now (Python's `get_value()`). */
  async getValue(): Promise<number> {
    return linkFor(this.#handle).askValue<number>(this.#handle, kRequest.Stats);
  }

  /** Waits for a permit (first come, first served). Rejects LockTimeout after `timeoutMs` (0: unless free now), AbortError on `signal`. */
  async acquire(options?: AcquireOptions): Promise<Lease> {
    const wait = validateWait(options, 'acquire()');
    const link = linkFor(this.#handle);
    if (this.#slots > 0 && wait.signal?.aborted !== true) {
      // The first acquire on this link asks for the words and goes through the owner meanwhile: it keeps its place
      // among the requests made before and after it (an acquire, then a put, reach the owner in that order).
      const word = this.#word(link);
      const fast = word instanceof Promise ? undefined : this.#fastAcquire(link, word);
      if (fast !== undefined) return fast;
    }
    const what = this.#handle.kind;
    const release = (leaseId: number, unseenDeath = false): void => {
      const frame = encodeHead(kRequest.ReleaseLease, 0, this.#handle.object, unseenDeath ? 5 : 4);
      frame.writeUInt32BE(leaseId, frame.length - (unseenDeath ? 5 : 4));
      if (unseenDeath) frame[frame.length - 1] = 1;
      link.send(this.#handle, [frame]);
    };
    const answer = await link.ask(this.#handle, wait.timeoutMs === 0 ? kRequest.AcquireNowait : kRequest.Acquire, wait,
      () => new LockTimeout(`could not acquire the ${what} within ${wait.timeoutMs} ms; it is held by another process (see inspect())`),
      // Granted after this acquire gave up: released at once, never held unknowingly; news of a death stays for the next holder.
      (late) => {
        if (late.type !== kAnswer.Granted) return;
        const slot = slotOf(late);
        if (slot !== undefined) this.#releaseWord(link, slot, late.payload[4] === 1);
        else release(late.payload.readUInt32BE(0), late.payload[4] === 1);
      });
    if (answer.type !== kAnswer.Granted) {
      // Only a nowait acquire gets a refusal it did not ask for.
      throw new LockTimeout(`the ${what} is held by another process (acquire with timeoutMs: 0 does not wait)`);
    }
    const leaseId = answer.payload.readUInt32BE(0);
    // Handed over into a slot of the words: released by a CAS, as a fast hold, so the next acquire need not ask the owner.
    const slot = slotOf(answer);
    if (slot !== undefined) return leaseOf(this, answer.payload[4] === 1, () => { this.#releaseWord(link, slot, false); });
    return leaseOf(this, answer.payload[4] === 1, () => release(leaseId));
  }

  /** How many slot words it has where the addon loads (lock-word.ts): one per permit, at most kMaxSlots; 0: none. */
  get #slots(): number {
    const { kind, size } = this.#handle;
    return kind === 'lock' ? 1 : size <= kMaxSlots ? size : 0;
  }

  // Releases a slot held in this link's words (a fast acquire, or a grant handed into a slot); `died`: a death it was
  // told of and nobody saw (a late grant), kept for the next holder of the slot.
  #releaseWord(link: Link, slot: number, died: boolean): void {
    const known = this.#word(link);
    if (known instanceof Promise) {
      void known.then((word) => this.#releaseIn(link, word, slot, died));
      return;
    }
    this.#releaseIn(link, known, slot, died);
  }

  #releaseIn(link: Link, word: LockWord | null, slot: number, died: boolean): void {
    if (word === null || !link.alive) return;
    if (died) word.markDied(slot);
    // Others came to wait meanwhile (the contended bit): the owner hands it on.
    if (word.release(slot)) return;
    const frame = encodeHead(kRequest.ReleaseWord, 0, this.#handle.object, 1);
    frame[frame.length - 1] = slot;
    link.send(this.#handle, [frame]);
  }

  // The slot words in shared memory (lock-word.ts): one CAS on a free slot, else undefined (ask the owner).
  #word(link: Link): LockWord | null | Promise<LockWord | null> {
    return wordFor(link, this.#handle, this.#slots);
  }

  #fastAcquire(link: Link, word: LockWord | null): Lease | undefined {
    if (word === null || !link.alive) return undefined;
    const taken = word.tryAcquire();
    if (taken === undefined) return undefined;
    return leaseOf(this, taken.died, () => { this.#releaseWord(link, taken.slot, false); });
  }

  /** Holders, waiters and how many permits were freed by a death. */
  async inspect(): Promise<SemaphoreSnapshot> {
    return linkFor(this.#handle).askValue<SemaphoreSnapshot>(this.#handle, kRequest.Inspect);
  }

  [utilInspect.custom](): string {
    return `${this.constructor.name} { ${describeHandle(this.#handle)}, permits: ${this.#handle.size} }`;
  }
}

/** As Semaphore, but `release()` past the permits it was created with rejects BoundedError; held leases count (they come back). */
export class BoundedSemaphore extends Semaphore {}

/** A mutual-exclusion lock shared between processes: a semaphore bounded at one permit. Not reentrant. */
export class Lock extends Semaphore {
  constructor(...args: []) {
    validateArgumentCount(args, 'Lock', 0, 'no arguments');
    super(1);
  }

  /** Whether someone holds it now. */
  async locked(): Promise<boolean> {
    return (await this.getValue()) === 0;
  }
}

/** The slot a grant was handed into (sync/lock-word.ts): a 6th payload byte 1 and the slot in the 7th; else undefined. */
function slotOf(answer: AnswerFrame): number | undefined {
  return answer.payload.length >= 7 && answer.payload[5] === 1 ? answer.payload[6] : undefined;
}

shareable(Semaphore, ['semaphore'], (handle) => new Semaphore(handle.size));
shareable(BoundedSemaphore, ['bounded-semaphore'], (handle) => new BoundedSemaphore(handle.size));
shareable(Lock, ['lock'], () => new Lock());
