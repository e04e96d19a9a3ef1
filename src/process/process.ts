// Process: one exported function of a worker module, run in a fresh child process (spawn, never fork), as Python's
// multiprocessing.Process runs a target. The child is the pool's bootstrap, told by one Run message to run `fn` once.
import type { Readable } from 'node:stream';
import { ChildPipes, type ChildEnd, describeSpawnFailure } from '../child/spawn.js';
import { toRemoteError } from '../codec/remote-error.js';
import { assertCopyable } from '../codec/v8.js';
import { AbortError, ProcessStateError, ProcsafeError, type RemoteError } from '../errors.js';
import { asParent } from '../internal/parent-record.js';
import { resolveTimeout } from '../internal/timeout.js';
import { unreachable } from '../internal/unreachable.js';
import { validateAbortSignal, validateKnownKeys, validateObject } from '../internal/validate.js';
import { encodeFrame } from '../codec/value-frame.js';
import { parseFrame } from '../transport/frame.js';
import {
  decodeBootError, decodeErrorInfo, isFromChild, kFromChild, kToChild, type RunMessage,
} from '../child/protocol.js';
import type { UntypedModule, WorkerModuleShape } from '../internal/module-types.js';
import { trackChild, untrackChild } from './children.js';
import { type ProcessOptions, type ResolvedProcessOptions, resolveProcessOptions } from './options.js';
import { type OutputMode, routeOutput } from './output.js';

/** The child sends only small control messages and error descriptors. */
const kMaxAnswerBytes = 256 * 1024 * 1024;

export interface JoinOptions {
  /**
   * Stop waiting after this long: if it still runs, `join()` resolves `{ exitCode: null, signal: null }` and the process
   * runs on (`isAlive` stays true), as Python's `join(timeout)`. 0 or less: do not wait, return how things stand.
   * @default undefined (wait for the exit; Infinity too)
   */
  readonly timeoutMs?: number;
  /** Stop waiting when it aborts: `join()` rejects `AbortError` and the process runs on. */
  readonly signal?: AbortSignal;
}

/** How a process ended, as `join()` reports it. */
export interface ProcessResult {
  /** The exit code, or null if a signal ended it (or `join()` timed out). */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /** What `fn` threw or rejected with (exit code 1), the uncaught error that ended it, or why it could not start. */
  readonly error?: RemoteError;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}


/**
 * With `M`, the module's type (`new Process<typeof import('./jobs.js')>(…)`), `fn` and `args` are checked as a typed
 * Pool's are.
 */
export class Process<M extends WorkerModuleShape = UntypedModule> {
  /** How output prefixes and messages name it. @default 'Process-N' */
  readonly name: string;
  readonly #options: ResolvedProcessOptions;
  readonly #runFrame: Buffer[];
  #pipes: ChildPipes | undefined;
  /** How it ended, once it has and everything it sent has arrived. */
  #end: ChildEnd | undefined;
  #ready = false;
  #error: RemoteError | undefined;
  #holds = 0;
  readonly #started = deferred<void>();
  readonly #done = deferred<void>();

  /**
   * Validates the options and copies `args` (SerializationError, naming the path, if it cannot). Nothing runs until
   * `start()`. `M` is never inferred from the options (it would be a module of one `any` export): give it, or leave it out.
   */
  constructor(options: NoInfer<ProcessOptions<M>>) {
    this.#options = resolveProcessOptions(options);
    this.name = this.#options.name;
    const { module, fn, args, name, daemon } = this.#options;
    assertCopyable(args, 'args', `the arguments of "${fn}"`);
    const message: RunMessage = { module, fn, args, name, daemon, parent: asParent() };
    this.#runFrame = encodeFrame(kToChild.Run, 0, '', message, 'args', `the arguments of "${fn}"`, true);
    // Nobody may await start(); its failure is also reported by join().
    this.#started.promise.catch(() => {});
  }

