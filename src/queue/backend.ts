/**
 * How a Queue reaches its state. Queue (queue.ts) does what is the same everywhere: copying values, read-ahead, handing items
 * to user code, `taskDone` bookkeeping. A backend moves serialized items to and from wherever the state lives: the owning
 * process's broker (local-backend.ts) or Redis (redis/queue-backend.ts), behind the same class and tests
 * (test/queue/conformance.ts). Nothing here names a transport.
 */
import type { RequestOptions, WaitOptions } from '../internal/wait.js';
import type { QueueSnapshot } from './state-types.js';

/** An item leased to this client: `ack` it when handing it to user code, or `release` it. */
export interface Delivery {
  readonly id: string;
  /**
   * The fencing token of this delivery: ack, release and taskDone carry it, and the state refuses it once the lease it
   * names lapsed (the item went to another reader). '' where the state fences by itself (local: by connection).
   */
  readonly token: string;
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
  /**
   * undefined once the state is sure to hear of it whatever happens to this process, else a promise: hand the item out
   * then. The promise rejects if the lease lapsed (the item is another reader's now): it must not reach user code.
   */
  ack(delivery: Pick<Delivery, 'id' | 'token'>): Promise<void> | undefined;
  release(deliveries: readonly Pick<Delivery, 'id' | 'token'>[]): void;
  /** `token` '' when this process did not receive the item (an id from elsewhere): the state finds the current lease. */
  taskDone(id: string, token: string): void;
  join(options: WaitOptions): Promise<void>;
  /** `immediate`: waiting items are dropped and gets rejected at once (Python 3.13's `shutdown(immediate=True)`). */
  close(immediate: boolean): Promise<void>;
  /** This process lets go: its waiting and later calls reject QueueClosed, items it holds go back to the queue. */
  disconnect(): Promise<void>;
  stats(): Promise<QueueStats>;
  inspect(): Promise<QueueSnapshot>;
}
