/**
 * Process: one exported function of a worker module, run in a fresh child
 * process (spawn, never fork), as Python's multiprocessing.Process runs a target.
 * The child is the pool's bootstrap, told by one kRun message to run `fn` once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { toRemoteError } from '../codec/remote-error.js';
import { assertCopyable, deserialize } from '../codec/v8.js';
import { ProcsafeError, type RemoteError, type RemoteErrorInfo } from '../errors.js';
import { validateInteger, validateKnownKeys, validateObject } from '../internal/validate.js';
import { encodeFrame, FrameDecoder, parseFrame } from '../transport/frame.js';
import {
  type BootErrorMessage, kBootError, kError, kFatal, kOkUndefined, kReady, kRun, type RunMessage,
} from '../transport/messages.js';
import { type ProcessOptions, type ResolvedProcessOptions, resolveProcessOptions } from './options.js';
import { routeOutput } from './output.js';

const kBootstrapPath = fileURLToPath(new URL('../child/bootstrap.js', import.meta.url));
/** After the exit, how long to wait for the answer pipe and output to drain before giving up on them. */
const kDrainGraceMs = 1000;
/** The child sends only small control messages and error descriptors. */
const kMaxAnswerBytes = 256 * 1024 * 1024;

export interface JoinOptions {
  /**
   * Stop waiting after this long. If the process is still running then, `join()`
   * resolves `{ exitCode: null, signal: null }` and the process runs on
   * (`isAlive` is still true), as Python's `join(timeout)` returns.
   * @default undefined (wait for the exit)
   */
  readonly timeoutMs?: number;
}

/** How a process ended, as `join()` reports it. */
export interface ProcessResult {
  /** The exit code, or null if a signal ended it (or `join()` timed out). */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /**
   * What `fn` threw or rejected with (exit code 1), the uncaught error that ended
   * the process, or why it could not start; absent when it ended without one.
   */
  readonly error?: RemoteError;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

export class Process {
  /** How output prefixes and messages name it. @default 'Process-N' */
  readonly name: string;
  readonly #options: ResolvedProcessOptions;
  readonly #runFrame: Buffer[];
  #child: ChildProcess | undefined;
  /** fds 3 (to the child) and 4 (from it). */
  #channel: Socket[] = [];
  /** What holds the event loop besides the child: the channel and output pipes. */
  #streams: Socket[] = [];
  #exit: { readonly exitCode: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  #ready = false;
  #error: RemoteError | undefined;
  #spawnError: Error | undefined;
  /** The answer pipe plus any output stream read here: each must close (or the grace pass) before the report. */
  #open = 1;
  #reported = false;
  /** start() and join() calls waiting: they hold the event loop even for a daemon. */
  #holds = 0;
  readonly #started = deferred<void>();
  readonly #done = deferred<void>();

  /**
   * Validates the options and copies `args`: a value that cannot be copied
   * throws SerializationError here, naming its path. Nothing runs until `start()`.
   */
  constructor(options: ProcessOptions) {
    this.#options = resolveProcessOptions(options);
    this.name = this.#options.name;
    const { module, fn, args, name, daemon } = this.#options;
    assertCopyable(args, 'args', `the arguments of "${fn}"`);
    const message: RunMessage = { module, fn, args, name, daemon };
    this.#runFrame = encodeFrame(kRun, 0, '', message, 'args', `the arguments of "${fn}"`, true);
    // Nobody may await start(); its failure is also reported by join().
    this.#started.promise.catch(() => {});
  }

