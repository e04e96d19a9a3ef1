/**
 * Queue and JoinableQueue, as Python's: state lives in the creating process's broker thread, clients hold nothing a death
 * could leak. What each death does: docs/guarantees.md; the rules the owner keeps: queue/state.ts.
 */
import { inspect as utilInspect } from 'node:util';
import type { Handle } from '../codec/handles.js';
import { decodeItem, encodeItem } from '../codec/item.js';
import { totalLength } from '../internal/chunks.js';
import { SerializationError, TaskDoneError } from '../errors.js';
import { CancelGroup, validateWait, type WaitOptions } from '../internal/wait.js';
import { adopt, claimHandle, describeHandle, shareable } from '../broker/shareable.js';
import { RedisQueueBackend } from '../redis/queue-backend.js';
import {
  assertNoLocalHandles, kRedisQueueKeys, redisQueueHandle, redisQueueOptionsOf,
} from '../redis/queue-handle.js';
import { validateInteger, validateKnownKeys, validateObject } from '../internal/validate.js';
import type { Delivery, QueueBackend } from './backend.js';
import { ReadAhead } from './read-ahead.js';
import { LocalQueueBackend } from './local-backend.js';
import type { QueueSnapshot } from './state-types.js';

export interface QueueOptions {
  /**
   * Items held before `put` waits (0: unbounded), counting those readers received but not yet handed to their code.
   * @default 0 (on Redis: the queue's own, or 0 when this handle creates it)
   */
  readonly maxsize?: number;
  /** The largest item, serialized; a bigger one is refused with SerializationError. @default 268435456 (256 MiB) */
  readonly maxMessageBytes?: number;
  /** A `redis://` or `rediss://` URL: the queue lives in that Redis, found by `name` from any machine (README "Redis backend"). */
  readonly redis?: string;
  /** With `redis`: the queue's name; its keys are `procsafe:{name}:…`, in one Cluster slot. */
  readonly name?: string;
  /** With `redis`: how long an item a reader holds stays its own without a renewal (renewed every leaseMs / 3). @default 10000 */
  readonly leaseMs?: number;
  /** With `redis`: how long calls wait for an unreachable Redis before rejecting BrokerLost. @default 30000 */
  readonly redisTimeoutMs?: number;
}

export interface QueueCloseOptions {
  /** Drop the waiting items and reject gets at once, instead of letting readers drain them. @default false */
  readonly immediate?: boolean;
}

export type QueuePutOptions = WaitOptions;
export type QueueGetOptions = WaitOptions;

export interface QueueIterateOptions {
  /** Items read ahead of the loop; they go back to the queue if this process dies. @default 16 */
  readonly prefetch?: number;
  /** Ends the loop with an AbortError. */
  readonly signal?: AbortSignal;
}

/** An item with its id, which stays the same if it is delivered again (to deduplicate). */
export interface QueueEntry<T> {
  readonly id: string;
  readonly value: T;
  /** 1 on the first delivery; more when a reader died holding it (JoinableQueue) or gave it back. */
  readonly deliveries: number;
}

const kDefaultMaxMessageBytes = 256 * 1024 * 1024;
/** Set by SimpleQueue just before it makes its Queue, whose handle is then of kind 'simple-queue'. */
let makingSimple = false;

