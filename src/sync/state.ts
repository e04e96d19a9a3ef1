/**
 * The owner-side state machines behind Lock, Semaphore, Event and Barrier.
 * The process that creates one keeps it in its broker; other processes reach it
 * over a connection and never hold anything themselves, so the broker can
 * settle a dead client's debts with `disconnect(client)`. Everything here is
 * pure, synchronous and does no I/O: methods return the events the broker must
 * answer, each naming its `client` and `requestId`.
 */
export type {
  BarrierEvent, BrokenEvent, CancelledEvent, ClientId, EventStateEvent, GrantedEvent, PassedEvent,
  SemaphoreEvent, SyncEvent, SyncState, WaiterSnapshot, WokenEvent,
} from './state-events.js';
export { InvalidRelease, type LeaseSnapshot, SemaphoreState, type SemaphoreSnapshot } from './semaphore-state.js';
export { EventState, type EventSnapshot } from './event-state.js';
export { BarrierState, type BarrierSnapshot } from './barrier-state.js';

import { SemaphoreState } from './semaphore-state.js';

/** A Lock is a semaphore bounded at one permit. */
export function lockState(): SemaphoreState {
  return new SemaphoreState(1, true);
}