  /** The child's pid, once started. */
  get pid(): number | undefined { return this.#pipes?.pid; }

  /** True from `start()` until the child has exited. */
  get isAlive(): boolean { return this.#pipes?.pid !== undefined && this.#pipes.exit === undefined; }

  /** The exit code once it exited by itself; null while it runs, or when a signal ended it. */
  get exitCode(): number | null { return this.#pipes?.exit?.exitCode ?? null; }

  /** The signal that ended it; null while it runs, or when it exited by itself. */
  get signal(): NodeJS.Signals | null { return this.#pipes?.exit?.signal ?? null; }

  /** The child's raw stdout when `stdout: 'pipe'`, once started; otherwise null. */
  get stdout(): Readable | null { return this.#options.stdout === 'pipe' ? this.#pipes?.stdout ?? null : null; }

  /** The child's raw stderr when `stderr: 'pipe'`, once started; otherwise null. */
  get stderr(): Readable | null { return this.#options.stderr === 'pipe' ? this.#pipes?.stderr ?? null : null; }

  /**
   * Spawns the child and resolves once its module is imported and `fn` found. Rejects, once the child is gone, with a
   * RemoteError if the module failed to load or lacks the export, ProcsafeError if the child died first, or an Error
   * with the system's `code` (EMFILE …) if it could not be spawned. A Process starts once; a second call rejects.
   */
  async start(): Promise<void> {
    if (this.#pipes !== undefined) {
      throw new ProcessStateError(
        `${this.name} was already started; a Process starts only once: create a new Process to run again`);
    }
    const { execArgv, env, stdout, stderr, daemon } = this.#options;
    const stdio = (mode: OutputMode) => (mode === 'prefix' ? 'pipe' : mode);
    const pipes = new ChildPipes({
      execArgv, env, stdout: stdio(stdout), stderr: stdio(stderr), maxFrameBytes: kMaxAnswerBytes,
      frame: (body) => this.#onFrame(body),
      // Garbage on our channel (user code wrote to fd 4): it is no longer read; the exit still tells.
      garbage: (error) => process.emitWarning(
        `${this.name} (pid ${this.pid}) broke its answer channel: ${error.message}`, 'ProcsafeWarning'),
      end: (info) => this.#report(info),
    });
    this.#pipes = pipes;
    if (pipes.pid !== undefined) {
      trackChild(this);
      const label = `[${this.name} ${pipes.pid}]`;
      const outputs = [[pipes.stdout, stdout, process.stdout], [pipes.stderr, stderr, process.stderr]] as const;
      for (const [stream, mode, target] of outputs) {
        // A 'pipe' stream is the caller's to read; a prefixed one is read here, and its last line awaited.
        if (stream === null || mode !== 'prefix') continue;
        routeOutput(stream, mode, label, target, undefined);
        pipes.drain(stream);
      }
      // A daemon does not keep the parent alive (Python terminates daemons at exit); it then dies with the parent.
      if (daemon) pipes.ref(false);
      pipes.send(this.#runFrame);
    }
    return this.#held(this.#started.promise);
  }

  /**
   * Sends `signal` to the child; false if it never started or has exited (its pid may be someone else's by then).
   * @default signal 'SIGTERM'
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    return this.#pipes?.kill(signal) ?? false;
  }

  /**
   * Resolves with how the child ended, once it exited and its last answer and output lines arrived; with `timeoutMs`,
   * `{ exitCode: null, signal: null }` if it still runs then. There is no queue feeder, so unlike Python's this never
   * waits on unflushed queue data. Rejects before `start()`, or if the child could not be spawned.
   */
  async join(options: JoinOptions = {}): Promise<ProcessResult> {
    validateObject(options, 'join options');
    validateKnownKeys(options as unknown as Record<string, unknown>, 'join options', ['timeoutMs', 'signal']);
    const timeoutMs = resolveTimeout(options.timeoutMs, 'timeoutMs');
    const abort = options.signal;
    validateAbortSignal(abort, 'signal');
    if (this.#pipes === undefined) {
      throw new ProcessStateError(`${this.name} has not been started; call start() before join()`);
    }
    if (abort?.aborted) throw new AbortError('join() was aborted', { cause: abort.reason });
    if (timeoutMs !== 0) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const stops: Promise<void>[] = [this.#done.promise];
      if (timeoutMs !== undefined) stops.push(new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); }));
      if (abort !== undefined) {
        stops.push(new Promise<void>((_, reject) => {
          onAbort = () => reject(new AbortError('join() was aborted', { cause: abort.reason }));
          abort.addEventListener('abort', onAbort, { once: true });
        }));
      }
      try {
        await this.#held(stops.length === 1 ? this.#done.promise : Promise.race(stops));
      } finally {
        clearTimeout(timer);
        if (onAbort !== undefined) abort?.removeEventListener('abort', onAbort);
      }
    }
    if (this.#end?.spawnError !== undefined) throw this.#end.spawnError;
    const exit = this.#pipes.exit;
    if (exit === undefined) return { exitCode: null, signal: null };
    // Past the exit but before the drain (a timeout in that instant): what is known so far.
    const { exitCode, signal } = exit;
    return this.#error === undefined ? { exitCode, signal } : { exitCode, signal, error: this.#error };
  }

  #onFrame(body: Buffer): void {
    const frame = parseFrame(body);
    const { type } = frame;
    if (!isFromChild(type)) {
      process.emitWarning(`${this.name} sent an unknown frame type ${type}; ignored`, 'ProcsafeWarning');
      return;
    }
    switch (type) {
      case kFromChild.Ready:
        this.#ready = true;
        this.#started.resolve();
        return;
      case kFromChild.BootError: {
        const boot = decodeBootError(frame);
        const { module, fn } = this.#options;
        this.#error = toRemoteError(boot.error, boot.phase === 'import'
          ? `${this.name} could not start "${fn}": worker module ${module} failed to load: `
          : `${this.name} could not start: `);
        return;
      }
      case kFromChild.Error:
        this.#error = toRemoteError(decodeErrorInfo(frame));
        return;
      case kFromChild.Fatal:
        // An uncaught error after fn returned, or while it ran: it is what ended the process.
        this.#error = toRemoteError(decodeErrorInfo(frame));
        return;
      case kFromChild.OkUndefined:
        return;
      // A pool worker's answers: a Process child never sends them.
      case kFromChild.Ok: case kFromChild.OkNumber: case kFromChild.OkString:
      case kFromChild.ChunkResult: case kFromChild.Skipped: case kFromChild.Progress: case kFromChild.ProgressNumber:
        process.emitWarning(`${this.name} sent an unknown frame type ${type}; ignored`, 'ProcsafeWarning');
        return;
      default: unreachable(type, 'frame type');
    }
  }

  /** Settles start() and join() once the child is gone and everything it sent has arrived. */
  #report(end: ChildEnd): void {
    untrackChild(this);
    this.#end = end.spawnError === undefined
      ? end
      : { ...end, spawnError: describeSpawnFailure(end.spawnError, this.name) };
    if (!this.#ready) this.#started.reject(this.#end.spawnError ?? this.#error ?? this.#diedEarly(end));
    this.#done.resolve();
  }

  /** Why start() failed when the child died before running `fn` and said nothing. */
  #diedEarly({ exitCode, signal }: ChildEnd): ProcsafeError {
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    return new ProcsafeError(
      `${this.name} (pid ${this.pid}) ${how} before it could run "${this.#options.fn}" of ${this.#options.module}; ` +
      'check what the module does when it is imported, and that nothing kills the process');
  }

  /** Keeps a pending start() or join() holding the event loop, even for a daemon. */
  async #held<T>(promise: Promise<T>): Promise<T> {
    if (this.#holds++ === 0 && this.#options.daemon) this.#pipes?.ref(true);
    try {
      return await promise;
    } finally {
      if (--this.#holds === 0 && this.#options.daemon) this.#pipes?.ref(false);
    }
  }
}
