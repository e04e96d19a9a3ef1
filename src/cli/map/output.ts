/**
 * The output side of `procsafe map`: the result lines, written so that a crash
 * of the CLI at any instruction leaves a file `--resume` can continue, and the
 * scan of such a file that tells which inputs are already answered.
 *
 * A file is written with writeSync, one batch per turn of the event loop: once
 * a line is reported done it is in the kernel, so SIGKILL of the CLI loses
 * only the batch being assembled (tasks that are then simply run again), and
 * at worst cuts the last line short, which the scan below drops.
 */
import { closeSync, createReadStream, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { UsageError } from '../command.js';

/** The set of answered input indices: one bit each, so a million inputs cost 128 KiB, in any order. */
export class Bitset {
  #words = new Uint32Array(1024);

  has(index: number): boolean {
    const word = index >>> 5;
    return word < this.#words.length && ((this.#words[word] as number) & (1 << (index & 31))) !== 0;
  }

  /** Sets the bit; false if it was already set. */
  add(index: number): boolean {
    const word = index >>> 5;
    if (word >= this.#words.length) {
      let size = this.#words.length * 2;
      while (size <= word) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(this.#words);
      this.#words = grown;
    }
    const mask = 1 << (index & 31);
    const old = this.#words[word] as number;
    if ((old & mask) !== 0) return false;
    this.#words[word] = old | mask;
    return true;
  }
}

/** What an earlier run left in OUT. */
export interface Answered {
  readonly set: Bitset;
  /** Distinct inputs answered. */
  readonly count: number;
  /** Of those, answered with `"ok":false`. */
  readonly failed: number;
  /** The highest index answered, -1 if none: past the end of INPUT means OUT belongs to another input. */
  readonly maxIndex: number;
  /** Bytes of a last line cut short (the writer was killed mid-write), dropped from the file. */
  readonly repairedBytes: number;
}

/** A line of OUT that is neither a result line nor blank: resuming into such a file would be a guess. */
export class NotAResultFile extends Error {
  readonly lineNumber: number;
  constructor(lineNumber: number, line: string) {
    super(`line ${lineNumber} is not a result line of procsafe map: ${line.length > 80 ? `${line.slice(0, 80)}…` : line}`);
    this.name = 'NotAResultFile';
    this.lineNumber = lineNumber;
  }
}

/** A partial line this long is checked to start as a JSON object before more of it is read. */
const kCheckLongLine = 64 * 1024;

/** The shape every line starts with, as written by formatting {i, ok, …} in that order: no JSON.parse needed. */
const kHead = /^\{"i":(\d+),"ok":(true|false)[,}]/;

/** The index and outcome of one complete line of OUT, or undefined for a line that is not a result. */
function parseResultLine(line: string): { index: number; ok: boolean } | undefined {
  const head = kHead.exec(line);
  if (head !== null && line.endsWith('}')) return { index: Number(head[1]), ok: head[2] === 'true' };
  // Reformatted by another tool (spaces, other key order): the slow, general way.
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { i, ok } = value as { i?: unknown; ok?: unknown };
    if (typeof i === 'number' && Number.isSafeInteger(i) && i >= 0 && typeof ok === 'boolean') return { index: i, ok };
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Reads OUT in one streaming pass and returns the answered indices. A last line
 * without its newline was cut short by a kill: it is truncated away here (and its
 * input runs again). Any other line that is not a result throws NotAResultFile.
 * A missing file is an empty answer.
 */
export async function scanAnswered(path: string): Promise<Answered> {
  const set = new Bitset();
  let count = 0;
  let failed = 0;
  let maxIndex = -1;
  let lineNumber = 0;
  /** Bytes up to and including the last newline seen. */
  let complete = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  const take = (line: Buffer): void => {
    lineNumber++;
    let text = line.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    const parsed = parseResultLine(text);
    if (parsed === undefined) throw new NotAResultFile(lineNumber, text);
    if (!set.add(parsed.index)) return;
    count++;
    if (!parsed.ok) failed++;
    if (parsed.index > maxIndex) maxIndex = parsed.index;
  };
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        parts.push(chunk.subarray(start, nl));
        partBytes += nl - start;
        complete += partBytes + 1;
        take(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partBytes));
        parts = [];
        partBytes = 0;
        start = nl + 1;
      }
      if (start < chunk.length) {
        parts.push(Buffer.from(chunk.subarray(start)));
        partBytes += chunk.length - start;
        // A long line is held whole until its newline: make sure it can be a result
        // (a JSON object) first, so that OUT pointed at some large other file fails
        // at once instead of being read into memory.
        if (partBytes - (chunk.length - start) < kCheckLongLine && partBytes >= kCheckLongLine) checkFragment(parts, lineNumber + 1);
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { set, count: 0, failed: 0, maxIndex: -1, repairedBytes: 0 };
    throw error;
  }
  if (partBytes > 0) {
    // The writer died mid-line: whatever the fragment says, its input was not durably answered.
    // Only a fragment that can be the start of a result is cut: never the end of someone else's file.
    checkFragment(parts, lineNumber + 1);
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, complete);
    } finally {
      closeSync(fd);
    }
  }
  return { set, count, failed, maxIndex, repairedBytes: partBytes };
}

