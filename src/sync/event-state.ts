/** The owner-side state of an Event (sync/state.ts): a flag and its parked waits. Any client may set or clear it, as in Python. */
import {
  type ClientId, type EventStateEvent, type SyncState, type WaiterSnapshot, type Waiters,
  forgetClient, park, unpark, snapshotWaiters, validateIds,
} from './state-events.js';

export interface EventSnapshot {
  readonly kind: 'event';
  readonly set: boolean;
  readonly waiters: WaiterSnapshot[];
}

export class EventState implements SyncState {
  #set = false;
  readonly #waiters: Waiters = new Map();

  isSet(): boolean { return this.#set; }

  /** Wakes every parked waiter, of every client, oldest first. Idempotent. */
  set(): EventStateEvent[] {
    this.#set = true;
    const events: EventStateEvent[] = [];
    for (const [requestId, client] of this.#waiters) events.push({ type: 'woken', requestId, client });
    this.#waiters.clear();
    return events;
  }

  /** Waiters already woken stay woken. */
  clear(): void {
    this.#set = false;
  }

  wait(client: ClientId, requestId: number): EventStateEvent[] {
    validateIds(client, requestId);
    if (this.#set) return [{ type: 'woken', requestId, client }];
    park(this.#waiters, client, requestId, 'event wait');
    return [];
  }

  /** A parked wait gave up: `[cancelled]`, or `[]` when not parked (already woken). */
  cancel(requestId: number): EventStateEvent[] {
    return unpark(this.#waiters, requestId);
  }

  /** Nobody else is affected, so there are never events. */
  disconnect(client: ClientId): EventStateEvent[] {
    forgetClient(this.#waiters, client);
    return [];
  }

  inspect(): EventSnapshot {
    return { kind: 'event', set: this.#set, waiters: snapshotWaiters(this.#waiters) };
  }
}
