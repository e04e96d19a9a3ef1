/** The shapes QueueState takes in and hands back: items, events, options and snapshots. */
import type { CancelledEvent, ClientId } from '../internal/owner-state.js';

/** A large item its writer put in a file the owner keeps (queue/spill.ts). */
export interface FileItem {
  readonly file: string;
  readonly length: number;
}

/** One Buffer, the pieces a large item arrived in (in order), or the file it was written to. */
export type Payload = Buffer | readonly Buffer[] | FileItem;

/** An item as a reader receives it. `id` is stable across redelivery, for deduplication. */
export interface QueueEntry {
  readonly id: string;
  readonly item: Payload;
  /** 1 on the first delivery; more when a reader released it or died holding it. */
  readonly deliveries: number;
}

/** The owner holds the item: this is when the caller's `put` resolves. */
export interface PutAcceptedEvent {
  readonly type: 'put-accepted';
  readonly requestId: number;
  readonly client: ClientId;
  readonly id: string;
}

/** The entry is now leased by `client` until it calls `ack` or `release`. */
export interface DeliveredEvent {
  readonly type: 'delivered';
  readonly requestId: number;
  readonly client: ClientId;
  readonly entry: QueueEntry;
}

/** A `put` on a closed queue, a `get` on a closed and drained one (or closed at once), or any parked request of a client that left. */
export interface ClosedEvent {
  readonly type: 'closed';
  readonly requestId: number;
  readonly client: ClientId;
  readonly request: 'put' | 'get' | 'join';
  /** The client let go of the queue (`leave`); the queue itself may be open. */
  readonly left?: true;
}

export interface JoinedEvent {
  readonly type: 'joined';
  readonly requestId: number;
  readonly client: ClientId;
}

/** Reject this get with ItemQuarantined: each quarantined item is told to one get, the next after it. */
export interface QuarantinedEvent {
  readonly type: 'quarantined';
  readonly requestId: number;
  readonly client: ClientId;
  readonly id: string;
  /** Readers that died holding it. */
  readonly deaths: number;
}

export type QueueEvent = PutAcceptedEvent | DeliveredEvent | ClosedEvent | JoinedEvent | CancelledEvent | QuarantinedEvent;

export interface QueueStateOptions {
  /** Items the owner holds (queued plus leased) before puts park; 0 is unbounded. @default 0 */
  readonly maxsize?: number;
  /** Items stay unfinished until `taskDone`; a reader that dies before it gets them redelivered. @default false */
  readonly joinable?: boolean;
  /** Prefix of item ids (`${queueId}:${seq}`), so ids from different queues differ. @default 'q' */
  readonly queueId?: string;
  /** Called once per item let go of for good (consumed or never accepted), to free what the owner kept for it (a file). */
  readonly onDrop?: (item: Payload) => void;
}

/** A parked request, as `inspect()` lists it (oldest first). */
export interface WaiterSnapshot {
  readonly client: ClientId;
  /** Added by the owner in `inspect()` and status (also in ClientSnapshot); null until its link announced it. */
  readonly pid?: number | null;
  readonly requestId: number;
}

/** What one client owes the queue. */
export interface ClientSnapshot {
  readonly client: ClientId;
  readonly pid?: number | null;
  readonly leased: number;
  readonly acked: number;
}

/** A plain, JSON-safe picture of the state, for `procsafe status` and tests. */
export interface QueueSnapshot {
  readonly kind: 'queue' | 'joinable-queue';
  readonly maxsize: number;
  readonly closed: boolean;
  readonly qsize: number;
  readonly leased: number;
  readonly acked: number;
  readonly unfinished: number;
  readonly full: boolean;
  /** Items ever accepted, ever consumed, and deliveries beyond an item's first. */
  readonly accepted: number;
  readonly consumed: number;
  readonly redeliveries: number;
  /** Items ever quarantined, and those of them no get was told of yet. */
  readonly quarantined: number;
  readonly untold: number;
  /** Items an immediate close let go of unread (counted as done for `join`). */
  readonly dropped: number;
  readonly clients: ClientSnapshot[];
  readonly puts: WaiterSnapshot[];
  readonly gets: WaiterSnapshot[];
  readonly joins: WaiterSnapshot[];
}
