// One spawned bootstrap child (of a Process or a pool's ProcessHost): frames go out on fd 3 and come back on fd 4. The end
// is reported once, after the exit and after all the child sent is read; a failed spawn (EMFILE …) too, never thrown.
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../transport/frame.js';

/** The entry every child runs: the build's bundle of it (scripts/bundle-child.mjs), unless a later compile made it stale. */
export const kBootstrapPath = entryPath(fileURLToPath(new URL('./bootstrap.js', import.meta.url)));
/** After the exit, how long to wait for the answer pipe and output to drain before giving up on them. */
const kDrainGraceMs = 1000;

export type StdioMode = 'pipe' | 'inherit' | 'ignore';

export interface ChildExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildEnd extends ChildExit {
  /** Why the child could not be spawned; it never ran. */
  readonly spawnError: Error | undefined;
}

export interface ChildPipesOptions {
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly stdout: StdioMode;
  readonly stderr: StdioMode;
  readonly maxFrameBytes: number;
  /** Each whole frame the child sent on fd 4, without its length prefix. */
  readonly frame: (body: Buffer) => void;
  /** fd 4 carried bytes that are no frame: nothing more is read from it. */
  garbage(error: Error): void;
  /** Called once, on a later turn than the constructor: after the exit and the drain, or after a failed spawn. */
  end(info: ChildEnd): void;
  /** The process is gone (its output may still be draining, up to kDrainGraceMs): whatever is sent now is dropped. */
  gone?(): void;
}

export class ChildPipes {
  readonly #options: ChildPipesOptions;
  readonly #child: ChildProcess | undefined;
  #toChild: Socket | undefined;
  #fromChild: Socket | undefined;
  /** What holds the event loop besides the child: the channel and output pipes. */
  readonly #streams: Socket[] = [];
  #exit: ChildExit | undefined;
  #spawnError: Error | undefined;
  /** fd 4 plus each stream given to drain(): each must close (or the grace pass) before the end. */
  #open = 1;
  #ended = false;

