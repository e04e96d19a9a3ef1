/**
 * Large items through shared memory. Relayed by the owner's broker, an item
 * crosses the kernel four times (writer → owner → reader) plus a copy or two
 * in each process; that caps a stream of large items near half of what a bare
 * socket moves. So an item of `kSpillFrom` bytes or more is written by its
 * writer into a file in the owner's directory on /dev/shm (tmpfs: memory,
 * never disk), and only the file's name travels: the owner checks the file is
 * whole, keeps the name where it would keep the bytes, and deletes the file
 * when the item is consumed. The reader reads the file. One copy in, one out.
 *
 * Nothing a death can leak or lose:
 * - a writer that dies before its put reached the owner leaves a file the
 *   owner never accepted, named after its connection (`spillPrefix`): the
 *   owner deletes those when the connection drops;
 * - a half-written file is never accepted: the writer puts its name only once
 *   every byte is written, and the owner checks the size;
 * - a reader that dies leaves the file in place, and the item goes back to
 *   the queue as any other;
 * - an owner that dies takes its directory with it: a watcher (`sh`, in its own
 *   session) deletes it when the owner's end of a pipe closes, however the
 *   owner died; a normal exit deletes it at once.
 *
 * Without /dev/shm (not Linux, PROCSAFE_SHM=0, a full or foreign directory)
 * items go through the socket as before: same guarantees, fewer MB/s.
 */
