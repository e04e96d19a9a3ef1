/**
 * Large items through shared memory. Relayed by the owner's broker, an item crosses the kernel four times (writer → owner
 * → reader) plus a copy or two in each process, which caps a stream of large items near half of what a bare socket moves.
 * So an item of `kSpillFrom` bytes or more is written by its writer into a file in the owner's directory on /dev/shm
 * (tmpfs: memory, never disk) and only the name travels: the owner checks the file is whole, keeps the name where it
 * would keep the bytes, and deletes the file when the item is consumed. The reader reads the file: one copy in, one out.
 * Nothing a death can leak or lose:
 * - a writer dead before its put reached the owner leaves a file named after its connection (`spillPrefix`), never
 *   accepted: the owner deletes those when the connection drops;
 * - a half-written file is never accepted: its name is put once every byte is written, and the owner checks the size;
 * - a reader that dies leaves the file in place, and the item goes back to the queue as any other;
 * - a dead owner's directory is deleted by a watcher (`sh`, in its own session) when the owner's end of a pipe closes,
 *   however it died; a normal exit deletes it at once.
 * Without /dev/shm (not Linux, PROCSAFE_SHM=0, a full or foreign directory) items go through the socket: same
 * guarantees, fewer MB/s.
 */
import {
  closeSync, ftruncateSync, lstatSync, openSync, readdirSync, readSync, statfsSync, unlinkSync, writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { remainingAfter } from '../internal/chunks.js';
import { prepareOwnerDir, sharedDirFor } from '../transport/shared-dir.js';
import { ProtocolViolation } from '../transport/frame.js';
import type { FileItem } from './state.js';

// Serialized items of this size or more go through a file when they can. A file costs a few system calls more than a socket
// write: by bench/queue-ab.mjs, files win from 32 KiB (1.4x) and at 64 KiB (1.9x), and are even at 16 KiB.
export const kSpillFrom = 32 * 1024;
// /dev/shm is shared with every program (a Docker container's holds 64 MiB by default): spill only while this share stays free.
const kKeepFree = 0.5;
const kNamePattern = /^[0-9a-f]{16}-[0-9]+$/;
/** The most a writer keeps in files given back to it, for its next large items; those unused for kIdleMs are deleted. */
const kMaxFreeBytes = 64 * 1024 * 1024;
const kIdleMs = 2_000;

/** Linux, unless PROCSAFE_SHM=0. Reading files is always allowed. */
export function spillAllowed(): boolean {
  return process.platform === 'linux' && process.env['PROCSAFE_SHM'] !== '0';
}

/** How a file item travels in puts, deliveries and give-backs. */
export function fileRef({ file, length }: FileItem): string {
  return `${file} ${length}`;
}

/** A malformed text gives an empty name or a NaN length, which every caller checks. */
export function parseFileRef(text: string): FileItem {
  const space = text.indexOf(' ');
  return space === -1 ? { file: '', length: NaN } : { file: text.slice(0, space), length: Number(text.slice(space + 1)) };
}

/** The start of a connection's file names: from the owner's nonce for it, which both ends know from the handshake. */
export function spillPrefix(nonce: Buffer): string {
  return nonce.subarray(0, 8).toString('hex');
}

/** The owner's side, once per socket. Best effort: without a directory, writers use the socket. */
export function prepareSpillDir(socketPath: string): void {
  if (spillAllowed()) prepareOwnerDir(socketPath);
}

/** A file the owner gave back, to write a later item into; `fd` is still open from its writing (kMaxOpen), or undefined. */
interface FreeFile {
  readonly name: string;
  readonly length: number;
  readonly fd: number | undefined;
}

// The most descriptors a writer keeps open on its files, so a file given back is rewritten without an open and a close
// (a tenth of the writer's time at 100 KiB items). Bounded: a queue may hold any number of a writer's files.
const kMaxOpen = 64;

/**
 * A writer's files at one owner (one per link, with its connection prefix). The kernel zeroes every page of a fresh tmpfs
 * file first, at five times the cost of the copy, so the owner gives a consumed item's file back to its writer
 * (kAnswer.FileFree) for its next large item. They stay this connection's: if the writer dies, the owner sweeps them.
 */
export class WriterFiles {
  readonly #dir: string;
  readonly #prefix: string;
  #next = 0;
  readonly #free: FreeFile[] = [];
  #freeBytes = 0;
  /** Files not given back yet whose descriptors stay open (at most kMaxOpen with the free ones'). */
  readonly #open = new Map<string, number>();
  #openCount = 0;
  /** Whether a file was taken since the last trim: idle files are deleted, not kept for ever. */
  #used = false;
  #trim: NodeJS.Timeout | undefined;

  constructor(dir: string, nonce: Buffer) {
    this.#dir = dir;
    this.#prefix = spillPrefix(nonce);
  }

  get prefix(): string { return this.#prefix; }

  /** Whole or not at all: the put's text, 'full' (too little room now) or 'unusable' (no directory or no right: do not retry). */
  write(chunks: readonly Buffer[], length: number): string {
    this.#used = true;
    const reused = this.#free.pop();
    if (reused !== undefined) this.#freeBytes -= reused.length;
    const name = reused?.name ?? `${this.#prefix}-${this.#next++}`;
    const path = join(this.#dir, name);
    let fd = reused?.fd;
    try {
      const growth = length - (reused?.length ?? 0);
      if (growth > 0) {
        const fs = statfsSync(this.#dir);
        if (fs.bavail * fs.bsize - growth < fs.blocks * fs.bsize * kKeepFree) {
          throw Object.assign(new Error('keep free'), { code: 'ENOSPC' });
        }
      }
      // A reused file is overwritten in place (its pages are already there), then cut to size.
      if (fd === undefined) {
        fd = openSync(path, reused === undefined ? 'wx' : 'r+', 0o600);
        this.#openCount++;
      }
      // One system call for the serializer's header and the item's bytes.
      let rest = chunks;
      for (let position = 0; position < length;) {
        const written = writevSync(fd, rest, position);
        position += written;
        rest = remainingAfter(rest, written);
      }
      if (growth < 0) ftruncateSync(fd, length);
      if (this.#openCount <= kMaxOpen) this.#open.set(name, fd); // for when the file comes back
      else this.#close(fd);
      return fileRef({ file: name, length });
    } catch (error) {
      // A partial file no one would accept would still take room until the owner exits.
      if (fd !== undefined) this.#close(fd);
      if (fd !== undefined || reused !== undefined) {
        try { unlinkSync(path); } catch { /* gone */ }
      }
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE' ? 'full' : 'unusable';
    }
  }

  /** The owner gave back one of our files: keep it for the next item, or delete it. */
  freed(text: string): void {
    const { file: name, length } = parseFileRef(text);
    if (!Number.isSafeInteger(length) || !name.startsWith(`${this.#prefix}-`) || !kNamePattern.test(name)) return;
    const fd = this.#open.get(name);
    this.#open.delete(name);
    if (this.#freeBytes + length > kMaxFreeBytes) {
      if (fd !== undefined) this.#close(fd);
      try { unlinkSync(join(this.#dir, name)); } catch { /* gone */ }
      return;
    }
    this.#free.push({ name, length, fd });
    this.#freeBytes += length;
    if (this.#trim === undefined) {
      this.#trim = setInterval(() => this.#trimIdle(), kIdleMs);
      this.#trim.unref();
    }
  }

  /** A writer that stopped putting large items holds no memory. */
  #trimIdle(): void {
    if (this.#used) {
      this.#used = false;
      return;
    }
    this.#dropFree();
    clearInterval(this.#trim);
    this.#trim = undefined;
  }

  /** The link to the owner is gone: every descriptor closes (an open one would keep a deleted file's memory). */
  close(): void {
    this.#dropFree();
    for (const fd of this.#open.values()) this.#close(fd);
    this.#open.clear();
    clearInterval(this.#trim);
    this.#trim = undefined;
  }

  #dropFree(): void {
    for (const { name, fd } of this.#free.splice(0)) {
      if (fd !== undefined) this.#close(fd);
      try { unlinkSync(join(this.#dir, name)); } catch { /* gone */ }
    }
    this.#freeBytes = 0;
  }

  #close(fd: number): void {
    this.#openCount--;
    try { closeSync(fd); } catch { /* closed */ }
  }
}

/** The reader's side: the item's bytes, exactly `length` of them. */
export function readSpill(dir: string, { file, length }: FileItem): Buffer {
  const fd = openSync(join(dir, file), 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(length);
    for (let at = 0; at < length;) {
      const read = readSync(fd, buffer, at, length - at, at);
      if (read === 0) throw new Error(`the file ended after ${at} of ${length} bytes`);
      at += read;
    }
    return buffer;
  } finally {
    closeSync(fd);
  }
}

/** The owner's books of the files it accepted: checked on the way in, deleted on the way out. */
export class OwnerSpills {
  readonly #dir: string;
  /** As items: queued, leased, owed or parked puts. */
  readonly #held = new Set<string>();

  constructor(socketPath: string) {
    this.#dir = sharedDirFor(socketPath);
  }

  /** A peer's put of a file: a name without the peer's prefix, or a file not that long (or over `maxBytes`), is a peer fault. */
  accept(prefix: string, text: string, maxBytes: number): FileItem {
    const { file, length } = parseFileRef(text);
    if (!kNamePattern.test(file) || !file.startsWith(`${prefix}-`)) {
      throw new ProtocolViolation(`a put by file names ${JSON.stringify(text.slice(0, 80))}, not a file of this connection`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || length > maxBytes) {
      const said = JSON.stringify(text.slice(file.length + 1, file.length + 20));
      throw new ProtocolViolation(`a put by file of ${said} bytes (the limit is ${maxBytes})`);
    }
    if (this.#held.has(file)) throw new ProtocolViolation(`a put by file names ${file} twice`);
    let size: number;
    try {
      const stat = lstatSync(join(this.#dir, file));
      size = stat.isFile() ? stat.size : -1;
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ProtocolViolation(`a put by file names ${file}, which cannot be read (${why})`);
    }
    if (size !== length) throw new ProtocolViolation(`a put by file says ${length} bytes, and ${file} holds ${size}`);
    this.#held.add(file);
    return { file, length };
  }

  /** The item left the queue for good (consumed, or its put refused). */
  drop(item: FileItem): void {
    this.#held.delete(item.file);
    this.#unlink(item.file);
  }

  /** As drop, but the file stays: its writer, still connected, gets it back to reuse (kAnswer.FileFree). */
  giveBack(item: FileItem): void {
    this.#held.delete(item.file);
  }

  /** For a reader that cannot see this directory; undefined if unreadable (the reader is told of the loss, as any reader). */
  read(item: FileItem): Buffer | undefined {
    try {
      return readSpill(this.#dir, item);
    } catch {
      return undefined;
    }
  }

  /** A connection dropped: its files the owner never accepted were orphaned by a writer's death. */
  sweep(prefix: string): void {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(`${prefix}-`) && !this.#held.has(name)) this.#unlink(name);
    }
  }

  #unlink(name: string): void {
    try { unlinkSync(join(this.#dir, name)); } catch { /* gone (the directory went with a dying owner) */ }
  }
}
