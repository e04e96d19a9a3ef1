/**
 * The owner-side state of a Barrier (sync/state.ts), as Python's: `parties` waits pass together, each with its arrival
 * index, and start the next generation; a timeout, an abort or a dead waiting party breaks it until `reset()`.
 * Invariant: a broken barrier has no parked waiters (breaking answers them all).
 */
import { validateInteger } from '../internal/validate.js';
import {
  type BarrierEvent, type ClientId, type SyncState, type WaiterSnapshot, type Waiters,
  forgetClient, park, unpark, snapshotWaiters, validateIds,
} from './state-events.js';

export interface BarrierSnapshot {
  readonly kind: 'barrier';
  readonly parties: number;
  /** The current generation: 0 at first, +1 on each pass and each `reset()`. */
  readonly generation: number;
  readonly broken: boolean;
  /** The current generation's waiters in arrival order: the i-th will pass with index i. */
  readonly waiters: WaiterSnapshot[];
}

export class BarrierState implements SyncState {
  readonly #parties: number;
  readonly #waiters: Waiters = new Map();
  #generation = 0;
  #broken = false;

  constructor(parties: number) {
    validateInteger(parties, 'parties', 1);
    this.#parties = parties;
  }

  get parties(): number { return this.#parties; }
  get broken(): boolean { return this.#broken; }

  wait(client: ClientId, requestId: number): BarrierEvent[] {
    validateIds(client, requestId);
    if (this.#broken) return [{ type: 'broken', requestId, client }];
    park(this.#waiters, client, requestId, 'barrier wait');
    if (this.#waiters.size < this.#parties) return [];
    const generation = this.#generation++;
    const events: BarrierEvent[] = [];
    let index = 0;
    for (const [id, owner] of this.#waiters) events.push({ type: 'passed', requestId: id, client: owner, index: index++, generation });
    this.#waiters.clear();
    return events;
  }

  /** A parked wait gave up: as in Python, that breaks the barrier. Not parked (it passed already): `[]`. */
  cancel(requestId: number): BarrierEvent[] {
    const cancelled = unpark(this.#waiters, requestId);
    return cancelled.length === 0 ? [] : [...cancelled, ...this.#break()];
  }

  /** A dead waiter's generation can never fill: it breaks. A client with no parked wait is not known as a party: no change. */
  disconnect(client: ClientId): BarrierEvent[] {
    return forgetClient(this.#waiters, client) ? this.#break() : [];
  }

  abort(): BarrierEvent[] {
    return this.#break();
  }

  /** Waiters parked now get `broken`, as in Python. */
  reset(): BarrierEvent[] {
    const events = this.#answerBroken();
    this.#generation++;
    this.#broken = false;
    return events;
  }

  inspect(): BarrierSnapshot {
    return {
      kind: 'barrier', parties: this.#parties, generation: this.#generation, broken: this.#broken,
      waiters: snapshotWaiters(this.#waiters),
    };
  }

  #break(): BarrierEvent[] {
    this.#broken = true;
    return this.#answerBroken();
  }

  #answerBroken(): BarrierEvent[] {
    const events: BarrierEvent[] = [];
    for (const [requestId, client] of this.#waiters) events.push({ type: 'broken', requestId, client });
    this.#waiters.clear();
    return events;
  }
}