import { spawn } from 'node:child_process';
import {
  closeSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statfsSync, unlinkSync, writevSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { remainingAfter } from '../internal/chunks.js';
import { pidExists } from '../internal/proc.js';
import { privateDir } from '../transport/endpoint.js';
import { ProtocolViolation } from '../transport/frame.js';
import type { FileItem } from './state.js';

/**
 * Items this large or larger (serialized) go through a file when they can. A
 * file costs a few system calls more than a socket write: measured with
 * bench/queue-ab.mjs, files win from 32 KiB (1.4x) and at 64 KiB (1.9x), and
 * are even at 16 KiB.
 */
export const kSpillFrom = 32 * 1024;
/**
 * /dev/shm is shared with every program on the machine (a Docker container's
 * holds 64 MiB by default): a writer spills only while at least this share of
 * it stays free, and sends through the socket otherwise.
 */
const kKeepFree = 0.5;
const kNamePattern = /^[0-9a-f]{16}-[0-9]+$/;
/** The most a writer keeps in files given back to it, for its next large items. */
const kMaxFreeBytes = 64 * 1024 * 1024;
/** Files given back and not reused for this long are deleted. */
const kIdleMs = 2_000;

/** The owner's directory for the socket at `socketPath` (it exists only where the owner could create it). */
export function spillDirFor(socketPath: string): string {
  return join('/dev/shm', `procsafe-${process.getuid?.() ?? 0}`, basename(socketPath, '.sock'));
}

/** Whether this process may put items in files: Linux, unless PROCSAFE_SHM=0. Reading them is always allowed. */
export function spillAllowed(): boolean {
  return process.platform === 'linux' && process.env['PROCSAFE_SHM'] !== '0';
}

/** How a file item travels in frames (puts, deliveries, give-backs): "<file> <length>". */
export function fileRef({ file, length }: FileItem): string {
  return `${file} ${length}`;
}

/** Reads fileRef's text back; a malformed one gives an empty name or a NaN length, which every user checks. */
export function parseFileRef(text: string): FileItem {
  const space = text.indexOf(' ');
  return space === -1 ? { file: '', length: NaN } : { file: text.slice(0, space), length: Number(text.slice(space + 1)) };
}

/** The start of the names of a connection's files: from the owner's nonce for it, which both ends know from the handshake. */
export function spillPrefix(nonce: Buffer): string {
  return nonce.subarray(0, 8).toString('hex');
}

const prepared = new Set<string>();

/**
 * The owner's side, once per socket: creates the directory and the watcher that
 * removes it. Best effort: without it, writers find no directory and use the socket.
 */
export function prepareSpillDir(socketPath: string): void {
  if (!spillAllowed()) return;
  const dir = spillDirFor(socketPath);
  if (prepared.has(dir)) return;
  prepared.add(dir);
  try {
    if (privateDir(dirname(dir)) === undefined) return;
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    return;
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  sweepDeadOwners(dirname(dir));
  // `read` returns when the pipe's last writer, this process, is gone: exited, killed, or crashed.
  // It ignores the signals a service manager or a terminal sends the whole group (SIGTERM,
  // SIGHUP, SIGINT), so that it outlives the owner it watches and cleans up after it.
  const watcher = spawn('/bin/sh', ['-c', 'trap "" HUP INT TERM; read _; exec rm -rf -- "$0"', dir], {
    detached: true, stdio: ['pipe', 'ignore', 'ignore'],
  });
  watcher.on('error', () => { /* no sh: a normal exit still removes the directory */ });
  watcher.unref();
  (watcher.stdin as Socket | null)?.unref();
}

/**
 * Directories of owners that are gone and whose watcher could not clean up
 * either (both killed at once: `kill -9 -1`, an OOM kill of the container):
 * removed by the next owner to start. A pid now used by another process is
 * left alone; that directory goes when that pid is free again.
 */
function sweepDeadOwners(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(0, name.indexOf('-')));
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || pidExists(pid)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** What a writer keeps of a file the owner gave back, to write a later item into. */
interface FreeFile {
  readonly name: string;
  readonly length: number;
  /** Still open from when it was written (see kMaxOpen), or undefined. */
  readonly fd: number | undefined;
}

/**
 * The most descriptors a writer keeps open on its files, so that a file given
 * back is written again without an open and a close (at 100 KiB items those
 * were a tenth of the writer's time). Bounded, as a queue may hold any number
 * of a writer's files.
 */
const kMaxOpen = 64;

/**
 * A writer's files at one owner (one per link, whose connection prefix they
 * carry). Writing into a fresh tmpfs file makes the kernel find and zero every
 * page first, which costs five times the copy itself; so the owner gives a
 * consumed item's file back to the writer that wrote it (kAnswer.FileFree), and the
 * next large item overwrites it. Those files are still this connection's: if
 * the writer dies, the owner sweeps them with its other orphans.
 */
export class WriterFiles {
  readonly #dir: string;
  readonly #prefix: string;
  #next = 0;
  readonly #free: FreeFile[] = [];
  #freeBytes = 0;
  /** Files written and not given back yet whose descriptors stay open (at most kMaxOpen with the free ones'). */
  readonly #open = new Map<string, number>();
  #openCount = 0;
  /** Whether a file was taken since the last trim: idle files are deleted, not kept for ever. */
  #used = false;
  #trim: NodeJS.Timeout | undefined;

  constructor(dir: string, nonce: Buffer) {
    this.#dir = dir;
    this.#prefix = spillPrefix(nonce);
  }

  /** The start of every name of this connection's files. */
  get prefix(): string { return this.#prefix; }

  /**
   * Writes `chunks` (`length` bytes) into a file, whole or not at all. Returns what
   * the put says of it ("<name> <length>"), 'full' (not now: too little room) or
   * 'unusable' (no such directory, or no right to it: do not try again).
   */
  write(chunks: readonly Buffer[], length: number): string | 'full' | 'unusable' {
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
        if (fs.bavail * fs.bsize - growth < fs.blocks * fs.bsize * kKeepFree) throw Object.assign(new Error('keep free'), { code: 'ENOSPC' });
      }
      // A reused file is overwritten in place (its pages are already there), then cut to size.
      if (fd === undefined) {
        fd = openSync(path, reused === undefined ? 'wx' : 'r+', 0o600);
        this.#openCount++;
      }
      // One system call for the serializer's header and the item's bytes (two chunks, usually).
      let rest = chunks;
      for (let position = 0; position < length;) {
        const written = writevSync(fd, rest, position);
        position += written;
        rest = remainingAfter(rest, written);
      }
      if (growth < 0) ftruncateSync(fd, length);
      // Kept open for when the file comes back, while few are.
      if (this.#openCount <= kMaxOpen) this.#open.set(name, fd);
      else this.#close(fd);
      return fileRef({ file: name, length });
    } catch (error) {
      // Never leave a partial file behind: no one would accept it, but it would take room until the owner exits.
      if (fd !== undefined) this.#close(fd);
      if (fd !== undefined || reused !== undefined) {
        try { unlinkSync(path); } catch { /* gone */ }
      }
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE' ? 'full' : 'unusable';
    }
  }

  /** The owner gave back one of our files ("<name> <length>"): keep it for the next item, or delete it. */
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

  /** Files not needed for a while go: a writer that stopped putting large items holds no memory. */
  #trimIdle(): void {
    if (this.#used) {
      this.#used = false;
      return;
    }
    this.#dropFree();
    clearInterval(this.#trim);
    this.#trim = undefined;
  }

  /**
   * The link to the owner is gone: every descriptor closes (an open one would keep
   * a deleted file's memory), and the files given back go.
   */
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
  /** Files the owner holds as items (queued, leased, owed or parked puts). */
  readonly #held = new Set<string>();

  constructor(socketPath: string) {
    this.#dir = spillDirFor(socketPath);
  }

  /**
   * A peer's put of a file: `text` is "<name> <length>". The name must carry the
   * peer's own prefix and the file must be exactly that long (and no longer than
   * `maxBytes`): anything else is a peer fault.
   */
  accept(prefix: string, text: string, maxBytes: number): FileItem {
    const { file, length } = parseFileRef(text);
    if (!kNamePattern.test(file) || !file.startsWith(`${prefix}-`)) {
      throw new ProtocolViolation(`a put by file names ${JSON.stringify(text.slice(0, 80))}, not a file of this connection`);
    }
    if (!Number.isSafeInteger(length) || length < 0 || length > maxBytes) {
      throw new ProtocolViolation(`a put by file of ${JSON.stringify(text.slice(file.length + 1, file.length + 20))} bytes (the limit is ${maxBytes})`);
    }
    if (this.#held.has(file)) throw new ProtocolViolation(`a put by file names ${file} twice`);
    let size: number;
    try {
      const stat = lstatSync(join(this.#dir, file));
      size = stat.isFile() ? stat.size : -1;
    } catch (error) {
      throw new ProtocolViolation(`a put by file names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (size !== length) throw new ProtocolViolation(`a put by file says ${length} bytes, and ${file} holds ${size}`);
    this.#held.add(file);
    return { file, length };
  }

  /** The item left the queue for good (consumed, or its put was refused): its file goes. */
  drop(item: FileItem): void {
    this.#held.delete(item.file);
    this.#unlink(item.file);
  }

  /** As drop, but the file stays: its writer, still connected, gets it back to reuse (kAnswer.FileFree). */
  giveBack(item: FileItem): void {
    this.#held.delete(item.file);
  }

  /**
   * The item's bytes, for a reader that cannot see this directory; undefined if
   * the file cannot be read (the reader is then told of the loss, as any reader).
   */
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
    try {
      unlinkSync(join(this.#dir, name));
    } catch {
      // Already gone (the directory went with a dying owner): nothing to free.
    }
  }
}