export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly #handle: Handle;
  readonly #backend: QueueBackend;
  /** JoinableQueue: ids handed to user code here and not yet `taskDone`, oldest first, with their fencing tokens. */
  readonly #unfinished = new Map<string, string>();
  readonly #redis: RedisQueueBackend | undefined;

  constructor(options: QueueOptions = {}) {
    const kind = makingSimple ? 'simple-queue' : this instanceof JoinableQueue ? 'joinable-queue' : 'queue';
    makingSimple = false;
    const name = { 'simple-queue': 'SimpleQueue', 'joinable-queue': 'JoinableQueue', queue: 'Queue' }[kind];
    validateObject(options, `${name} options`);
    const redis = kind !== 'simple-queue' && (options.redis !== undefined || options.name !== undefined);
    validateKnownKeys(options as Record<string, unknown>, `${name} options`,
      kind === 'simple-queue' ? ['maxsize', 'maxMessageBytes'] : ['maxsize', 'maxMessageBytes', ...kRedisQueueKeys]);
    const { maxsize, maxMessageBytes = kDefaultMaxMessageBytes } = options;
    if (maxsize !== undefined) validateInteger(maxsize, 'maxsize', 0, 2 ** 32 - 1);
    validateInteger(maxMessageBytes, 'maxMessageBytes', 1024, 2 ** 32 - 2048);
    if (redis) {
      // Not claimHandle: a Redis queue has no owner here; a handle that arrived is rebuilt from its own options.
      this.#handle = redisQueueHandle(kind, options, maxsize, maxMessageBytes);
      this.#redis = new RedisQueueBackend(kind, this.#handle.redis as NonNullable<Handle['redis']>, maxsize);
      this.#backend = this.#redis;
    } else {
      if (options.leaseMs !== undefined || options.redisTimeoutMs !== undefined) {
        throw new TypeError('`leaseMs` and `redisTimeoutMs` are options of a Redis queue: give `redis` and `name` too');
      }
      this.#handle = claimHandle(kind, maxsize ?? 0, maxMessageBytes);
      this.#backend = new LocalQueueBackend(this.#handle);
    }
    adopt(this, this.#handle);
  }

  /** The capacity (0: unbounded). */
  get maxsize(): number { return this.#redis?.maxsize ?? this.#handle.size; }

  /** Resolves once the owner holds the item; waits while the queue is full. Rejects QueueFull on timeout. */
  async put(item: T, options?: QueuePutOptions): Promise<void> {
    const wait = validateWait(options, 'put()');
    await this.#backend.put(this.#serialize(item, 'item'), wait);
  }

  /** Like `put`, but rejects QueueFull at once instead of waiting for space. */
  async putNowait(item: T): Promise<void> {
    await this.#backend.put(this.#serialize(item, 'item'), { timeoutMs: 0 });
  }

  /**
   * Puts every item, in order, travelling together; resolves when the owner holds them all. If one cannot be copied,
   * none is sent. On a timeout the items accepted before it stay in the queue, and the error says how many.
   */
  async putMany(items: Iterable<T>, options?: QueuePutOptions): Promise<void> {
    const wait = validateWait(options, 'putMany()');
    const all = [...items];
    const serialized = all.map((item, i) => this.#serialize(item, `items[${i}]`));
    // One listener on the caller's signal cancels every put of the batch.
    const group = new CancelGroup();
    const onAbort = (): void => group.cancel(wait.signal?.reason);
    wait.signal?.addEventListener('abort', onAbort, { once: true });
    if (wait.signal?.aborted) onAbort();
    const each = { timeoutMs: wait.timeoutMs, group };
    const outcomes = await Promise.allSettled(serialized.map((chunks) => this.#backend.put(chunks, each)));
    wait.signal?.removeEventListener('abort', onAbort);
    const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    if (failed === -1) return;
    const error = (outcomes[failed] as PromiseRejectedResult).reason as Error;
    const accepted = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    error.message = `${accepted} of ${all.length} items were put; items[${failed}] and later ones were not: ${error.message}`;
    throw error;
  }

  /** Removes and returns the oldest item, waiting for one. Rejects QueueEmpty on timeout, QueueClosed once closed and drained. */
  async get(options?: QueueGetOptions): Promise<T> {
    return (await this.#hand(await this.#backend.get(validateWait(options, 'get()')))).value;
  }

  /** Like `get`, but rejects QueueEmpty at once instead of waiting. */
  async getNowait(): Promise<T> {
    return (await this.#hand(await this.#backend.get({ timeoutMs: 0 }))).value;
  }

  /** Like `get`, with the item's id (stable across redelivery) and delivery count. */
  async getEntry(options?: QueueGetOptions): Promise<QueueEntry<T>> {
    return this.#hand(await this.#backend.get(validateWait(options, 'getEntry()')));
  }

  /** Items waiting for a reader (not those received by readers). */
  async qsize(): Promise<number> { return (await this.#backend.stats()).qsize; }
  async empty(): Promise<boolean> { return (await this.#backend.stats()).qsize === 0; }
  /** Whether a put would wait now. */
  async full(): Promise<boolean> { return (await this.#backend.stats()).full; }

  /**
   * No more puts, from anyone; readers drain what is left, then get QueueClosed. With `immediate` (Python 3.13's
   * `shutdown(immediate=True)`), waiting items are dropped (done, for a JoinableQueue's `join`) and gets reject at once.
   */
  async close(options: QueueCloseOptions = {}): Promise<void> {
    validateObject(options, 'close() options');
    validateKnownKeys(options as Record<string, unknown>, 'close() options', ['immediate']);
    const { immediate = false } = options;
    if (typeof immediate !== 'boolean') throw new TypeError(`Expected \`immediate\` to be a boolean, got ${typeof immediate}`);
    await this.#backend.close(immediate);
  }

  /**
   * This process lets go of the queue: its waiting and later calls reject QueueClosed, items it read ahead (and, for a
   * JoinableQueue, items not yet `taskDone`) go back to the queue. The queue lives on for the other processes.
   */
  async disconnect(): Promise<void> { await this.#backend.disconnect(); }

  /** The owner's full picture: counts, clients and what they hold, waiting requests. */
  inspect(): Promise<QueueSnapshot> { return this.#backend.inspect(); }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.iterate();
  }

  /**
   * Iterates until the queue is closed and drained, reading up to `prefetch` items ahead. Those not handed out when the
   * loop ends go back to the queue (and to another reader if this process dies).
   */
  iterate(options: QueueIterateOptions = {}): AsyncIterableIterator<T> {
    validateObject(options, 'options');
    validateKnownKeys(options as Record<string, unknown>, 'iterate() options', ['prefetch', 'signal']);
    const { prefetch = 16, signal } = options;
    validateInteger(prefetch, 'prefetch', 1, 65_536);
    validateWait({ signal }, 'iterate()');
    return new ReadAhead(this.#backend, prefetch, signal, (delivery) => this.#hand(delivery));
  }

  /** `taskDone` for JoinableQueue: the id of the oldest item handed to user code here. */
  protected oldestUnfinished(): string | undefined {
    return this.#unfinished.keys().next().value;
  }

  /** Forgets an unfinished item; its fencing token, '' when it was handed out in another process. */
  protected finish(id: string): string {
    const token = this.#unfinished.get(id) ?? '';
    this.#unfinished.delete(id);
    return token;
  }

  protected get backend(): QueueBackend { return this.#backend; }

  [utilInspect.custom](): string {
    const where = this.#handle.redis === undefined ? describeHandle(this.#handle) : `redis queue "${this.#handle.object}"`;
    return `${this.constructor.name} { ${where}, maxsize: ${this.maxsize} }`;
  }

  #serialize(item: unknown, path: string): Buffer[] {
    if (this.#redis !== undefined) assertNoLocalHandles(item, path);
    const chunks = encodeItem(item, path, 'the queue item');
    const length = totalLength(chunks);
    if (length > this.#handle.maxMessageBytes) {
      throw new SerializationError(
        `the queue item is ${length} bytes serialized, over this queue's maxMessageBytes (${this.#handle.maxMessageBytes}); ` +
        'send it in parts, or create the queue with a larger maxMessageBytes', path);
    }
    return chunks;
  }

  /** The owner hears (ack) before user code runs; a promise when the ack waits behind this link's earlier writes (till in the kernel). */
  #hand(delivery: Delivery): QueueEntry<T> | Promise<QueueEntry<T>> {
    let value: T;
    try {
      const payload = typeof delivery.payload === 'function' ? delivery.payload() : delivery.payload;
      value = decodeItem(payload) as T;
    } catch (error) {
      // Giving it back would hand the same unreadable bytes to every reader in turn, for ever.
      this.#backend.ack(delivery)?.catch(() => {});
      if (this.#handle.kind === 'joinable-queue') this.#backend.taskDone(delivery.id, delivery.token);
      const why = (error as Error).message;
      throw new SerializationError(`item ${delivery.id} could not be read (${why}); it was removed from the queue`, 'item',
        { cause: error });
    }
    const written = this.#backend.ack(delivery);
    const entry = { id: delivery.id, value, deliveries: delivery.deliveries };
    if (written === undefined) {
      if (this.#handle.kind === 'joinable-queue') this.#unfinished.set(delivery.id, delivery.token);
      return entry;
    }
    // Owed here only once the state agreed it is this reader's (a lapsed lease's ack is refused).
    return written.then(() => {
      if (this.#handle.kind === 'joinable-queue') this.#unfinished.set(delivery.id, delivery.token);
      return entry;
    });
  }
}

/**
 * A Queue whose items stay owed until `taskDone()`: `join()` waits for all of them, and an item whose reader dies before
 * `taskDone()` is delivered again (at-least-once; dedupe with `getEntry().id`).
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * Marks an item finished; with no id, the oldest handed to user code in this process and not yet finished. Throws if
   * there is none (Python's "task_done() called too many times").
   */
  taskDone(id?: string): void {
    if (id === undefined) {
      const oldest = this.oldestUnfinished();
      if (oldest === undefined) {
        throw new TaskDoneError('taskDone() called more times than this process got items from the queue; call it once per item');
      }
      this.backend.taskDone(oldest, this.finish(oldest));
      return;
    }
    if (typeof id !== 'string' || id === '') {
      throw new TypeError(`Expected the id given to taskDone() to be an item id from getEntry(), got ${String(id)}`);
    }
    // An id handed out in another process is fine: the owner checks it, and warns if it is not owed.
    this.backend.taskDone(id, this.finish(id));
  }

  /** Resolves when every item ever put has been marked done. */
  async join(options?: { signal?: AbortSignal }): Promise<void> {
    // Python's join() has no timeout: a timeoutMs would be ignored, so it is refused.
    await this.backend.join(validateWait(options, 'join()', ['signal']));
  }
}

shareable(Queue, ['queue'], (handle) => new Queue(handle.redis !== undefined ? redisQueueOptionsOf(handle)
  : { maxsize: handle.size, maxMessageBytes: handle.maxMessageBytes }));
shareable(JoinableQueue, ['joinable-queue'], (handle) => new JoinableQueue(handle.redis !== undefined ? redisQueueOptionsOf(handle)
  : { maxsize: handle.size, maxMessageBytes: handle.maxMessageBytes }));

/** The Queue inside a SimpleQueue (simple-queue.ts): its handle is of kind 'simple-queue'. */
export function simpleQueueInside<T>(options: Pick<QueueOptions, 'maxMessageBytes'>): Queue<T> {
  makingSimple = true;
  try {
    return new Queue<T>(options);
  } finally {
    makingSimple = false;
  }
}
