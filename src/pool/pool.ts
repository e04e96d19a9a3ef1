/**
 * The public Pool: Python's multiprocessing.Pool and concurrent.futures, where
 * a worker's death costs the task it was running and nothing else.
 */
import { PassThrough, type Readable } from 'node:stream';
import { assertCopyable, findUncopyable } from '../codec/v8.js';
import { AbortError, PoolClosed, SerializationError, TaskTimeout } from '../errors.js';
import { resolveTimeout } from '../internal/timeout.js';
import { validateAbortSignal, validateInteger, validateObject, validateString } from '../internal/validate.js';
import { type PoolOptions, resolvePoolOptions, type ResolvedPoolOptions } from './options.js';
import type { PoolEngine } from './engine.js';
import { type ChunkTracker, feed } from './feed.js';
import { LocalEngine } from './local-engine.js';
import { RedisPoolEngine } from '../redis/pool-engine.js';
import type { PoolStats } from './stats.js';
import { type PoolReporter, trackPool, untrackPool } from '../status/registry.js';
import { poolReporter } from './snapshot.js';
import { nextTaskId, type Outcome, type Task } from './task.js';
import type { Args, FnName, Result, UntypedModule, WorkerModuleShape } from '../internal/module-types.js';

/** What map and its kin accept: any iterable, sync or async. */
type Items<T> = Iterable<T> | AsyncIterable<T>;

/** See Pool[kModuleExports]. */
export const kModuleExports = Symbol('procsafe.pool.moduleExports');

export type { Outcome } from './task.js';

export interface ApplyOptions {
  /** Aborting drops the task if it is still waiting, or stops (and replaces) its worker if it is running. */
  readonly signal?: AbortSignal;
  /**
   * A deadline for this call, counted from the call: past it the task rejects
   * with TaskTimeout, dropped if still queued, its worker stopped and replaced
   * if running. Infinity is no limit; 0 or less leaves no time to run: the task
   * rejects TaskTimeout at once and never starts.
   */
  readonly timeoutMs?: number;
  /** Called with each value the task reports (reportProgress in the worker), in order, before the call settles. */
  readonly onProgress?: (value: unknown) => void;
}

export interface MapOptions {
  /**
   * Items sent to a worker at once. @default for `map`, as Python: ceil(items / (workers × 4));
   * for `imap` and `imapUnordered`, 1
   */
  readonly chunksize?: number;
  /** At most this many chunks run or wait at once. @default unlimited for `map`; workers × 32 for `imap` */
  readonly concurrency?: number;
  /** Aborting rejects every item not yet finished. */
  readonly signal?: AbortSignal;
}

const kMaxFnBytes = 255;

export class Pool<M extends WorkerModuleShape = UntypedModule> implements AsyncDisposable {
  readonly #options: ResolvedPoolOptions;
  readonly #engine: PoolEngine;
  #closing: Promise<void> | undefined;
  #terminating: Promise<void> | undefined;
  /** Whole lines of all workers' stdout, when `stdout: 'pipe'`; otherwise null. */
  readonly stdout: Readable | null;
  /** Whole lines of all workers' stderr, when `stderr: 'pipe'`; otherwise null. */
  readonly stderr: Readable | null;
  /** What `procsafe status` sees of this pool, read by the registry's throttled timer (status/registry.ts). */
  readonly #status: PoolReporter;

