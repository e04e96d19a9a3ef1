/**
 * The public Pool: Python's multiprocessing.Pool and concurrent.futures, where
 * a worker's death costs the task it was running and nothing else.
 */
import { PassThrough, type Readable } from 'node:stream';
import { assertCopyable, findUncopyable } from '../codec/v8.js';
import { AbortError, PoolClosed, SerializationError, TaskTimeout } from '../errors.js';
import { InOrder } from '../internal/in-order.js';
import { validateAbortSignal, validateInteger, validateObject, validateString } from '../internal/validate.js';
import { type PoolOptions, resolvePoolOptions, type ResolvedPoolOptions } from './options.js';
import type { PoolEngine } from './engine.js';
import { LocalEngine } from './local-engine.js';
import type { PoolStats } from './stats.js';
import { trackPool, untrackPool } from '../status/registry.js';
import type { PoolSource } from '../status/snapshot.js';
import { nextTaskId, type Outcome, type Task } from './task.js';
import type { Args, FnName, Result, UntypedModule, WorkerModuleShape } from './types.js';

/** See Pool[kModuleExports]. */
export const kModuleExports = Symbol('procsafe.pool.moduleExports');

export type { Outcome } from './task.js';

export interface ApplyOptions {
  /** Aborting drops the task if it is still waiting, or stops (and replaces) its worker if it is running. */
  readonly signal?: AbortSignal;
  /**
   * A deadline for this call, counted from the call: past it the task rejects
   * with TaskTimeout, dropped if still queued, its worker stopped and replaced
   * if running.
   */
  readonly timeoutMs?: number;
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
  readonly #status: PoolSource;

