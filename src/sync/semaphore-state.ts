/**
 * The owner-side state of a Semaphore (and of a Lock: one permit, bounded). Pure and synchronous (sync/state.ts).
 * Invariants kept after every method:
 * - `free + held` is `permits` plus what `add(k)` added (Python's `release()` with no lease); a bounded one never exceeds `permits`;
 * - every held permit is a lease of a live client;
 * - no request is parked while a permit is free (grants are FIFO, no barging);
 * - `orphaned <= free`: permits freed by a death are free until re-granted;
 * - a refused `add` or `release` (InvalidRelease) changes nothing.
 */
import { InvalidRequest } from '../internal/owner-state.js';
import { validateInteger } from '../internal/validate.js';
import {
  type ClientId, type SemaphoreEvent, type SyncState, type WaiterSnapshot, type Waiters,
  forgetClient, park, unpark, snapshotWaiters, validateIds,
} from './state-events.js';

/** `released` already (or its holder disconnected), `unknown` (never granted), `not-owner`, or `bounded` (`add` past permits). */
export class InvalidRelease extends InvalidRequest<'released' | 'unknown' | 'not-owner' | 'bounded'> {
  static override readonly code: string = 'EINVALIDRELEASE';
}

export interface LeaseSnapshot {
  readonly leaseId: number;
  readonly client: ClientId;
  /** Set by the owner in `inspect()` and status (as WaiterSnapshot's). */
  readonly pid?: number | null;
  readonly requestId: number;
}

export interface SemaphoreSnapshot {
  readonly kind: 'semaphore';
  /** What it was created with; `free + holders.length` may be more (see `add`). */
  readonly permits: number;
  readonly free: number;
  /** Free permits whose last holder died; each is handed out with `previousOwnerDied: true`. */
  readonly orphaned: number;
  readonly holders: LeaseSnapshot[];
  readonly waiters: WaiterSnapshot[];
}

interface Lease { readonly client: ClientId; readonly requestId: number; readonly previousOwnerDied: boolean; }

export class SemaphoreState implements SyncState {
  readonly #permits: number;
  readonly #bounded: boolean;
  #free: number;
  /** Held leases by leaseId; a Map so release, inspect and disconnect see grant order. */
  readonly #leases = new Map<number, Lease>();
  readonly #waiters: Waiters = new Map();
  #nextLeaseId = 1;
  #orphaned = 0;

  /** `permits` 1 makes a Lock, 0 a signal; `bounded`: `add` may never take it past `permits` (BoundedSemaphore, Lock). */
  constructor(permits: number, bounded = false) {
    validateInteger(permits, 'permits', 0);
    this.#permits = permits;
    this.#free = permits;
    this.#bounded = bounded;
  }