  constructor(options: PoolOptions) {
    this.#options = resolvePoolOptions(options);
    const stdout = this.#options.stdout === 'pipe' ? new PassThrough() : undefined;
    const stderr = this.#options.stderr === 'pipe' ? new PassThrough() : undefined;
    this.stdout = stdout ?? null;
    this.stderr = stderr ?? null;
    const engine: PoolEngine = this.#options.redis === undefined
      ? new LocalEngine(this.#options, { stdout, stderr })
      : new RedisPoolEngine(this.#options, { stdout, stderr });
    this.#engine = engine;
    this.#status = poolReporter({
      name: this.#options.name, module: this.#options.module, stats: () => engine.stats(), workers: () => engine.workers(),
    });
    trackPool(this.#status);
  }

  /** Runs `fn(...args)` in a worker and resolves with what it returns. */
  apply<K extends FnName<M>>(fn: K, args?: Args<M[K]>, options?: ApplyOptions): Promise<Result<M[K]>>;
  apply(fn: string, args: readonly unknown[] = [], options: ApplyOptions = {}): Promise<unknown> {
    try {
      this.#checkOpen();
      checkFn(fn);
      if (!Array.isArray(args)) {
        throw new TypeError(`Expected \`args\` to be an array of arguments for "${fn}", got ${typeof args}; write apply('${fn}', [value])`);
      }
      const timeoutMs = checkApplyOptions(options);
      assertCopyable(args, 'args', `the arguments of "${fn}"`);
      const id = nextTaskId();
      if (timeoutMs === 0) {
        // "Do not wait" leaves a task no time to run: it is not started at all.
        throw new TaskTimeout(`task ${id} ("${fn}") was given timeoutMs ${options.timeoutMs}, no time to run, and was not started; ` +
          'give a positive timeoutMs, or Infinity for no limit');
      }
      return this.#submit(id, fn, args, false, { signal: options.signal, timeoutMs, onProgress: options.onProgress });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `fn(item)` for every item and resolves with the results in order. If any
   * item fails, rejects with the first failure (by position) once all have settled.
   */
  map<K extends FnName<M>>(fn: K, items: Items<Args<M[K]>[0]>, options?: MapOptions): Promise<Result<M[K]>[]>;
  async map(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): Promise<unknown[]> {
    return valuesOrFirstError(await this.#settledAll(fn, items, options, false));
  }

  /**
   * As Python's `starmap`: `fn(...item)` for every item, each an argument list, results in order. If any item fails,
   * rejects with the first failure (by position) once all have settled. An item that is not an array rejects
   * `TypeError`, naming its index, before anything runs. Each item is a task of its own (`chunksize` only sets how
   * many are submitted together).
   */
  starmap<K extends FnName<M>>(fn: K, items: Iterable<Args<M[K]>> | AsyncIterable<Args<M[K]>>,
    options?: MapOptions): Promise<Result<M[K]>[]>;
  async starmap(fn: string, items: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
    options: MapOptions = {}): Promise<unknown[]> {
    return valuesOrFirstError(await this.#settledAll(fn, items, options, true));
  }

  /** As `map`, but never rejects for an item: each result is `{ ok: true, value }` or `{ ok: false, error }`. */
  mapSettled<K extends FnName<M>>(fn: K, items: Items<Args<M[K]>[0]>, options?: MapOptions): Promise<Outcome<Result<M[K]>>[]>;
  mapSettled(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): Promise<Outcome[]> {
    return this.#settledAll(fn, items, options, false);
  }

  /** Results in input order, lazily: input is read only as fast as results are consumed. */
  imap<K extends FnName<M>>(fn: K, items: Items<Args<M[K]>[0]>, options?: MapOptions): AsyncGenerator<Result<M[K]>, void, undefined>;
  async *imap(fn: string, items: Items<unknown>, options: MapOptions = {}): AsyncGenerator<unknown, void, undefined> {
    for await (const outcome of this.#stream(fn, items, options, true, 1, this.#lanes * 32)) {
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  }

  /** Results as they finish, lazily. */
  imapUnordered<K extends FnName<M>>(
    fn: K, items: Items<Args<M[K]>[0]>, options?: MapOptions,
  ): AsyncGenerator<Result<M[K]>, void, undefined>;
  async *imapUnordered(fn: string, items: Items<unknown>, options: MapOptions = {}): AsyncGenerator<unknown, void, undefined> {
    for await (const outcome of this.#stream(fn, items, options, false, 1, this.#lanes * 32)) {
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  }

  /**
   * Not public API (no export of the package names it): the worker module's exported
   * functions, as the first worker reported them when ready. `procsafe map` checks
   * FN with it before reading input, without a second pool.
   */
  [kModuleExports](): Promise<readonly string[]> {
    return this.#engine.moduleExports();
  }

  /** A snapshot of the pool's counters. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Finishes every accepted task (retries included), then stops the workers. A second call joins the first. */
  close(): Promise<void> {
    this.#closing ??= this.#engine.drain().then(() => this.#shutdown(true));
    return this.#closing;
  }

  /** Stops now: every unfinished task rejects with PoolClosed, and the workers are killed. */
  terminate(): Promise<void> {
    return this.#shutdown(false);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #shutdown(graceful: boolean): Promise<void> {
    this.#terminating ??= this.#engine.shutdown(graceful).then(() => {
      untrackPool(this.#status);
      // end(), not push(null): lines written a moment ago may still be on their way through.
      (this.stdout as PassThrough | null)?.end();
      (this.stderr as PassThrough | null)?.end();
    });
    return this.#terminating;
  }

  /** How many tasks run at once, for chunk sizes and read-ahead: a Redis pool's hosts are unknown here, so at least 8. */
  get #lanes(): number {
    return this.#options.redis === undefined ? this.#options.workers : Math.max(8, this.#options.workers);
  }

  #checkOpen(): void {
    if (this.#engine.closed || this.#terminating !== undefined) {
      throw new PoolClosed(`the pool is ${this.#terminating ? 'terminated' : 'closing'} and accepts no new tasks; create a new Pool`);
    }
  }

  /** `timeoutMs` is resolved already (resolveTimeout), never 0 here. A `tracker` stands in for a listener of the task's own. */
  #submit(
    id: number, fn: string, args: readonly unknown[], chunk: boolean, options: ApplyOptions, tracker?: ChunkTracker,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const task: Task = {
        id, fn, args, chunk, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined, onProgress: options.onProgress,
        done: (ok, value) => (ok ? resolve(value) : reject(value)),
      };
      const { timeoutMs } = options;
      const signal = tracker?.signal ?? options.signal;
      if (signal?.aborted) {
        reject(abortError(signal, id, fn));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => this.#engine.cancel(task, new TaskTimeout(
          `task ${id} ("${fn}") did not finish within timeoutMs (${timeoutMs} ms of being submitted); ` +
          'if it was running, its worker was stopped and replaced')), timeoutMs);
      }
      if (tracker !== undefined) {
        tracker.add(task);
      } else if (signal !== undefined) {
        onAbort = () => this.#engine.cancel(task, abortError(signal, id, fn));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (timer !== undefined || signal !== undefined) {
        task.cleanup = () => {
          clearTimeout(timer);
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
          tracker?.delete(task);
        };
      }
      this.#engine.submit(task);
    });
  }

  /** One chunk of a map: a plain task for one item, a chunk task for more; for starmap (`spread`), a task per item. */
  #submitChunk(fn: string, items: unknown[], firstIndex: number, tracker: ChunkTracker | undefined,
    spread: boolean): Promise<Outcome[]> {
    if (this.#terminating !== undefined) {
      const error = new PoolClosed('the pool was terminated while this map was still feeding it; the remaining items did not run');
      return Promise.resolve(items.map(() => ({ ok: false, error }) as const));
    }
    for (let i = 0; i < items.length; i++) {
      const bad = findUncopyable(items[i], `items[${firstIndex + i}]`);
      if (bad) {
        const error = new SerializationError(`Cannot copy an item for "${fn}": ${bad.path} ${bad.reason}`, bad.path);
        return Promise.resolve(items.map(() => ({ ok: false, error }) as const));
      }
    }
    // A chunk task calls fn(item): spreading would need a chunk kind of its own on the wire, and the tasks of one turn
    // share a frame anyway.
    if (spread) {
      return Promise.all(items.map((args) => this.#submit(nextTaskId(), fn, args as readonly unknown[], false, {}, tracker).then(
        (value): Outcome => ({ ok: true, value }), (error: Error): Outcome => ({ ok: false, error }))));
    }
    const id = nextTaskId();
    if (items.length === 1) {
      return this.#submit(id, fn, items, false, {}, tracker).then(
        (value) => [{ ok: true, value }], (error: Error) => [{ ok: false, error }]);
    }
    return this.#submit(id, fn, items, true, {}, tracker).then(
      (outcomes) => outcomes as Outcome[], (error: Error) => items.map(() => ({ ok: false, error }) as const));
  }

  async #settledAll(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions,
    spread: boolean): Promise<Outcome[]> {
    this.#checkOpen();
    checkFn(fn);
    checkMapOptions(options);
    const all: unknown[] = [];
    if (Symbol.asyncIterator in Object(items)) for await (const item of items as AsyncIterable<unknown>) all.push(item);
    else for (const item of items as Iterable<unknown>) all.push(item);
    // Every item is checked before anything is dispatched.
    for (let i = 0; i < all.length; i++) {
      if (spread && !Array.isArray(all[i])) {
        throw new TypeError(`Expected items[${i}] of starmap("${fn}") to be an array of arguments, got ${describeType(all[i])}; ` +
          `each item is spread as fn's arguments: write starmap('${fn}', [[a, b], [c, d]])`);
      }
      const bad = findUncopyable(all[i], `items[${i}]`);
      if (bad) throw new SerializationError(`Cannot copy an item for "${fn}": ${bad.path} ${bad.reason}`, bad.path);
    }
    const groups = this.#lanes * 4;
    const chunksize = Math.max(1, Math.ceil(all.length / groups));
    const out: Outcome[] = [];
    for await (const outcome of this.#stream(fn, all, options, true, chunksize, Infinity, spread)) out.push(outcome);
    return out;
  }

  /** Feeds items to the pool in chunks (feed.ts), keeping at most `ahead` chunks out. */
  #stream(fn: string, input: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions,
    ordered: boolean, defaultChunk: number, defaultAhead: number, spread = false): AsyncGenerator<Outcome, void, undefined> {
    this.#checkOpen();
    checkFn(fn);
    checkMapOptions(options);
    return feed(input, {
      chunksize: options.chunksize ?? defaultChunk, ahead: options.concurrency ?? defaultAhead, ordered, signal: options.signal,
      cancel: (task, signal) => this.#engine.cancel(task, abortError(signal, task.id, task.fn)),
    }, (items, firstIndex, tracker) => this.#submitChunk(fn, items, firstIndex, tracker, spread));
  }
}

