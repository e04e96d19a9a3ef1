// One end's pair of lanes (layout.ts): its outgoing ring, its incoming ring and the two bells. A writer rings the peer
// only when the peer announced sleep; a reader that just found bytes stays awake one more turn of its loop (a
// setImmediate) before it announces sleep, so a steady stream flows with no system call at all.
import { join } from 'node:path';
import type { NativeAddon } from '../../native/load.js';
import { totalLength } from '../../internal/chunks.js';
import { kDown, kLaneFileBytes, kUp } from './layout.js';
import { Ring } from './ring.js';

export interface LaneEvents {
  /** Bytes taken from the incoming lane, in order (a copy: safe to keep and decode). */
  bytes(chunk: Buffer): void;
  /** The peer broke the lanes (a word out of bounds): cut the connection. */
  fault(error: Error): void;
}

export class Lanes {
  readonly #addon: NativeAddon;
  readonly #out: Ring;
  readonly #in: Ring;
  readonly #peerBell: number;
  readonly #watch: object;
  /** Owner only: the files, removed once the client mapped them (or when it goes); emptied once removed. */
  #files: readonly string[];
  #events: LaneEvents | undefined;
  #reading = false;
  #closed = false;
  #recheck: NodeJS.Immediate | undefined;
  /** Outgoing bytes that found no room yet, in order, from #offset of the first. */
  #pending: Buffer[] = [];
  #offset = 0;
  #pendingBytes = 0;
  #onFlushed: (() => void)[] = [];
  /** Why the peer's words were found out of range: the lanes are no longer used. */
  #broken: Error | undefined;

