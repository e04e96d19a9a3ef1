/**
 * A Lock's or Semaphore's words in shared memory: one slot word per permit. An uncontended acquire is one
 * compare-and-swap on a free slot, a release one on the slot it took, with no message to the owner. The owner stays the
 * authority: it learns of a holder's death from the socket (the kernel closes it however the holder died) and frees
 * that holder's slots; contention, FIFO hand-off and timeouts go through it as before.
 *
 * One word per permit, rather than a count and a holder list: a count would need a second store to say who holds, and
 * a holder killed between the two would leak a permit or leave one nobody can free. A slot is taken and given back by
 * one store each, so a death leaves either a free slot or one naming its dead holder, which the owner frees.
 *
 * The file (`word-<object>` in the owner's directory) holds, for slot i, a holder word at Int32 index 32 i and a
 * `died` word at 32 i + 16 (so a Lock's single slot has its holder at 0 and `died` at 16), touched only through Atomics:
 *
 * | holder value     | meaning                                    | who may change it                             |
 * | ---------------- | ------------------------------------------ | --------------------------------------------- |
 * | 0                | free                                       | any client: CAS 0 → its id (acquire)          |
 * | id               | held by that client, unknown to the owner  | that client: CAS id → 0 (release); the owner: |
 * |                  |                                            | the contended bit, or 0 once the client died  |
 * | id \| contended  | held by that client, others wait at owner  | the owner only (the client's CAS fails: it      |
 * |                  |                                            | releases through the owner)                   |
 * | -1               | the owner's state machine holds the permits | the owner only                               |
 *
 * `died` is 1 when a holder died holding that slot and nobody took it since: the next acquirer swaps it to 0 and reports
 * `previousOwnerDied`. The owner sets it before it frees the holder word, so the next CAS sees it. An id is the holder's
 * connection id at the owner (never a pid: pids are reused). Semaphores of more than kMaxSlots permits, of none, or that
 * ever got permits from `release(k)` are served by the owner alone.
 */
import { join } from 'node:path';
import type { Link } from '../broker/link.js';
import { kRequest } from '../broker/protocol.js';
import type { Handle } from '../codec/handles.js';
import { loadNative } from '../native/load.js';
import { sharedDirFor } from '../transport/shared-dir.js';

export const kWordBytes = 4096;
export const kMaxSlots = 32;
export const kOwnerHeld = -1;
export const kContended = 1 << 30;
export const kIdMask = kContended - 1;

/** Slot `i`'s holder word and its `died` word (Int32 indices). */
export function holderAt(slot: number): number { return slot * 32; }
export function diedAt(slot: number): number { return slot * 32 + 16; }

/** The word file of lock or semaphore `object` in the owner's directory. */
export function wordFileName(object: string): string {
  return `word-${object}`;
}

/** A client's view of the slot words of one lock or semaphore, with its connection id at the owner. */
export class LockWord {
  readonly #words: Int32Array;
  readonly #id: number;
  readonly #slots: number;

  constructor(memory: ArrayBuffer, id: number, slots: number) {
    this.#words = new Int32Array(memory, 0, kWordBytes / 4);
    this.#id = id;
    this.#slots = slots;
  }

  /**
   * A CAS per slot tried, from one that depends on the id: undefined if none is free (ask the owner), else the slot
   * taken and whether its last holder died.
   */
  tryAcquire(): { readonly slot: number; readonly died: boolean } | undefined {
    const slots = this.#slots;
    for (let k = 0, slot = this.#id % slots; k < slots; k++, slot = slot + 1 === slots ? 0 : slot + 1) {
      if (Atomics.compareExchange(this.#words, holderAt(slot), 0, this.#id) === 0) {
        return { slot, died: Atomics.exchange(this.#words, diedAt(slot), 0) === 1 };
      }
    }
    return undefined;
  }

  /** One CAS: false if others wait at the owner (contended bit set), who then must hear of the release. */
  release(slot: number): boolean {
    return Atomics.compareExchange(this.#words, holderAt(slot), this.#id, 0) === this.#id;
  }

  /** A death this holder was told of and nobody saw (a grant that came after its acquire gave up): for the next holder. */
  markDied(slot: number): void {
    Atomics.store(this.#words, diedAt(slot), 1);
  }
}

/** A client's words, per link (one per thread and owner) and lock: undefined while asking, null where there is none. */
const opened = new WeakMap<Link, Map<string, LockWord | null | Promise<LockWord | null>>>();

/**
 * This thread's view of the words of the lock or semaphore of `handle`, asked of its owner once through `link` and mapped
 * from the owner's directory. Null where there are none (no addon here or at the owner): it is served as before. Once
 * known, a lookup is two map reads (every acquire and release makes one).
 */
export function wordFor(link: Link, handle: Handle, slots: number): LockWord | null | Promise<LockWord | null> {
  const { object } = handle;
  let words = opened.get(link);
  if (words === undefined) opened.set(link, words = new Map<string, LockWord | null | Promise<LockWord | null>>());
  const known = words.get(object);
  if (known !== undefined) return known;
  const addon = loadNative();
  if (addon === undefined) {
    words.set(object, null);
    return null;
  }
  const asked = link.askValue<{ file: string; id: number; slots: number } | null>(handle, kRequest.WordOpen);
  const pending = asked.then((answer) => {
    let word: LockWord | null = null;
    if (answer !== null && /^word-[0-9]+$/.test(answer.file) && Number.isInteger(answer.id) && answer.id > 0 &&
      answer.id <= kIdMask && answer.slots === slots) {
      try {
        word = new LockWord(addon.map(join(sharedDirFor(handle.path), answer.file), kWordBytes, false), answer.id, slots);
      } catch {
        word = null;
      }
    }
    words.set(object, word);
    return word;
  }, () => {
    // Asked of a lost owner: the request path says so, with BrokerLost.
    words.delete(object);
    return null;
  });
  words.set(object, pending);
  return pending;
}
