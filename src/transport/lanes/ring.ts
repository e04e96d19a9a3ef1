// One direction of a connection's lanes (layout.ts), seen from one end: a byte ring whose writer copies frames in and
// publishes them with one tail store, and whose reader copies them out before one head store. Every word the other end
// writes is checked before use: a peer that scribbles on them is cut off (ProtocolViolation), never trusted with a length.
import { ProtocolViolation } from '../../internal/protocol-violation.js';
import { type LaneWords, kLaneBytes } from './layout.js';

const kMask = kLaneBytes - 1;

export class Ring {
  readonly #words: Int32Array;
  readonly #data: Uint8Array;
  readonly #at: LaneWords;
  /** This end's own position (the writer's tail or the reader's head): it alone stores it. */
  #mine: number;

  constructor(words: Int32Array, file: ArrayBuffer, at: LaneWords, writer: boolean) {
    this.#words = words;
    this.#data = new Uint8Array(file, at.data, kLaneBytes);
    this.#at = at;
    this.#mine = Atomics.load(words, writer ? at.tail : at.head) >>> 0;
  }

  // Writer: bytes in use, checked (the reader's head must lie between our tail less a lane and our tail).
  #used(): number {
    const used = (this.#mine - (Atomics.load(this.#words, this.#at.head) >>> 0)) >>> 0;
    if (used > kLaneBytes) throw new ProtocolViolation(`the peer moved its lane head past the tail (${used} bytes in use)`);
    return used;
  }

  /** Writer: copies in what fits of `chunk` from `offset`, unpublished; returns the bytes copied. */
  put(chunk: Uint8Array, offset: number): number {
    const room = kLaneBytes - this.#used();
    const n = Math.min(room, chunk.length - offset);
    if (n <= 0) return 0;
    const at = this.#mine & kMask;
    const first = Math.min(n, kLaneBytes - at);
    this.#data.set(chunk.subarray(offset, offset + first), at);
    if (n > first) this.#data.set(chunk.subarray(offset + first, offset + n), 0);
    this.#mine = (this.#mine + n) >>> 0;
    return n;
  }

  // Writer: makes what was put visible; true if the reader slept and must be rung. The writer takes the announcement
  // (1 → 0) as it rings, so a reader already being woken is not rung again for every later frame: at most one ring per
  // sleep. (A reader that stores 1 after our tail store sees the tail when it looks again: both are sequentially
  // consistent.)
  publish(): boolean {
    Atomics.store(this.#words, this.#at.tail, this.#mine | 0);
    return Atomics.compareExchange(this.#words, this.#at.readerSleeps, 1, 0) === 1;
  }

  /** Writer, with data left and no room: announce it, then look again; true if room appeared meanwhile. */
  waitForRoom(): boolean {
    Atomics.store(this.#words, this.#at.writerWaits, 1);
    if (this.#used() < kLaneBytes) {
      Atomics.store(this.#words, this.#at.writerWaits, 0);
      return true;
    }
    return false;
  }

  /** Reader: copies out every published byte and frees their room (a copy: nothing is decoded in shared memory). */
  take(): Buffer | undefined {
    const tail = Atomics.load(this.#words, this.#at.tail) >>> 0;
    const length = (tail - this.#mine) >>> 0;
    if (length === 0) return undefined;
    if (length > kLaneBytes) throw new ProtocolViolation(`the peer published ${length} bytes in a lane of ${kLaneBytes}`);
    const out = Buffer.allocUnsafe(length);
    const at = this.#mine & kMask;
    const first = Math.min(length, kLaneBytes - at);
    out.set(this.#data.subarray(at, at + first), 0);
    if (length > first) out.set(this.#data.subarray(0, length - first), first);
    this.#mine = tail;
    Atomics.store(this.#words, this.#at.head, tail | 0);
    return out;
  }

  /** Reader, after take(): true if the writer waits for room and must be rung (its announcement is cleared). */
  writerWaits(): boolean {
    if (Atomics.load(this.#words, this.#at.writerWaits) !== 1) return false;
    Atomics.store(this.#words, this.#at.writerWaits, 0);
    return true;
  }

  /** Reader, finding nothing: announce sleep, then look again; true if bytes came meanwhile (awake again). */
  sleep(): boolean {
    Atomics.store(this.#words, this.#at.readerSleeps, 1);
    if ((Atomics.load(this.#words, this.#at.tail) >>> 0) !== this.#mine) {
      Atomics.store(this.#words, this.#at.readerSleeps, 0);
      return true;
    }
    return false;
  }

  /** Reader: awake (a bell woke it); the writer need not ring until the next sleep(). */
  wake(): void {
    Atomics.store(this.#words, this.#at.readerSleeps, 0);
  }
}