  /** The child's pid, once started. */
  get pid(): number | undefined { return this.#child?.pid; }

  /** True from `start()` until the child has exited. */
  get isAlive(): boolean { return this.#child !== undefined && this.#exit === undefined; }

  /** The exit code once it exited by itself; null while it runs, or when a signal ended it. */
  get exitCode(): number | null { return this.#exit?.exitCode ?? null; }

  /** The signal that ended it; null while it runs, or when it exited by itself. */
  get signal(): NodeJS.Signals | null { return this.#exit?.signal ?? null; }

  /** The child's raw stdout when `stdout: 'pipe'`, once started; otherwise null. */
  get stdout(): Readable | null { return this.#options.stdout === 'pipe' ? this.#child?.stdout ?? null : null; }

  /** The child's raw stderr when `stderr: 'pipe'`, once started; otherwise null. */
  get stderr(): Readable | null { return this.#options.stderr === 'pipe' ? this.#child?.stderr ?? null : null; }

  /**
   * Spawns the child and resolves once it runs: its module imported and `fn`
   * found. Rejects, once the child is gone, with a RemoteError if the module
   * failed to load or has no such export, with ProcsafeError if the child died
   * first, and with the system error if it could not be spawned. A Process
   * starts once; a second call rejects.
   */
  async start(): Promise<void> {
    if (this.#child !== undefined || this.#spawnError !== undefined) {
      throw new Error(`${this.name} was already started; a Process starts only once: create a new Process to run again`);
    }
    try {
      this.#spawn();
    } catch (error) {
      // spawn() throws for bad arguments (an env value with a NUL byte …): nothing was started.
      this.#spawnError = error as Error;
      this.#exit = { exitCode: null, signal: null };
      this.#report();
    }
    return this.#held(this.#started.promise);
  }

  /**
   * Sends `signal` to the child. Returns false if it was never started or has
   * already exited (its pid may belong to someone else by then).
   * @default signal 'SIGTERM'
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#child === undefined || this.#exit !== undefined) return false;
    return this.#child.kill(signal);
  }

  /**
   * Waits for the child to exit and its last answer and output lines to arrive,
   * and resolves with how it ended; with `timeoutMs`, resolves `{ exitCode: null,
   * signal: null }` if it still runs then. There is no queue feeder to wait for,
   * so unlike Python's this never waits on unflushed queue data. Rejects before
   * `start()`, or if the child could not be spawned.
   */
  async join(options: JoinOptions = {}): Promise<ProcessResult> {
    validateObject(options, 'join options');
    validateKnownKeys(options as unknown as Record<string, unknown>, 'join options', ['timeoutMs']);
    const { timeoutMs } = options;
    if (timeoutMs !== undefined) validateInteger(timeoutMs, 'timeoutMs', 0, 2 ** 31 - 1);
    if (this.#child === undefined && this.#spawnError === undefined) {
      throw new Error(`${this.name} has not been started; call start() before join()`);
    }
    if (timeoutMs === undefined) {
      await this.#held(this.#done.promise);
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
      try {
        await this.#held(Promise.race([this.#done.promise, timedOut]));
      } finally {
        clearTimeout(timer);
      }
    }
    if (this.#spawnError !== undefined) throw this.#spawnError;
    if (this.#exit === undefined) return { exitCode: null, signal: null };
    // Past the exit but before the drain (a timeout in that instant): what is known so far.
    return this.#error === undefined ? { ...this.#exit } : { ...this.#exit, error: this.#error };
  }

  #spawn(): void {
    const { execArgv, env, stdout, stderr, daemon } = this.#options;
    const stdio = (mode: string) => (mode === 'prefix' ? 'pipe' : mode) as 'pipe' | 'inherit' | 'ignore';
    const child = spawn(process.execPath, [...execArgv, kBootstrapPath], {
      // stdin is /dev/null, as Python's children have it.
      stdio: ['ignore', stdio(stdout), stdio(stderr), 'pipe', 'pipe'],
      env: env ?? process.env,
      windowsHide: true,
    });
    this.#child = child;
    child.on('error', (error) => {
      // Only a failed spawn (EAGAIN, EMFILE …) has no pid; a failed kill() changes nothing here.
      if (child.pid !== undefined) return;
      this.#spawnError = error;
      this.#exit ??= { exitCode: null, signal: null };
      this.#report();
    });
    // A failed spawn may have set up no pipes at all; its 'error' event reports it.
    if (child.pid === undefined) return;
    child.on('exit', (exitCode, signal) => {
      this.#exit = { exitCode, signal };
      // A grandchild holding a pipe open must not delay the report for ever.
      setTimeout(() => { this.#open = 0; this.#maybeReport(); }, kDrainGraceMs).unref();
      this.#maybeReport();
    });

    const toChild = child.stdio[3] as Socket;
    const fromChild = child.stdio[4] as Socket;
    this.#channel = [toChild, fromChild];
    this.#streams = [toChild, fromChild];
    toChild.on('error', () => { /* EPIPE once the child is gone: its exit is reported */ });
    fromChild.on('error', () => { /* close follows */ });
    fromChild.on('close', () => this.#closed());
    const decoder = new FrameDecoder(kMaxAnswerBytes);
    fromChild.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (body) => this.#onFrame(body));
      } catch (error) {
        // Garbage on our channel (user code wrote to fd 4): stop listening; the exit still tells.
        fromChild.destroy();
        process.emitWarning(`${this.name} (pid ${child.pid}) broke its answer channel: ${(error as Error).message}`, 'ProcsafeWarning');
      }
    });

    const label = `[${this.name} ${child.pid}]`;
    for (const [stream, mode, target] of [[child.stdout, stdout, process.stdout], [child.stderr, stderr, process.stderr]] as const) {
      if (stream === null) continue;
      this.#streams.push(stream as Socket);
      // A 'pipe' stream is the caller's to read; a prefixed one is read here, and its last line awaited.
      if (mode !== 'prefix') continue;
      routeOutput(stream, mode, label, target, undefined);
      this.#open++;
      stream.on('close', () => this.#closed());
    }
    // A daemon does not keep the parent alive (Python terminates daemons at exit); it then dies with the parent.
    if (daemon) this.#ref(false);
    toChild.cork();
    for (const chunk of this.#runFrame) toChild.write(chunk);
    toChild.uncork();
  }

  #onFrame(body: Buffer): void {
    const frame = parseFrame(body);
    switch (frame.type) {
      case kReady:
        this.#ready = true;
        this.#started.resolve();
        return;
      case kBootError: {
        const boot = deserialize(frame.payload) as BootErrorMessage;
        const { module, fn } = this.#options;
        this.#error = toRemoteError(boot.error, boot.phase === 'import'
          ? `${this.name} could not start "${fn}": worker module ${module} failed to load: `
          : `${this.name} could not start: `);
        return;
      }
      case kError:
        this.#error = toRemoteError(deserialize(frame.payload) as RemoteErrorInfo);
        return;
      case kFatal:
        // An uncaught error after fn returned, or while it ran: it is what ended the process.
        this.#error = toRemoteError(deserialize(frame.payload) as RemoteErrorInfo);
        return;
      case kOkUndefined:
        return;
      default:
        process.emitWarning(`${this.name} sent an unknown frame type ${frame.type}; ignored`, 'ProcsafeWarning');
    }
  }

  #closed(): void {
    this.#open--;
    this.#maybeReport();
  }

  #maybeReport(): void {
    if (this.#reported || this.#exit === undefined || this.#open > 0) return;
    this.#report();
  }

  /** Settles start() and join() once the child is gone and everything it sent has arrived. */
  #report(): void {
    if (this.#reported) return;
    this.#reported = true;
    for (const socket of this.#channel) socket.destroy();
    // Output a grandchild still holds is forwarded while it comes, but no longer keeps the parent alive.
    for (const stream of this.#streams) stream.unref();
    if (!this.#ready) this.#started.reject(this.#spawnError ?? this.#error ?? this.#diedEarly());
    this.#done.resolve();
  }

  /** Why start() failed when the child died before running `fn` and said nothing. */
  #diedEarly(): ProcsafeError {
    const { exitCode, signal } = this.#exit ?? { exitCode: null, signal: null };
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    return new ProcsafeError(
      `${this.name} (pid ${this.pid}) ${how} before it could run "${this.#options.fn}" of ${this.#options.module}; ` +
      'check what the module does when it is imported, and that nothing kills the process');
  }

  /** Keeps a pending start() or join() holding the event loop, even for a daemon. */
  async #held<T>(promise: Promise<T>): Promise<T> {
    if (this.#holds++ === 0 && this.#options.daemon) this.#ref(true);
    try {
      return await promise;
    } finally {
      if (--this.#holds === 0 && this.#options.daemon) this.#ref(false);
    }
  }

  #ref(ref: boolean): void {
    if (this.#child === undefined || this.#reported) return;
    if (ref) this.#child.ref();
    else this.#child.unref();
    for (const stream of this.#streams) {
      if (ref) stream.ref();
      else stream.unref();
    }
  }
}
