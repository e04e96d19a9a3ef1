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

export interface QueueStats {
  readonly qsize: number;
  readonly full: boolean;
  readonly closed: boolean;
}

export interface QueueBackend {
  /**
   * Resolves with the item's id once the state holds the whole item. `timeoutMs: 0`
   * never waits for space. Rejects QueueFull, QueueClosed, AbortError or BrokerLost.
   */
  put(item: readonly Buffer[], options: RequestOptions): Promise<string>;
  /** Leases the oldest item to this client. Rejects QueueEmpty, QueueClosed, AbortError or BrokerLost. */
  get(options: RequestOptions): Promise<Delivery>;
  /** The item reached user code (a Queue item is consumed; a JoinableQueue one awaits `taskDone`). */
  ack(id: string): void;
  /** Leased items go back to the front of the queue, unread. */
  release(ids: readonly string[]): void;
  taskDone(id: string): void;
  join(options: WaitOptions): Promise<void>;
  close(): Promise<void>;
  stats(): Promise<QueueStats>;
  inspect(): Promise<QueueSnapshot>;
}
