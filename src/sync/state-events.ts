/** What sync states tell their broker: each mutating method returns the events it caused, in order (no outbox to forget). */
import type { CancelledEvent, ClientId } from '../internal/owner-state.js';
import { validateInteger } from '../internal/validate.js';

export type { CancelledEvent, ClientId } from '../internal/owner-state.js';

/** `acquire` got a permit; release it with `release(client, leaseId)`. */
export interface GrantedEvent {
  readonly type: 'granted';
  readonly requestId: number;
  readonly client: ClientId;
  readonly leaseId: number;
  /** The permit this grant hands out was last held by a client that disconnected holding it. */
  readonly previousOwnerDied: boolean;
}

/** The event is (or became) set. */
export interface WokenEvent {
  readonly type: 'woken';
  readonly requestId: number;
  readonly client: ClientId;
}

/** A barrier `wait` passes; `index` is 0 for the first to arrive, `parties - 1` for the last (as in Python). */
export interface PassedEvent {
  readonly type: 'passed';
  readonly requestId: number;
  readonly client: ClientId;
  readonly index: number;
  /** The generation that passed (0 for the first); the barrier is now on `generation + 1`. */
  readonly generation: number;
}

/** A barrier `wait` fails with BarrierBroken. */
export interface BrokenEvent {
  readonly type: 'broken';
  readonly requestId: number;
  readonly client: ClientId;
}

export type SemaphoreEvent = GrantedEvent | CancelledEvent;
export type EventStateEvent = WokenEvent | CancelledEvent;
export type BarrierEvent = PassedEvent | BrokenEvent | CancelledEvent;
export type SyncEvent = GrantedEvent | WokenEvent | PassedEvent | BrokenEvent | CancelledEvent;

/** A parked request, as `inspect()` lists it (oldest first). */
export interface WaiterSnapshot {
  readonly client: ClientId;
  /** The client's process id, set by the owner in `inspect()` and status; null until its link announced it. */
  readonly pid?: number | null;
  readonly requestId: number;
}

/** What every sync state offers, so the broker can clean up after a connection without knowing the kind. */
export interface SyncState {
  cancel(requestId: number): readonly SyncEvent[];
  disconnect(client: ClientId): readonly SyncEvent[];
}

/** The broker's ids are trusted but checked: a NaN or string id would silently never match anything. */
export function validateIds(client: unknown, requestId: unknown): asserts client is ClientId {
  validateInteger(client, 'client', 0);
  validateInteger(requestId, 'requestId', 0);
}

/** By requestId: a Map keeps FIFO order and removes in O(1) on cancel. */
export type Waiters = Map<number, ClientId>;

/** Adds a parked request, refusing a requestId that is already parked (a broker bug that would lose one answer). */
export function park(waiters: Waiters, client: ClientId, requestId: number, kind: string): void {
  if (waiters.has(requestId)) {
    throw new Error(`${kind}: requestId ${requestId} is already waiting (client ${waiters.get(requestId)}); ` +
      'the broker must give every pending request its own id');
  }
  waiters.set(requestId, client);
}

/** Takes a parked request out: `[cancelled]`, or `[]` when it is not parked (answered already). */
export function unpark(waiters: Waiters, requestId: number): CancelledEvent[] {
  const client = waiters.get(requestId);
  if (client === undefined) return [];
  waiters.delete(requestId);
  return [{ type: 'cancelled', requestId, client }];
}

/** Forgets every parked request of a client that is gone; says whether it had any. */
export function forgetClient(waiters: Waiters, client: ClientId): boolean {
  let had = false;
  for (const [requestId, owner] of waiters) {
    if (owner === client) {
      waiters.delete(requestId);
      had = true;
    }
  }
  return had;
}

export function snapshotWaiters(waiters: Waiters): WaiterSnapshot[] {
  return [...waiters].map(([requestId, client]) => ({ client, requestId }));
}