  constructor(options: PoolOptions) {
    this.#options = resolvePoolOptions(options);
    const stdout = this.#options.stdout === 'pipe' ? new PassThrough() : undefined;
    const stderr = this.#options.stderr === 'pipe' ? new PassThrough() : undefined;
    this.stdout = stdout ?? null;
    this.stderr = stderr ?? null;
    const engine: PoolEngine = new LocalEngine(this.#options, { stdout, stderr });
    this.#engine = engine;
    this.#status = { name: this.#options.name, module: this.#options.module, stats: () => engine.stats(), workers: () => engine.workers() };
    trackPool(this.#status);
  }

  /** Runs `fn(...args)` in a worker and resolves with what it returns. */
  apply<K extends FnName<M>>(fn: K, args?: Args<M[K]>, options?: ApplyOptions): Promise<Result<M[K]>>;
  apply(fn: string, args: readonly unknown[] = [], options: ApplyOptions = {}): Promise<unknown> {
    try {
      this.#checkOpen();
      checkFn(fn);
      if (!Array.isArray(args)) throw new TypeError(`Expected \`args\` to be an array of arguments for "${fn}", got ${typeof args}; write apply('${fn}', [value])`);
      checkApplyOptions(options);
      assertCopyable(args, 'args', `the arguments of "${fn}"`);
      return this.#submit(nextTaskId(), fn, args, false, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `fn(item)` for every item and resolves with the results in order. If any
   * item fails, rejects with the first failure (by position) once all have settled.
   */
  map<K extends FnName<M>>(fn: K, items: Iterable<Args<M[K]>[0]> | AsyncIterable<Args<M[K]>[0]>, options?: MapOptions): Promise<Result<M[K]>[]>;
  async map(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): Promise<unknown[]> {
    const outcomes = await this.#settledAll(fn, items, options);
    const failed = outcomes.find((o) => !o.ok);
    if (failed !== undefined && !failed.ok) throw failed.error;
    return outcomes.map((o) => (o as { value: unknown }).value);
  }

  /** As `map`, but never rejects for an item: each result is `{ ok: true, value }` or `{ ok: false, error }`. */
  mapSettled<K extends FnName<M>>(fn: K, items: Iterable<Args<M[K]>[0]> | AsyncIterable<Args<M[K]>[0]>, options?: MapOptions): Promise<Outcome<Result<M[K]>>[]>;
  mapSettled(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): Promise<Outcome[]> {
    return this.#settledAll(fn, items, options);
  }

  /** Results in input order, lazily: input is read only as fast as results are consumed. */
  imap<K extends FnName<M>>(fn: K, items: Iterable<Args<M[K]>[0]> | AsyncIterable<Args<M[K]>[0]>, options?: MapOptions): AsyncGenerator<Result<M[K]>, void, undefined>;
  async *imap(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): AsyncGenerator<unknown, void, undefined> {
    for await (const outcome of this.#stream(fn, items, options, true, 1, this.#options.workers * 32)) {
      if (!outcome.ok) throw outcome.error;
      yield outcome.value;
    }
  }

  /** Results as they finish, lazily. */
  imapUnordered<K extends FnName<M>>(fn: K, items: Iterable<Args<M[K]>[0]> | AsyncIterable<Args<M[K]>[0]>, options?: MapOptions): AsyncGenerator<Result<M[K]>, void, undefined>;
  async *imapUnordered(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions = {}): AsyncGenerator<unknown, void, undefined> {
    for await (const outcome of this.#stream(fn, items, options, false, 1, this.#options.workers * 32)) {
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

  #checkOpen(): void {
    if (this.#engine.closed || this.#terminating !== undefined) {
      throw new PoolClosed(`the pool is ${this.#terminating ? 'terminated' : 'closing'} and accepts no new tasks; create a new Pool`);
    }
  }

  #submit(id: number, fn: string, args: readonly unknown[], chunk: boolean, options: ApplyOptions): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const task: Task = {
        id, fn, args, chunk, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined,
        done: (ok, value) => (ok ? resolve(value) : reject(value)),
      };
      const { signal, timeoutMs } = options;
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
      if (signal !== undefined) {
        onAbort = () => this.#engine.cancel(task, abortError(signal, id, fn));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (timer !== undefined || onAbort !== undefined) {
        task.cleanup = () => {
          clearTimeout(timer);
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        };
      }
      this.#engine.submit(task);
    });
  }

  /** One chunk of a map: a plain task for one item, a chunk task for more. */
  #submitChunk(fn: string, items: unknown[], firstIndex: number, signal: AbortSignal | undefined): Promise<Outcome[]> {
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
    const id = nextTaskId();
    const options = signal === undefined ? {} : { signal };
    if (items.length === 1) {
      return this.#submit(id, fn, items, false, options).then(
        (value) => [{ ok: true, value }], (error: Error) => [{ ok: false, error }]);
    }
    return this.#submit(id, fn, items, true, options).then(
      (outcomes) => outcomes as Outcome[], (error: Error) => items.map(() => ({ ok: false, error }) as const));
  }

  async #settledAll(fn: string, items: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions): Promise<Outcome[]> {
    this.#checkOpen();
    checkFn(fn);
    checkMapOptions(options);
    const all: unknown[] = [];
    if (Symbol.asyncIterator in Object(items)) for await (const item of items as AsyncIterable<unknown>) all.push(item);
    else for (const item of items as Iterable<unknown>) all.push(item);
    // Every item is checked before anything is dispatched.
    for (let i = 0; i < all.length; i++) {
      const bad = findUncopyable(all[i], `items[${i}]`);
      if (bad) throw new SerializationError(`Cannot copy an item for "${fn}": ${bad.path} ${bad.reason}`, bad.path);
    }
    const groups = this.#options.workers * 4;
    const chunksize = Math.max(1, Math.ceil(all.length / groups));
    const out: Outcome[] = [];
    for await (const outcome of this.#stream(fn, all, options, true, chunksize, Infinity)) out.push(outcome);
    return out;
  }

  /**
   * Feeds items to the pool in chunks, keeping at most `ahead` chunks out, and
   * yields each item's outcome, in input order or as they finish.
   */
  async *#stream(fn: string, input: Iterable<unknown> | AsyncIterable<unknown>, options: MapOptions,
    ordered: boolean, defaultChunk: number, defaultAhead: number): AsyncGenerator<Outcome, void, undefined> {
    this.#checkOpen();
    checkFn(fn);
    checkMapOptions(options);
    const chunksize = options.chunksize ?? defaultChunk;
    const ahead = options.concurrency ?? defaultAhead;
    const isAsync = Symbol.asyncIterator in Object(input);
    const iterator = isAsync ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (input as Iterable<unknown>)[Symbol.iterator]();
    const finished = new InOrder<Outcome[]>();
    const arrivals: Outcome[][] = [];
    let wake: (() => void) | undefined;
    let nextChunk = 0;
    let nextIndex = 0;
    // Chunks sent and not yet yielded: bounds both work in flight and results held for order.
    let outstanding = 0;
    let exhausted = false;
    try {
      for (;;) {
        while (!exhausted && outstanding < ahead) {
          const items: unknown[] = [];
          while (items.length < chunksize) {
            const step = isAsync ? await (iterator as AsyncIterator<unknown>).next() : (iterator as Iterator<unknown>).next();
            if (step.done) {
              exhausted = true;
              break;
            }
            items.push(step.value);
          }
          if (items.length === 0) break;
          const chunkNo = nextChunk++;
          outstanding++;
          void this.#submitChunk(fn, items, nextIndex, options.signal).then((outcomes) => {
            if (ordered) finished.add(chunkNo, outcomes);
            else arrivals.push(outcomes);
            wake?.();
          });
          nextIndex += items.length;
        }
        if (ordered) {
          for (let chunk = finished.take(); chunk !== undefined; chunk = finished.take()) {
            outstanding--;
            yield* chunk;
          }
        } else {
          while (arrivals.length > 0) {
            outstanding--;
            yield* arrivals.shift() as Outcome[];
          }
        }
        if (exhausted && outstanding === 0) return;
        // Yielding freed room in the window, or results are waiting: go round again instead of sleeping.
        if (!exhausted && outstanding < ahead) continue;
        if (ordered ? finished.ready : arrivals.length > 0) continue;
        await new Promise<void>((resolve) => { wake = resolve; });
        wake = undefined;
      }
    } finally {
      if (!exhausted) await (iterator as AsyncIterator<unknown>).return?.();
    }
  }
}

function checkFn(fn: unknown): asserts fn is string {
  validateString(fn, 'fn');
  if (Buffer.byteLength(fn) > kMaxFnBytes) throw new RangeError(`Expected \`fn\` to be an export name of at most ${kMaxFnBytes} bytes, got ${Buffer.byteLength(fn)} bytes`);
}

function checkApplyOptions(options: ApplyOptions): void {
  validateObject(options, 'apply options');
  validateAbortSignal(options.signal, 'signal');
  if (options.timeoutMs !== undefined) validateInteger(options.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1);
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