/** Throws NotAResultFile unless the line begun in `parts` can be a result line (a JSON object). */
function checkFragment(parts: readonly Buffer[], lineNumber: number): void {
  const head = Buffer.concat(parts).subarray(0, 80).toString('utf8');
  if (!head.trimStart().startsWith('{')) throw new NotAResultFile(lineNumber, head);
}

/** OUT (appended to on --resume), or `stdout` when there is none. */
export function openOutput(outPath: string | undefined, append: boolean, stdout: Writable, onError: (error: Error) => void): LineWriter {
  try {
    return new LineWriter(outPath === undefined ? { stream: stdout } : { path: outPath, append }, onError);
  } catch (error) {
    throw new UsageError('map', `-o "${outPath}": cannot write it: ${(error as Error).message}`);
  }
}

/** How much to gather before a write even within one turn of the event loop. */
const kBatchBytes = 64 * 1024;

/**
 * Result lines to OUT (a file descriptor, written synchronously) or to a stream
 * (stdout), in batches. `onError` hears of a failed write (disk full, EPIPE).
 */
export class LineWriter {
  readonly #fd: number | undefined;
  readonly #stream: Writable | undefined;
  readonly #onError: (error: Error) => void;
  #batch: string[] = [];
  #batchBytes = 0;
  #scheduled = false;
  #waiting: (() => void)[] = [];
  #error: Error | undefined;
  #closed = false;

  constructor(
    target: { readonly path: string; readonly append: boolean } | { readonly stream: Writable }, onError: (error: Error) => void,
  ) {
    this.#onError = onError;
    if ('path' in target) {
      this.#fd = openSync(target.path, target.append ? 'a' : 'w');
    } else {
      this.#stream = target.stream;
      this.#stream.on('error', (error: Error) => this.#fail(error));
      this.#stream.on('drain', () => this.#wake());
    }
  }

  /** The first write error, after which nothing more is written. */
  get error(): Error | undefined { return this.#error; }

  /** True while a stream target asks us to wait (its buffer is full): the caller stops dispatching. */
  get blocked(): boolean {
    return this.#stream !== undefined && this.#error === undefined && this.#stream.writableNeedDrain;
  }

  /** Resolves when the stream target has room again (or failed). */
  drained(): Promise<void> {
    if (!this.blocked) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Queues one line (without its newline). */
  write(line: string): void {
    if (this.#error !== undefined || this.#closed) return;
    this.#batch.push(line);
    this.#batchBytes += line.length + 1;
    if (this.#batchBytes >= kBatchBytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.#batch.length === 0 || this.#error !== undefined) return;
    const text = `${this.#batch.join('\n')}\n`;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.#stream !== undefined) {
      this.#stream.write(text);
      return;
    }
    try {
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length;) at += writeSync(this.#fd as number, bytes, at);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /** Flushes, and closes a file target. Resolves once a stream target has taken everything. */
  async close(): Promise<void> {
    this.flush();
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      return;
    }
    const stream = this.#stream as Writable;
    if (this.#error !== undefined || stream.writableLength === 0) return;
    await new Promise<void>((resolve) => {
      stream.write('', () => resolve());
    });
  }

  #fail(error: Error): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#batch = [];
    this.#wake();
    this.#onError(error);
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}
