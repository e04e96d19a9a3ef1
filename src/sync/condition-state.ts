/**
 * The owner-side state of a Condition (sync/state.ts): its parked waits and the wakes not yet taken up. Invariants:
 * - a notify wakes parked waits oldest first, at most as many as asked (Python drops a notify no one waits for);
 * - a wake counts as `unconfirmed` until its client confirms it (it re-acquired the lock, or hands it on);
 * - a wake whose client disconnects unconfirmed, or hands it on, goes to the next parked wait: a notify is never lost
 *   to a waiter that died or gave up.
 */
import { validateInteger } from '../internal/validate.js';
import {
  type ClientId, type EventStateEvent, type SyncState, type WaiterSnapshot, type Waiters,
  forgetClient, park, unpark, snapshotWaiters, validateIds,
} from './state-events.js';

/** A Notify's count that means every waiter (notifyAll). */
export const kNotifyAll = 0xffffffff;

export interface ConditionSnapshot {
  readonly kind: 'condition';
  readonly waiters: WaiterSnapshot[];
  /** Clients woken that have not yet taken the wake up, with how many wakes each. */
  readonly woken: { readonly client: ClientId; readonly pid?: number | null; readonly wakes: number }[];
}

export class ConditionState implements SyncState {
  readonly #waiters: Waiters = new Map();
  readonly #unconfirmed = new Map<ClientId, number>();

  wait(client: ClientId, requestId: number): EventStateEvent[] {
    validateIds(client, requestId);
    park(this.#waiters, client, requestId, 'condition wait');
    return [];
  }

  /** Wakes up to `n` parked waits (Infinity: all of them, Python's `notify_all`). */
  notify(n: number): EventStateEvent[] {
    if (n !== Infinity) validateInteger(n, 'n', 0);
    const events: EventStateEvent[] = [];
    for (const [requestId, client] of this.#waiters) {
      if (events.length >= n) break;
      this.#waiters.delete(requestId);
      this.#unconfirmed.set(client, (this.#unconfirmed.get(client) ?? 0) + 1);
      events.push({ type: 'woken', requestId, client });
    }
    return events;
  }

  /** `client` took up one of its wakes; `handOn`: it had given up its wait, so the wake goes to the next waiter. */
  confirm(client: ClientId, handOn: boolean): EventStateEvent[] {
    validateInteger(client, 'client', 0);
    const wakes = this.#unconfirmed.get(client) ?? 0;
    // A confirm with no wake is a client bug, but harmless: ignoring it can lose nothing.
    if (wakes === 0) return [];
    if (wakes === 1) this.#unconfirmed.delete(client);
    else this.#unconfirmed.set(client, wakes - 1);
    return handOn ? this.notify(1) : [];
  }

  /** A parked wait gave up: `[cancelled]`, or `[]` when not parked (woken already: its client confirms with `handOn`). */
  cancel(requestId: number): EventStateEvent[] {
    return unpark(this.#waiters, requestId);
  }

  /** The client's parked waits vanish; the wakes it never took up go to the next waiters. */
  disconnect(client: ClientId): EventStateEvent[] {
    forgetClient(this.#waiters, client);
    const wakes = this.#unconfirmed.get(client) ?? 0;
    this.#unconfirmed.delete(client);
    return wakes === 0 ? [] : this.notify(wakes);
  }

  inspect(): ConditionSnapshot {
    return {
      kind: 'condition',
      waiters: snapshotWaiters(this.#waiters),
      woken: [...this.#unconfirmed].map(([client, wakes]) => ({ client, wakes })),
    };
  }
}
