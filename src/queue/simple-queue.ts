/** Python's SimpleQueue: a Queue with no maxsize and only put, get, empty and close. */
import { inspect as utilInspect } from 'node:util';
import { type Handle, kHandleKey } from '../codec/handles.js';
import { adopt, shareable } from '../broker/shareable.js';
import { validateKnownKeys, validateObject } from '../internal/validate.js';
import { type Queue, type QueueOptions, simpleQueueInside } from './queue.js';

/** Travels as a handle, as a Queue does; close and empty() behave as Queue's. */
export class SimpleQueue<T = unknown> {
  readonly #queue: Queue<T>;

  constructor(options: Pick<QueueOptions, 'maxMessageBytes'> = {}) {
    validateObject(options, 'SimpleQueue options');
    validateKnownKeys(options, 'SimpleQueue options', ['maxMessageBytes']);
    this.#queue = simpleQueueInside<T>(options);
    // The one instance of this object here, travelling as the inner Queue's handle.
    adopt(this, (this.#queue as unknown as Record<string, Handle>)[kHandleKey] as Handle);
  }

  /** Resolves once the owner holds the item (it never waits for space). */
  async put(item: T): Promise<void> { await this.#queue.put(item); }
  /** Waits for an item; rejects QueueClosed once closed and drained. */
  async get(): Promise<T> { return this.#queue.get(); }
  async empty(): Promise<boolean> { return this.#queue.empty(); }
  /** No more puts, from anyone; readers drain what is left, then get QueueClosed. */
  async close(): Promise<void> { await this.#queue.close(); }

  [utilInspect.custom](): string {
    return utilInspect(this.#queue).replace(/^Queue/, 'SimpleQueue').replace(/, maxsize: 0 }$/, ' }');
  }
}

shareable(SimpleQueue, ['simple-queue'], (handle) => new SimpleQueue({ maxMessageBytes: handle.maxMessageBytes }));
