// The owner's side of a lock's or semaphore's slot words (sync/lock-word.ts for the layout and who may change what). The
// file is made on the first client's request, in the owner's directory, and goes with that directory when the owner ends.
import { join } from 'node:path';
import { loadNative } from '../../native/load.js';
import { diedAt, holderAt, kContended, kIdMask, kOwnerHeld, kWordBytes, wordFileName } from '../../sync/lock-word.js';

/** Whether a holder word's value says the owner governs it (-1, or a holder with the contended bit): no client may change it. */
export function isGoverned(value: number): boolean {
  return value === kOwnerHeld || (value > 0 && (value & kContended) !== 0);
}

export class OwnerWord {
  readonly name: string;
  readonly slots: number;
  readonly #words: Int32Array;

  private constructor(name: string, memory: ArrayBuffer, slots: number) {
    this.name = name;
    this.slots = slots;
    this.#words = new Int32Array(memory, 0, kWordBytes / 4);
  }

  /** undefined where the addon or the directory is missing: the object is then served through the owner alone. */
  static create(dir: string, object: string, slots: number): OwnerWord | undefined {
    const addon = loadNative(true);
    if (addon === undefined) return undefined;
    const name = wordFileName(object);
    try {
      return new OwnerWord(name, addon.map(join(dir, name), kWordBytes, true), slots);
    } catch {
      return undefined;
    }
  }

  value(slot: number): number { return Atomics.load(this.#words, holderAt(slot)); }

  /** A client's id while it holds `slot` unknown to the owner (no contended bit), else undefined. */
  fastHolder(slot: number): number | undefined {
    const value = this.value(slot);
    return value > 0 && (value & kContended) === 0 ? value & kIdMask : undefined;
  }

  /** Slots held by clients unknown to the owner. */
  fastHeld(): number {
    let held = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.fastHolder(slot) !== undefined) held++;
    return held;
  }

  /** From free to governed; true if it was free (a client may have taken it meanwhile: then false). */
  claimFree(slot: number): boolean {
    return Atomics.compareExchange(this.#words, holderAt(slot), 0, kOwnerHeld) === 0;
  }

  /** Marks `id`'s fast hold of `slot` as contended (its release then comes to the owner); false if it changed meanwhile. */
  contend(slot: number, id: number): boolean {
    return Atomics.compareExchange(this.#words, holderAt(slot), id, id | kContended) === id;
  }

  /** Only while governed: the owner alone writes it then. `holder`: a hold booked at the owner, else the owner's own. */
  govern(slot: number, holder: number | undefined): void {
    Atomics.store(this.#words, holderAt(slot), holder === undefined ? kOwnerHeld : holder | kContended);
  }

  /** From governed to held by client `id` as a fast hold (a grant handed over into the slot, nobody waiting). */
  hold(slot: number, id: number): void {
    Atomics.store(this.#words, holderAt(slot), id);
  }

  /** Frees `slot` if client `id` holds it fast (its release reached the owner after the slot went back to it). */
  releaseFor(slot: number, id: number): void {
    Atomics.compareExchange(this.#words, holderAt(slot), id, 0);
  }

  /** Back to free, from governed; `died`: the next acquirer of the slot is told its predecessor died holding it. */
  free(slot: number, died: boolean): void {
    if (died) Atomics.store(this.#words, diedAt(slot), 1);
    Atomics.store(this.#words, holderAt(slot), 0);
  }

  /**
   * The fast holder `id` of `slot` died, or the slot holds a value no live client wrote (`id` is then that value): the
   * next acquirer is told, then the slot is freed (the dead cannot race us; a live client's CAS expects 0 or its own id).
   */
  freeDead(slot: number, id: number): void {
    Atomics.store(this.#words, diedAt(slot), 1);
    Atomics.compareExchange(this.#words, holderAt(slot), id, 0);
  }

  /** Whether a death was recorded on `slot` and not yet told; clears it. */
  takeDied(slot: number): boolean {
    return Atomics.exchange(this.#words, diedAt(slot), 0) === 1;
  }

  /** Deaths recorded on free slots and not yet told (for inspect: they stay). */
  diedUntold(): number {
    let untold = 0;
    for (let slot = 0; slot < this.slots; slot++) if (Atomics.load(this.#words, diedAt(slot)) === 1) untold++;
    return untold;
  }
}