  constructor(options: ChildPipesOptions) {
    this.#options = options;
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...options.execArgv, kBootstrapPath], {
        // stdin is /dev/null, as Python's children have it.
        stdio: ['ignore', options.stdout, options.stderr, 'pipe', 'pipe'],
        env: options.env ?? process.env,
        windowsHide: true,
      });
    } catch (error) {
      // Bad arguments (an env value with a NUL byte …) throw: reported as any failed spawn.
      process.nextTick(() => this.#failed(error as Error));
      return;
    }
    this.#child = child;
    // Attached before anything else: an unheard 'error' would end the parent.
    child.on('error', (error) => {
      // Only a failed spawn has no pid; a failed kill() changes nothing here.
      if (child.pid === undefined) this.#failed(error);
    });
    // A failed spawn set up no pipes at all (child.stdio is empty); its 'error' follows.
    if (child.pid === undefined) return;
    child.on('exit', (exitCode, signal) => {
      this.#exit = { exitCode, signal };
      this.#options.gone?.();
      // A grandchild holding a pipe open must not delay the end for ever.
      setTimeout(() => { this.#open = 0; this.#maybeEnd(); }, kDrainGraceMs).unref();
      this.#maybeEnd();
    });
    const toChild = child.stdio[3] as Socket;
    const fromChild = child.stdio[4] as Socket;
    this.#toChild = toChild;
    this.#fromChild = fromChild;
    this.#streams.push(toChild, fromChild);
    for (const stream of [child.stdout, child.stderr]) if (stream !== null) this.#streams.push(stream as Socket);
    // EPIPE once the child is gone (its exit is reported).
    // Node: https://github.com/nodejs/node/issues/947
    toChild.on('error', () => {});
    fromChild.on('error', () => { /* close follows */ });
    fromChild.on('close', () => this.#closed());
    const decoder = new FrameDecoder(options.maxFrameBytes);
    fromChild.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, options.frame);
      } catch (error) {
        fromChild.destroy();
        options.garbage(error as Error);
      }
    });
  }

  get pid(): number | undefined { return this.#child?.pid; }

  /** How it exited, once it has (before the drain); `{ null, null }` after a failed spawn. */
  get exit(): ChildExit | undefined { return this.#exit; }

  get stdout(): Readable | null { return this.#child?.stdout ?? null; }

  get stderr(): Readable | null { return this.#child?.stderr ?? null; }

  /** The end also waits for `stream` (a piped stdout or stderr read here) to close: its last line is not lost. */
  drain(stream: Readable): void {
    this.#open++;
    stream.on('close', () => this.#closed());
  }

  /** Writes whole frames to fd 3, in order; dropped once the child is gone. */
  send(chunks: readonly Buffer[]): void {
    const toChild = this.#toChild;
    if (toChild === undefined || this.#exit !== undefined || toChild.destroyed) return;
    if (chunks.length === 1) {
      toChild.write(chunks[0] as Buffer);
      return;
    }
    toChild.cork();
    for (const chunk of chunks) toChild.write(chunk);
    toChild.uncork();
  }

  /** False if it never ran or has exited (its pid may belong to someone else by then). */
  kill(signal: NodeJS.Signals | number): boolean {
    if (this.#child === undefined || this.#child.pid === undefined || this.#exit !== undefined) return false;
    return this.#child.kill(signal);
  }

  /** Whether the child and its pipes keep the parent's event loop alive. */
  ref(ref: boolean): void {
    if (this.#child === undefined || this.#ended) return;
    if (ref) this.#child.ref();
    else this.#child.unref();
    for (const stream of this.#streams) {
      if (ref) stream.ref();
      else stream.unref();
    }
  }

  #failed(error: Error): void {
    this.#spawnError = error;
    this.#exit ??= { exitCode: null, signal: null };
    this.#open = 0;
    this.#maybeEnd();
  }

  #closed(): void {
    this.#open--;
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (this.#ended || this.#exit === undefined || this.#open > 0) return;
    this.#ended = true;
    this.#toChild?.destroy();
    this.#fromChild?.destroy();
    // Output a grandchild still holds is forwarded while it comes, but no longer keeps the parent alive.
    for (const stream of this.#streams) stream.unref();
    this.#options.end({ ...this.#exit, spawnError: this.#spawnError });
  }
}

export function entryPath(plain: string): string {
  const bundle = plain.replace(/\.js$/, '.bundle.js');
  const bundled = statSync(bundle, { throwIfNoEntry: false });
  // From src/ (tsx) there is no bundle, and bootstrap.js stands for bootstrap.ts.
  const compiled = statSync(plain, { throwIfNoEntry: false });
  return bundled !== undefined && compiled !== undefined && bundled.mtimeMs >= compiled.mtimeMs ? bundle : plain;
}

const kSpawnAdvice: Readonly<Record<string, string>> = {
  EMFILE: 'too many open files (EMFILE): this process has used up its file descriptors; ' +
    'close files and sockets it no longer needs, or raise its limit (ulimit -n)',
  ENFILE: "the system's table of open files is full (ENFILE); close files, or raise the system limit (fs.file-max)",
  EAGAIN: 'the system refused a new process (EAGAIN: too many processes for this user, or no memory); ' +
    'end some processes, or raise the limit (ulimit -u)',
  ENOMEM: 'the system has no memory for a new process (ENOMEM)',
};

/** Why `subject` could not be spawned and what to do; copies the system error's code, errno, syscall, path (callers test `code`). */
export function describeSpawnFailure(error: Error, subject: string, after = ''): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const what = (code === undefined ? undefined : kSpawnAdvice[code]) ?? error.message;
  const described = new Error(`${subject} could not be spawned: ${what}${after}`, { cause: error });
  for (const key of ['code', 'errno', 'syscall', 'path'] as const) {
    const value = (error as NodeJS.ErrnoException)[key];
    if (value !== undefined) Object.defineProperty(described, key, { value, enumerable: true, configurable: true, writable: true });
  }
  return described;
}
