/**
 * How a Queue reaches its state. Queue (queue.ts) does what is the same everywhere: copying values, read-ahead, handing items
 * to user code, `taskDone` bookkeeping. A backend moves serialized items to and from wherever the state lives: the owning
 * process's broker today (local-backend.ts), Redis later, behind the same class and tests.
 */
import type { RequestOptions, WaitOptions } from '../broker/link.js';
import type { QueueSnapshot } from './state.js';

/** An item leased to this client: `ack` it when handing it to user code, or `release` it. */
export interface Delivery {
  readonly id: string;
  /** Serialized (codec/v8.ts), or its reader: a file is read at hand-over, not for read-ahead; a throw loses it (Queue says so). */
  readonly payload: Buffer | (() => Buffer);
  readonly deliveries: number;
}

export interface DeliveryReceiver {
  delivered(delivery: Delivery): void;
  /** QueueClosed (closed and drained), AbortError (a get cancelled by cancelAll), BrokerLost. */
  failed(error: Error): void;
}

export interface ReadAheadGets {
  /** One more get, as `get` with no timeout. */
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
  /** Resolves once the state holds the whole item. Rejects QueueFull (at once if `timeoutMs: 0`), QueueClosed, AbortError, BrokerLost. */
  put(item: readonly Buffer[], options: RequestOptions): Promise<void>;
  /** Leases the oldest item to this client. Rejects QueueEmpty, QueueClosed, AbortError, BrokerLost. */
  get(options: RequestOptions): Promise<Delivery>;
  /** Gets for an iterator's window, answered through `receiver`: no promise or timer per item. */
  readAhead(receiver: DeliveryReceiver): ReadAheadGets;
  /** undefined once the state is sure to hear of it whatever happens to this process, else a promise: hand the item out then. */
  ack(id: string): Promise<void> | undefined;
  release(ids: readonly string[]): void;
  taskDone(id: string): void;
  join(options: WaitOptions): Promise<void>;
  /** `immediate`: waiting items are dropped and gets rejected at once (Python 3.13's `shutdown(immediate=True)`). */
  close(immediate: boolean): Promise<void>;
  /** This process lets go: its waiting and later calls reject QueueClosed, items it holds go back to the queue. */
  disconnect(): Promise<void>;
  stats(): Promise<QueueStats>;
  inspect(): Promise<QueueSnapshot>;
}