  get permits(): number { return this.#permits; }
  /** Permits no one holds (Python's `get_value()`). */
  get free(): number { return this.#free; }

  /** No lease held and nobody waiting: a Lock's word may go back to its clients (sync/lock-word.ts). */
  get idle(): boolean { return this.#leases.size === 0 && this.#waiters.size === 0; }

  holds(leaseId: number): boolean { return this.#leases.has(leaseId); }

  /** Acquires parked, waiting for a permit. */
  get waiting(): number { return this.#waiters.size; }

  /** Deaths not told to any holder yet, now handed to the slot words to tell: how many; the count goes to 0. */
  takeOrphaned(): number {
    const orphaned = this.#orphaned;
    this.#orphaned = 0;
    return orphaned;
  }

  /** Leases held. */
  get held(): number { return this.#leases.size; }

  /** A death the lock word recorded, now the state's to tell the next holder (at most one per free permit). */
  addOrphaned(): void {
    if (this.#orphaned < this.#free) this.#orphaned++;
  }

  /** Python's `release()`: `k` unheld permits. Refused if a bounded one would exceed `permits`, held leases counted (they come back). */
  add(k: number): SemaphoreEvent[] {
    validateInteger(k, 'k', 1);
    const held = this.#leases.size;
    if (this.#bounded && this.#free + held + k > this.#permits) {
      const permits = `${this.#permits} permit${this.#permits === 1 ? '' : 's'}`;
      throw new InvalidRelease(`release(${k}) would raise it past the ${permits} it was created with ` +
        `(${this.#free} free, ${held} held by leases that come back when released)`, 'bounded');
    }
    this.#free += k;
    return this.#grantWaiting();
  }

  /** Not reentrant: a holder that acquires again parks like anyone. A try (`timeoutMs: 0`) that got no event: `cancel(requestId)`. */
  acquire(client: ClientId, requestId: number): SemaphoreEvent[] {
    validateIds(client, requestId);
    park(this.#waiters, client, requestId, 'semaphore acquire');
    return this.#grantWaiting();
  }

  /**
   * `unseen`: the grant reached no code (its acquire had given up), so a death it reported is still news for the next holder.
   * `died`: a death recorded elsewhere (a Lock's word) and told to no holder yet: news for the next holder too.
   */
  release(client: ClientId, leaseId: number, unseen = false, died = false): SemaphoreEvent[] {
    validateInteger(client, 'client', 0);
    validateInteger(leaseId, 'leaseId', 0);
    const lease = this.#leases.get(leaseId);
    if (lease === undefined) {
      if (leaseId >= 1 && leaseId < this.#nextLeaseId) {
        throw new InvalidRelease(`lease ${leaseId} was already released (by its holder, or because its holder disconnected); ` +
          'release each lease exactly once', 'released');
      }
      throw new InvalidRelease(`lease ${leaseId} was never granted by this semaphore`, 'unknown');
    }
    if (lease.client !== client) {
      throw new InvalidRelease(`lease ${leaseId} is held by client ${lease.client}, not client ${client}; ` +
        'only the holder may release it', 'not-owner');
    }
    this.#leases.delete(leaseId);
    this.#free++;
    if ((unseen && lease.previousOwnerDied) || died) this.#orphaned++;
    return this.#grantWaiting();
  }

  /** A parked acquire gave up: `[cancelled]`, or `[]` when not parked (granted already: the lease stands and must be released). */
  cancel(requestId: number): SemaphoreEvent[] {
    // Parked means no permit was free, so removing a waiter never lets another through.
    return unpark(this.#waiters, requestId);
  }

  /** Parked acquires vanish; each freed lease's next grant says `previousOwnerDied` (per permit: two deaths tell two holders). */
  disconnect(client: ClientId): SemaphoreEvent[] {
    // Waiters first, so that a freed permit is never granted to the dead client itself.
    forgetClient(this.#waiters, client);
    for (const [leaseId, lease] of this.#leases) {
      if (lease.client === client) {
        this.#leases.delete(leaseId);
        this.#free++;
        this.#orphaned++;
      }
    }
    return this.#grantWaiting();
  }

  inspect(): SemaphoreSnapshot {
    return {
      kind: 'semaphore',
      permits: this.#permits,
      free: this.free,
      orphaned: this.#orphaned,
      holders: [...this.#leases].map(([leaseId, { client, requestId }]) => ({ leaseId, client, requestId })),
      waiters: snapshotWaiters(this.#waiters),
    };
  }

  /** The one place permits are handed out, so FIFO order and the orphan count cannot drift apart. */
  #grantWaiting(): SemaphoreEvent[] {
    const events: SemaphoreEvent[] = [];
    for (const [requestId, client] of this.#waiters) {
      if (this.#free === 0) break;
      this.#free--;
      this.#waiters.delete(requestId);
      const leaseId = this.#nextLeaseId++;
      const previousOwnerDied = this.#orphaned > 0;
      if (previousOwnerDied) this.#orphaned--;
      this.#leases.set(leaseId, { client, requestId, previousOwnerDied });
      events.push({ type: 'granted', requestId, client, leaseId, previousOwnerDied });
    }
    return events;
  }
}
