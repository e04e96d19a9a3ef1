// The owner's side of a Lock's word (sync/lock-word.ts for the layout and who may change what). The file is made on the
// first client's request, in the owner's directory, and goes with that directory when the owner ends.
import { join } from 'node:path';
import { loadNative } from '../../native/load.js';
import { kContended, kDied, kHolder, kIdMask, kOwnerHeld, kWordBytes, wordFileName } from '../../sync/lock-word.js';

/** Whether a holder word's value says the owner governs it (-1, or a holder with the contended bit): no client may change it. */
export function isGoverned(value: number): boolean {
  return value === kOwnerHeld || (value > 0 && (value & kContended) !== 0);
}

export class OwnerWord {
  readonly name: string;
  readonly #words: Int32Array;

  private constructor(name: string, memory: ArrayBuffer) {
    this.name = name;
    this.#words = new Int32Array(memory, 0, kDied + 1);
  }

  /** undefined where the addon or the directory is missing: the lock is then served through the socket alone. */
  static create(dir: string, object: string): OwnerWord | undefined {
    const addon = loadNative(true);
    if (addon === undefined) return undefined;
    const name = wordFileName(object);
    try {
      return new OwnerWord(name, addon.map(join(dir, name), kWordBytes, true));
    } catch {
      return undefined;
    }
  }

  get value(): number { return Atomics.load(this.#words, kHolder); }

  /** A client's id while it holds the word unknown to the owner (no contended bit), else undefined. */
  fastHolder(): number | undefined {
    const value = this.value;
    return value > 0 && (value & kContended) === 0 ? value & kIdMask : undefined;
  }

  /** Whether the owner governs it (-1, or a holder with the contended bit): no client may change it then. */
  get governed(): boolean {
    return isGoverned(this.value);
  }

  /** From free to governed; true if it was free (a client may have taken it meanwhile: then false). */
  claimFree(): boolean {
    return Atomics.compareExchange(this.#words, kHolder, 0, kOwnerHeld) === 0;
  }

  /** Marks `id`'s fast hold as contended (its release then comes to the owner); false if it changed meanwhile. */
  contend(id: number): boolean {
    return Atomics.compareExchange(this.#words, kHolder, id, id | kContended) === id;
  }

  /** Only while governed: the owner alone writes it then. */
  govern(holder: number | undefined): void {
    Atomics.store(this.#words, kHolder, holder === undefined ? kOwnerHeld : holder | kContended);
  }

  /** From governed to held by client `id` as a fast hold (a grant handed over into the word, nobody waiting). */
  hold(id: number): void {
    Atomics.store(this.#words, kHolder, id);
  }

  /** Back to free, from governed; `died`: the next acquirer is told its predecessor died holding it. */
  free(died: boolean): void {
    if (died) Atomics.store(this.#words, kDied, 1);
    Atomics.store(this.#words, kHolder, 0);
  }

  /**
   * The fast holder `id` died, or the word holds a value no live client wrote (`id` is then that value): the next
   * acquirer is told, then the word is freed (the dead cannot race us; a live client's CAS expects 0 or its own id).
   */
  freeDead(id: number): void {
    Atomics.store(this.#words, kDied, 1);
    Atomics.compareExchange(this.#words, kHolder, id, 0);
  }

  /** Whether a death was recorded and not yet told (for inspect: it stays). */
  get diedUntold(): boolean {
    return Atomics.load(this.#words, kDied) === 1;
  }

  /** Whether a death was recorded and not yet told; clears it. */
  takeDied(): boolean {
    return Atomics.exchange(this.#words, kDied, 0) === 1;
  }
}
