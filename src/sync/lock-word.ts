/**
 * A Lock's word in shared memory: uncontended acquire and release are one compare-and-swap each, with no message to
 * the owner. The owner stays the authority: it learns of a holder's death from the socket (the kernel closes it however
 * the holder died) and frees the word; contention, FIFO hand-off and timeouts go through it as before.
 *
 * The file (`word-<object>` in the owner's directory) holds two Int32 words, touched only through Atomics:
 *
 * | holder value     | meaning                                   | who may change it                           |
 * | ---------------- | ----------------------------------------- | ------------------------------------------- |
 * | 0                | free                                      | any client: CAS 0 → its id (acquire)        |
 * | id               | held by that client, unknown to the owner | that client: CAS id → 0 (release); the owner: |
 * |                  |                                           | the contended bit, or 0 once the client died |
 * | id \| contended  | held by that client, others wait at owner | the owner only (the client's CAS fails: it releases through the owner) |
 * | -1               | the owner's state machine holds it        | the owner only                              |
 *
 * `died` is 1 when a holder died holding the lock and nobody acquired it since: the next acquirer swaps it to 0 and
 * reports `previousOwnerDied`. The owner sets it before it frees the holder word, so the next CAS sees it.
 * An id is the holder's connection id at the owner (never a pid: pids are reused).
 */
import { join } from 'node:path';
import { loadNative } from '../native/load.js';

export const kWordBytes = 4096;
export const kHolder = 0;
export const kDied = 16;
export const kOwnerHeld = -1;
export const kContended = 1 << 30;
export const kIdMask = kContended - 1;

/** The word file of lock `object` in the owner's directory. */
export function wordFileName(object: string): string {
  return `word-${object}`;
}

/** A client's view of one lock word, with its connection id at the owner. */
export class LockWord {
  readonly #words: Int32Array;
  readonly #id: number;

  constructor(memory: ArrayBuffer, id: number) {
    this.#words = new Int32Array(memory, 0, kDied + 1);
    this.#id = id;
  }

  /** One CAS: undefined if held (or the owner governs it: go through the owner), else whether the last holder died. */
  tryAcquire(): boolean | undefined {
    if (Atomics.compareExchange(this.#words, kHolder, 0, this.#id) !== 0) return undefined;
    return Atomics.exchange(this.#words, kDied, 0) === 1;
  }

  /** One CAS: false if others wait at the owner (contended bit set), who then must hear of the release. */
  release(): boolean {
    return Atomics.compareExchange(this.#words, kHolder, this.#id, 0) === this.#id;
  }

  /** A death this holder was told of and nobody saw (a grant that came after its acquire gave up): for the next holder. */
  markDied(): void {
    Atomics.store(this.#words, kDied, 1);
  }

  /** Whether anyone holds it (a fast holder or the owner's). */
  get held(): boolean {
    return Atomics.load(this.#words, kHolder) !== 0;
  }
}

/** A client's words, per link (one per thread and owner) and lock: undefined while asking, null where there is none. */
const opened = new WeakMap<object, Map<string, LockWord | null | Promise<LockWord | null>>>();

/**
 * This thread's view of the word of the lock `object`, asked of the owner once (`ask` resolves {file, id} or null), and
 * mapped from `dir`. Null where there is none (no addon here or at the owner), and the lock is served as before.
 */
export function wordFor(
  link: object, object: string, dir: () => string, ask: () => Promise<{ file: string; id: number } | null>,
): LockWord | null | Promise<LockWord | null> {
  let words = opened.get(link);
  if (words === undefined) opened.set(link, words = new Map<string, LockWord | null | Promise<LockWord | null>>());
  const known = words.get(object);
  if (known !== undefined) return known;
  const addon = loadNative();
  if (addon === undefined) {
    words.set(object, null);
    return null;
  }
  const pending = ask().then((answer) => {
    let word: LockWord | null = null;
    if (answer !== null && /^word-[0-9]+$/.test(answer.file) && Number.isInteger(answer.id) && answer.id > 0 && answer.id <= kIdMask) {
      try {
        word = new LockWord(addon.map(join(dir(), answer.file), kWordBytes, false), answer.id);
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