/** map's answer: every value in order, or the first failure by position. */
function valuesOrFirstError(outcomes: readonly Outcome[]): unknown[] {
  const failed = outcomes.find((o) => !o.ok);
  if (failed !== undefined && !failed.ok) throw failed.error;
  return outcomes.map((o) => (o as { value: unknown }).value);
}

function describeType(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}

function checkFn(fn: unknown): asserts fn is string {
  validateString(fn, 'fn');
  if (Buffer.byteLength(fn) > kMaxFnBytes) {
    throw new RangeError(`Expected \`fn\` to be an export name of at most ${kMaxFnBytes} bytes, got ${Buffer.byteLength(fn)} bytes`);
  }
}

/** Returns the call's deadline as resolveTimeout reads it: undefined for none, 0 for no time at all. */
function checkApplyOptions(options: ApplyOptions): number | undefined {
  validateObject(options, 'apply options');
  validateAbortSignal(options.signal, 'signal');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`Expected \`onProgress\` to be a function, got ${typeof options.onProgress}`);
  }
  return resolveTimeout(options.timeoutMs, 'timeoutMs');
}

function checkMapOptions(options: MapOptions): void {
  validateObject(options, 'map options');
  if (options.chunksize !== undefined) validateInteger(options.chunksize, 'chunksize', 1);
  if (options.concurrency !== undefined) validateInteger(options.concurrency, 'concurrency', 1);
  validateAbortSignal(options.signal, 'signal');
}

function abortError(signal: AbortSignal, id: number, fn: string): AbortError {
  return new AbortError(`task ${id} ("${fn}") was aborted by its signal`, { cause: signal.reason });
}