  private constructor(addon: NativeAddon, file: ArrayBuffer, owner: boolean, dir: string, name: string, files: readonly string[]) {
    this.#addon = addon;
    const words = new Int32Array(file, 0, 1024);
    this.#out = new Ring(words, file, owner ? kDown : kUp, true);
    this.#in = new Ring(words, file, owner ? kUp : kDown, false);
    this.#files = files;
    const mine = join(dir, `${name}${owner ? '.o' : '.c'}`);
    const theirs = join(dir, `${name}${owner ? '.c' : '.o'}`);
    this.#peerBell = addon.openBell(theirs);
    try {
      this.#watch = addon.watch(mine, () => this.#service());
    } catch (error) {
      addon.closeBell(this.#peerBell);
      throw error;
    }
  }

  /** The owner's side: new files (the lane file with both readers asleep, and the bells). */
  static create(addon: NativeAddon, dir: string, name: string): Lanes {
    const file = join(dir, name);
    const files = [file, `${file}.o`, `${file}.c`];
    try {
      addon.mkfifo(`${file}.o`);
      addon.mkfifo(`${file}.c`);
      const memory = addon.map(file, kLaneFileBytes, true);
      const words = new Int32Array(memory, 0, 1024);
      // Both readers start asleep: each side's first write rings.
      Atomics.store(words, kUp.readerSleeps, 1);
      Atomics.store(words, kDown.readerSleeps, 1);
      return new Lanes(addon, memory, true, dir, name, files);
    } catch (error) {
      for (const path of files) addon.unlink(path);
      throw error;
    }
  }

  /** The client's side: the files the owner named, of exactly the expected size. */
  static open(addon: NativeAddon, dir: string, name: string): Lanes {
    return new Lanes(addon, addon.map(join(dir, name), kLaneFileBytes, false), false, dir, name, []);
  }

  /** Owner: both ends hold the mapping and the bells open; the names are no longer needed. */
  unlinkFiles(): void {
    for (const path of this.#files) this.#addon.unlink(path);
    this.#files = [];
  }

  /** Starts taking the incoming lane (only once the socket's frames before the switch were all read). */
  read(events: LaneEvents): void {
    this.#events = events;
    if (this.#broken !== undefined) return events.fault(this.#broken);
    this.#reading = true;
    this.#service();
  }

  get pendingBytes(): number { return this.#pendingBytes; }

  send(chunks: readonly Buffer[]): void {
    if (this.#closed || this.#broken !== undefined) return;
    // The peer's head is checked on every put: one it scribbled throws here, in whatever code is answering (an owner
    // flushing the answers of many peers), so the fault is this link's alone and never escapes to the caller.
    try {
      this.#send(chunks);
    } catch (error) {
      this.#fault(error as Error);
    }
  }

  #send(chunks: readonly Buffer[]): void {
    if (this.#pendingBytes > 0) {
      for (const chunk of chunks) this.#pending.push(chunk);
      this.#pendingBytes += totalLength(chunks);
      return;
    }
    let i = 0;
    let offset = 0;
    while (i < chunks.length) {
      const chunk = chunks[i] as Buffer;
      offset += this.#out.put(chunk, offset);
      if (offset < chunk.length) break;
      i++;
      offset = 0;
    }
    if (i === chunks.length) {
      if (this.#out.publish()) this.#addon.ring(this.#peerBell);
      return;
    }
    // No room for the rest: it waits, and #flushPending publishes what went in and waits for the reader.
    this.#pending = chunks.slice(i);
    this.#offset = offset;
    this.#pendingBytes = totalLength(this.#pending) - offset;
    this.#flushPending();
  }

  // The peer broke the lanes: nothing more goes in or out of them, and the link is cut (at once if it reads them, else
  // as soon as it would start to: see read()).
  #fault(error: Error): void {
    if (this.#broken !== undefined) return;
    this.#broken = error;
    this.#reading = false;
    this.#events?.fault(error);
  }

  /** Undefined when every byte sent is in the lane (where it outlives this process), else when it is. */
  whenFlushed(): Promise<void> | undefined {
    if (this.#pendingBytes === 0 || this.#closed) return undefined;
    return new Promise((resolve) => { this.#onFlushed.push(resolve); });
  }

  #flushPending(): void {
    // An index, not shift(): a slow reader can leave thousands of small frames waiting.
    let i = 0;
    while (this.#pendingBytes > 0) {
      const chunk = this.#pending[i] as Buffer;
      const n = this.#out.put(chunk, this.#offset);
      this.#offset += n;
      this.#pendingBytes -= n;
      if (this.#offset === chunk.length) {
        i++;
        this.#offset = 0;
      } else if (n === 0) {
        if (this.#out.publish()) this.#addon.ring(this.#peerBell);
        if (!this.#out.waitForRoom()) {
          this.#pending = this.#pending.slice(i);
          return;
        }
      }
    }
    this.#pending = [];
    if (this.#out.publish()) this.#addon.ring(this.#peerBell);
    const waiting = this.#onFlushed;
    this.#onFlushed = [];
    for (const resolve of waiting) resolve();
  }

  // A bell rang (or a turn passed): room for what waits to go out, bytes to take in.
  #service(): void {
    if (this.#closed || this.#broken !== undefined) return;
    try {
      if (this.#pendingBytes > 0) this.#flushPending();
      if (!this.#reading) return;
      this.#in.wake();
      if (this.#drain()) this.#stayAwake();
      else if (this.#in.sleep()) this.#service();
    } catch (error) {
      this.#fault(error as Error);
    }
  }

  // Referenced on purpose: an unreferenced immediate lets the loop block in its poll, and a reader that is awake (by its
  // word) but blocked would never be rung. The chain ends at the first turn that finds nothing.
  #stayAwake(): void {
    this.#recheck ??= setImmediate(() => {
      this.#recheck = undefined;
      this.#service();
    });
  }

  /** Takes everything published; true if there was anything. */
  #drain(): boolean {
    let any = false;
    for (let chunk = this.#in.take(); chunk !== undefined; chunk = this.#in.take()) {
      any = true;
      if (this.#in.writerWaits()) this.#addon.ring(this.#peerBell);
      (this.#events as LaneEvents).bytes(chunk);
      if (this.#closed) break;
    }
    return any;
  }

  /** The peer is gone (its socket closed): takes what it published before it went, then stops. */
  finish(): void {
    if (this.#closed) return;
    if (this.#reading) {
      try {
        this.#drain();
      } catch (error) {
        this.#fault(error as Error);
      }
    }
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#recheck !== undefined) clearImmediate(this.#recheck);
    this.#addon.unwatch(this.#watch);
    this.#addon.closeBell(this.#peerBell);
    this.unlinkFiles();
    this.#pending = [];
    this.#pendingBytes = 0;
    const waiting = this.#onFlushed;
    this.#onFlushed = [];
    for (const resolve of waiting) resolve();
  }
}
