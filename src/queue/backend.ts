/**
 * How a Queue reaches its state. The Queue class (queue/queue.ts) does what is
 * the same everywhere: copying values, read-ahead, handing items to user code
 * and the `taskDone` bookkeeping. A backend moves serialized items and answers
 * to wherever the state lives: the owning process's broker today
 * (queue/local-backend.ts), Redis later, behind the same class and tests.
 */
import type { RequestOptions, WaitOptions } from '../broker/link.js';
import type { QueueSnapshot } from './state.js';

/** An item leased to this client: `ack` it when handing it to user code, or `release` it. */
export interface Delivery {
  /** Stable across redelivery. */
  readonly id: string;
  /**
   * The item as serialized (codec/v8.ts), or what reads it (an item kept in a
   * file is read only when handed to user code: read-ahead that goes back unread
   * costs nothing). Reading may throw; the item is then lost, and Queue says so.
   */
  readonly payload: Buffer | (() => Buffer);
  /** 1 on the first delivery; more when a reader died holding it or gave it back. */
  readonly deliveries: number;
}

/** Takes the answers to a reader's read-ahead gets (QueueBackend.readAhead). */
export interface DeliveryReceiver {
  delivered(delivery: Delivery): void;
  /** QueueClosed (closed and drained), AbortError (a get cancelled by cancelAll), BrokerLost. */
  failed(error: Error): void;
}

/** A reader's window of read-ahead gets, all answered through one receiver. */
export interface ReadAheadGets {
  /** One more get, as `get` with no timeout; its answer goes to the receiver. */
  request(): void;
  /** Cancels every get not answered yet: each is still answered, with its item (it came first) or AbortError. */
  cancelAll(): void;
}

export interface QueueStats {
  readonly qsize: number;
  readonly full: boolean;
  readonly closed: boolean;
}

export interface QueueBackend {
  /**
   * Resolves once the state holds the whole item. `timeoutMs: 0` never waits for
   * space. Rejects QueueFull, QueueClosed, AbortError or BrokerLost.
   */
  put(item: readonly Buffer[], options: RequestOptions): Promise<void>;
  /** Leases the oldest item to this client. Rejects QueueEmpty, QueueClosed, AbortError or BrokerLost. */
  get(options: RequestOptions): Promise<Delivery>;
  /**
   * Gets for an iterator's read-ahead window: as `get`, but answered through
   * `receiver`, with no promise or timer per item (a stream's reader makes one
   * per item it hands out).
   */
  readAhead(receiver: DeliveryReceiver): ReadAheadGets;
  /**
   * The item reaches user code (a Queue item is consumed; a JoinableQueue one awaits
   * `taskDone`). Returns undefined once the state is sure to hear of it whatever
   * happens to this process, else a promise of when it is: hand the item out only then.
   */
  ack(id: string): Promise<void> | undefined;
  /** Leased items go back to the front of the queue, unread. */
  release(ids: readonly string[]): void;
  taskDone(id: string): void;
  join(options: WaitOptions): Promise<void>;
  close(): Promise<void>;
  stats(): Promise<QueueStats>;
  inspect(): Promise<QueueSnapshot>;
}
