/**
 * The owner-side states of Lock, Semaphore, Event and Barrier: pure, synchronous, no I/O. Clients hold nothing, so the
 * broker settles a dead client's debts with `disconnect(client)`.
 */
export type {
  BarrierEvent, BrokenEvent, CancelledEvent, ClientId, EventStateEvent, GrantedEvent, PassedEvent,
  SemaphoreEvent, SyncEvent, SyncState, WaiterSnapshot, WokenEvent,
} from './state-events.js';
export { InvalidRelease, type LeaseSnapshot, SemaphoreState, type SemaphoreSnapshot } from './semaphore-state.js';
export { EventState, type EventSnapshot } from './event-state.js';
export { BarrierState, type BarrierSnapshot } from './barrier-state.js';
export { ConditionState, type ConditionSnapshot } from './condition-state.js';

import { SemaphoreState } from './semaphore-state.js';

export function lockState(): SemaphoreState {
  return new SemaphoreState(1, true);
}
