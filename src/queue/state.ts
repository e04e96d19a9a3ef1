/**
 * The owner-side state of a Queue or JoinableQueue. Pure and synchronous: the
 * broker feeds it requests, acks and disconnects, and sends back the events
 * each call returns (in order; there is no outbox to forget to drain).
 *
 * An accepted item is *held* by the owner in exactly one of three places:
 * - queued: waiting for a reader (`qsize()` counts these);
 * - leased: delivered to a client that has not yet handed it to user code;
 * - acked (JoinableQueue only): handed to user code, not yet `taskDone`.
 * A Queue item is consumed by `ack`, a JoinableQueue item by `taskDone`. When a
 * client disconnects, everything it leased (and, for a JoinableQueue, acked)
 * goes back to the front of the queue with the same id, so nothing is lost,
 * except an item that kQuarantineAfterDeaths readers died holding: it is
 * quarantined (dropped, and the next get is told so once), or it would kill
 * every reader in turn and the items behind it would never be reached.
 *
 * Invariants kept after every method:
 * - queued + leased + acked === accepted − consumed − quarantined (never lost silently, never doubled);
 * - `full()` === (maxsize > 0 && queued + leased >= maxsize);
 * - a put is parked only while the queue is open and full (FIFO, no barging);
 * - a get is parked only while nothing is queued and the queue is not drained;
 * - a join is parked only while something is unfinished.
 */
import { type CancelledEvent, type ClientId, InvalidRequest } from '../internal/owner-state.js';
import { Fifo } from '../internal/fifo.js';
import { validateInteger, validateKnownKeys, validateObject, validateString } from '../internal/validate.js';

export type { CancelledEvent, ClientId } from '../internal/owner-state.js';


/** A large item its writer put in a file the owner keeps (queue/spill.ts): its name and size. */
export interface FileItem {
  readonly file: string;
  readonly length: number;
}

/**
 * A serialized item as the owner keeps it: one Buffer, the pieces a large one
 * arrived in (in order), or the file a large one was written to.
 */
export type Payload = Buffer | readonly Buffer[] | FileItem;

/** An item as a reader receives it. `id` is stable across redelivery, for deduplication. */
export interface QueueEntry {
  readonly id: string;
  readonly item: Payload;
  /** 1 on the first delivery; more when a reader released it or died holding it. */
  readonly deliveries: number;
}

/** A `put` is accepted: the owner holds the item (this is when the caller's `put` resolves). */
export interface PutAcceptedEvent {
  readonly type: 'put-accepted';
  readonly requestId: number;
  readonly client: ClientId;
  readonly id: string;
}

/** A `get` is answered; the entry is now leased by `client` until it calls `ack` or `release`. */
export interface DeliveredEvent {
  readonly type: 'delivered';
  readonly requestId: number;
  readonly client: ClientId;
  readonly entry: QueueEntry;
}

/** A `put` on a closed queue, or a `get` on a closed and drained one: reject with QueueClosed. */
export interface ClosedEvent {
  readonly type: 'closed';
  readonly requestId: number;
  readonly client: ClientId;
  readonly request: 'put' | 'get';
}

/** A `join` returns: nothing is unfinished. */
export interface JoinedEvent {
  readonly type: 'joined';
  readonly requestId: number;
  readonly client: ClientId;
}

/**
 * A `get` is answered with the news that an item was quarantined: reject it with
 * ItemQuarantined. Each quarantined item is told to one get, the next after it.
 */
export interface QuarantinedEvent {
  readonly type: 'quarantined';
  readonly requestId: number;
  readonly client: ClientId;
  /** The quarantined item's id, and how many readers died holding it. */
  readonly id: string;
  readonly deaths: number;
}

export type QueueEvent = PutAcceptedEvent | DeliveredEvent | ClosedEvent | JoinedEvent | CancelledEvent | QuarantinedEvent;

/**
 * Readers that may die holding one item before it is quarantined. Deaths are
 * rare and a poison item kills at once, so 5 lets an unlucky item survive
 * several unrelated deaths while a poison one is dropped within 5 readers.
 * Not an option: SPEC fixes the Queue options.
 */
export const kQuarantineAfterDeaths = 5;

/**
 * An `ack`, `release` or `taskDone` that does not match what the client holds.
 * `not-leased`: the client does not hold that item undelivered to user code;
 * `not-unfinished`: no such unfinished item (Python's "task_done() called too many times");
 * `not-joinable`: `taskDone` on a plain Queue.
 */
export class InvalidQueueRequest extends InvalidRequest<'not-leased' | 'not-unfinished' | 'not-joinable'> {
  static override readonly code: string = 'EINVALIDQUEUEREQUEST';
}

export interface QueueStateOptions {
  /**
   * How many items the owner holds (queued plus leased) before puts park.
   * 0 means unbounded.
   * @default 0
   */
  readonly maxsize?: number;
  /**
   * A JoinableQueue: items stay unfinished after delivery until `taskDone`,
   * and a reader that dies before `taskDone` gets them delivered again.
   * @default false
   */
  readonly joinable?: boolean;
  /**
   * The prefix of item ids (`${queueId}:${seq}`), so ids from different queues differ.
   * @default 'q'
   */
  readonly queueId?: string;
  /**
   * Called once for every item the state lets go of for good: consumed (`ack` of a
   * Queue item, `taskDone`), or never accepted (a parked put cancelled, refused by
   * close, or dropped with its dead client). What the owner frees (a file) goes then.
   */
  readonly onDrop?: (item: Payload) => void;
}

/** A parked request, as `inspect()` lists it (oldest first). */
export interface WaiterSnapshot {
  readonly client: ClientId;
  /** The client's process id, as the owner knows it (null until its link announced it). Set by the owner, in `inspect()` and status. */
  readonly pid?: number | null;
  readonly requestId: number;
}

/** What one client owes the queue. */
export interface ClientSnapshot {
  readonly client: ClientId;
  /** The client's process id, as the owner knows it (null until its link announced it). Set by the owner, in `inspect()` and status. */
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
  /** Items dropped because kQuarantineAfterDeaths readers died holding each, and those of them no get was told of yet. */
  readonly quarantined: number;
  readonly untold: number;
  readonly clients: ClientSnapshot[];
  readonly puts: WaiterSnapshot[];
  readonly gets: WaiterSnapshot[];
  readonly joins: WaiterSnapshot[];
}

interface Held {
  readonly seq: number;
  readonly id: string;
  readonly item: Payload;
  /** The client that leased or acked it; undefined while queued. */
  owner: ClientId | undefined;
  acked: boolean;
  deliveries: number;
  /** Readers that died while it was the item they were reading or processing (see blame). */
  deaths: number;
}

/** A client's debts, each Set in the order they arose (so "oldest" is the first). */
interface Books {
  readonly leased: Set<Held>;
  readonly acked: Set<Held>;
}

interface ParkedPut {
  readonly client: ClientId;
  readonly item: Payload;
}

export class QueueState {
  readonly #maxsize: number;
  readonly #joinable: boolean;
  readonly #queueId: string;
  readonly #queued = new Fifo<Held>();
  /** Leased and acked items by id: what `ack`, `release` and `taskDone` look up. */
  readonly #out = new Map<string, Held>();
  readonly #books = new Map<ClientId, Books>();
  // Parked requests by requestId; a Map keeps arrival order and removes in O(1) on cancel.
  readonly #puts = new Map<number, ParkedPut>();
  readonly #gets = new Map<number, ClientId>();
  readonly #joins = new Map<number, ClientId>();
  #leased = 0;
  #acked = 0;
  #seq = 0;
  #consumed = 0;
  #redeliveries = 0;
  #quarantined = 0;
  /** Quarantined items no get was told of yet, oldest first (not their bytes: those are dropped). */
  readonly #untold = new Fifo<{ readonly id: string; readonly deaths: number }>();
  #closed = false;
  readonly #onDrop: ((item: Payload) => void) | undefined;

  constructor(options: QueueStateOptions = {}) {
    validateObject(options, 'options');
    validateKnownKeys(options as Record<string, unknown>, 'queue options', ['maxsize', 'joinable', 'queueId', 'onDrop']);
    const { maxsize = 0, joinable = false, queueId = 'q', onDrop } = options;
    if (onDrop !== undefined && typeof onDrop !== 'function') throw new TypeError(`Expected \`onDrop\` to be a function, got ${String(onDrop)}`);
    validateInteger(maxsize, 'maxsize', 0);
    if (typeof joinable !== 'boolean') throw new TypeError(`Expected \`joinable\` to be a boolean, got ${String(joinable)}`);
    validateString(queueId, 'queueId');
    this.#maxsize = maxsize;
    this.#joinable = joinable;
    this.#queueId = queueId;
    this.#onDrop = onDrop;
  }

  get maxsize(): number { return this.#maxsize; }
  get joinable(): boolean { return this.#joinable; }
  get closed(): boolean { return this.#closed; }

  /** Items queued for a reader; leased and acked items are not counted (as Python's `qsize`). */
  qsize(): number { return this.#queued.length; }
  empty(): boolean { return this.#queued.length === 0; }
  /**
   * Whether a put would park. Leased items count against `maxsize` until acked,
   * so a reader that dies mid-read cannot make the owner hold more than `maxsize`.
   * Only a JoinableQueue reader dying with acked items can push the count above
   * `maxsize` (those items are owed and are never dropped); puts park until it is below.
   */
  full(): boolean { return this.#maxsize > 0 && this.#queued.length + this.#leased >= this.#maxsize; }
  /** Accepted and not yet consumed: queued + leased + acked. What `join` waits on. */
  unfinished(): number { return this.#queued.length + this.#leased + this.#acked; }

  /**
   * Parks a put behind any older one and accepts it as soon as the queue is not
   * full, returning `put-accepted` (now or from a later call). On a closed queue
   * it returns `closed`. For `putNowait`, call `cancel(requestId)` when this
   * returned no event for the request: the item was never accepted.
   */
  put(client: ClientId, requestId: number, item: Payload): QueueEvent[] {
    this.#validateRequest(client, requestId);
    if (!isPayload(item)) {
      throw new TypeError('Expected `item` to be a Buffer, an array of Buffers in order (a serialized value), or a { file, length }');
    }
    if (this.#puts.size === 0 && !this.#closed && !this.full()) {
      // Nothing parked ahead and room: accepted at once (a stream's usual case), as #settle would.
      const events: QueueEvent[] = [this.#accept(requestId, client, item)];
      if (this.#gets.size > 0) this.#deliver(events);
      return events;
    }
    this.#puts.set(requestId, { client, item });
    return this.#settle();
  }

  /**
   * Parks a get behind any older one and delivers the oldest queued item to it,
   * now or from a later call (a quarantined item not told of yet comes first,
   * as a `quarantined` answer). The item is then leased by `client`. On a closed
   * queue with nothing queued or leased it returns `closed`. Read-ahead is
   * several gets. For `getNowait`, call `cancel(requestId)` when this returned no event.
   */
  get(client: ClientId, requestId: number): QueueEvent[] {
    this.#validateRequest(client, requestId);
    if (this.#gets.size === 0 && this.#untold.length > 0) return [this.#tell(requestId, client)];
    const held = this.#gets.size === 0 ? this.#queued.shift() : undefined;
    // Nothing parked ahead and an item queued: delivered at once. Queued plus leased stays
    // the same, so no put gets room and nothing finishes: nothing else to settle.
    if (held !== undefined) return [{ type: 'delivered', requestId, client, entry: this.#lease(held, client) }];
    this.#gets.set(requestId, client);
    return this.#settle();
  }

  /**
   * The reader handed a leased item to user code. A Queue item is consumed; a
   * JoinableQueue item stays unfinished until `taskDone`. Either way it stops
   * counting against `maxsize`, which may accept parked puts.
   * @throws InvalidQueueRequest when `client` does not hold `id` as a lease; nothing changes.
   */
  ack(client: ClientId, id: string): QueueEvent[] {
    const held = this.#leaseOf(client, id, 'ack');
    const books = this.#booksOf(client);
    books.leased.delete(held);
    this.#leased--;
    if (this.#joinable) {
      held.acked = true;
      books.acked.add(held);
      this.#acked++;
    } else {
      this.#out.delete(id);
      this.#consumed++;
      this.#forgetIfClear(client, books);
      this.#onDrop?.(held.item);
    }
    return this.#settle();
  }

  /**
   * Gives leased items back unread (an iterator that stopped early, a get whose
   * caller timed out as the item arrived). They go to the front of the queue in
   * the order they were put. Pass every id in one call: releasing one at a time
   * reverses their order.
   * @throws InvalidQueueRequest when any id is not leased by `client`; nothing changes.
   */
  release(client: ClientId, ids: readonly string[]): QueueEvent[] {
    if (!Array.isArray(ids)) throw new TypeError('Expected `ids` to be an array of item ids');
    const items = ids.map((id) => this.#leaseOf(client, id, 'release'));
    if (new Set(items).size !== items.length) {
      throw new InvalidQueueRequest(`release of the same item twice by client ${client}`, 'not-leased');
    }
    const books = this.#booksOf(client);
    for (const held of items) books.leased.delete(held);
    this.#leased -= items.length;
    this.#forgetIfClear(client, books);
    this.#requeue(items);
    return this.#settle();
  }

  /**
   * Marks a JoinableQueue item finished. With `id`, that item (whoever acked
   * it); without, the item this client acked first.
   * @throws InvalidQueueRequest when there is no such unfinished acked item, or on a plain Queue.
   */
  taskDone(client: ClientId, id?: string): QueueEvent[] {
    validateInteger(client, 'client', 0);
    if (!this.#joinable) throw new InvalidQueueRequest('taskDone() is for a JoinableQueue; this is a Queue', 'not-joinable');
    let held: Held | undefined;
    if (id === undefined) {
      held = this.#books.get(client)?.acked.values().next().value;
      if (held === undefined) {
        throw new InvalidQueueRequest(`taskDone() called more times than client ${client} got items; ` +
          'call it once per item taken from the queue', 'not-unfinished');
      }
    } else {
      validateString(id, 'id');
      held = this.#out.get(id);
      if (held === undefined || !held.acked) {
        const why = held === undefined ? 'is not an unfinished item of this queue' : 'was not handed to user code yet';
        throw new InvalidQueueRequest(`taskDone(${JSON.stringify(id)}): the item ${why}`, 'not-unfinished');
      }
    }
    const owner = held.owner as ClientId;
    const books = this.#booksOf(owner);
    books.acked.delete(held);
    this.#out.delete(held.id);
    this.#acked--;
    this.#consumed++;
    this.#forgetIfClear(owner, books);
    this.#onDrop?.(held.item);
    return this.#settle();
  }

  /** Parks until nothing is unfinished; returns `joined` now if nothing is. Works on a plain Queue too. */
  join(client: ClientId, requestId: number): QueueEvent[] {
    this.#validateRequest(client, requestId);
    this.#joins.set(requestId, client);
    return this.#settle();
  }

  /**
   * Removes a parked put, get or join (its timeout passed or its signal
   * aborted). Returns `[cancelled]`, or `[]` when the request is not parked:
   * then it was already answered (a delivered item stays leased and must be
   * released) or never existed.
   */
  cancel(requestId: number): QueueEvent[] {
    for (const waiters of [this.#puts, this.#gets, this.#joins]) {
      const waiter = waiters.get(requestId);
      if (waiter === undefined) continue;
      waiters.delete(requestId);
      if (typeof waiter !== 'number') this.#onDrop?.(waiter.item);
      const client = typeof waiter === 'number' ? waiter : waiter.client;
      // A parked put means no room and a parked get means nothing queued, so removing one lets nothing else through.
      return [{ type: 'cancelled', requestId, client }];
    }
    return [];
  }

  /**
   * Settles a dead client's debts. Its parked requests vanish without events
   * (a parked put was never accepted, so it leaks no capacity). Every item it
   * leased, and for a JoinableQueue every item it acked but did not finish,
   * goes back to the front of the queue in put order, with its id, and may be
   * delivered to parked gets at once; an item this is the
   * kQuarantineAfterDeaths-th reader death of (see blame) is quarantined instead.
   */
  disconnect(client: ClientId): QueueEvent[] {
    validateInteger(client, 'client', 0);
    for (const [requestId, waiter] of this.#puts) {
      if (waiter.client !== client) continue;
      this.#puts.delete(requestId);
      this.#onDrop?.(waiter.item);
    }
    for (const [requestId, owner] of this.#gets) if (owner === client) this.#gets.delete(requestId);
    for (const [requestId, owner] of this.#joins) if (owner === client) this.#joins.delete(requestId);
    const books = this.#books.get(client);
    if (books !== undefined) {
      this.#books.delete(client);
      this.#leased -= books.leased.size;
      this.#acked -= books.acked.size;
      const back = [...books.leased, ...books.acked];
      for (const held of blame(books)) if (++held.deaths >= kQuarantineAfterDeaths) this.#quarantine(held, back);
      this.#requeue(back);
    }
    return this.#settle();
  }

  /**
   * No more puts: parked and later puts get `closed`. Gets go on draining; once
   * nothing is queued or leased, parked and later gets get `closed`. Leased
   * items hold that off because a reader that dies or releases gives them back.
   * Idempotent.
   */
  close(): QueueEvent[] {
    if (this.#closed) return [];
    this.#closed = true;
    return this.#settle();
  }

  inspect(): QueueSnapshot {
    const waiters = (map: Map<number, ClientId>): WaiterSnapshot[] => [...map].map(([requestId, client]) => ({ client, requestId }));
    return {
      kind: this.#joinable ? 'joinable-queue' : 'queue',
      maxsize: this.#maxsize,
      closed: this.#closed,
      qsize: this.#queued.length,
      leased: this.#leased,
      acked: this.#acked,
      unfinished: this.unfinished(),
      full: this.full(),
      accepted: this.#seq,
      consumed: this.#consumed,
      redeliveries: this.#redeliveries,
      quarantined: this.#quarantined,
      untold: this.#untold.length,
      clients: [...this.#books].map(([client, books]) => ({ client, leased: books.leased.size, acked: books.acked.size })),
      puts: [...this.#puts].map(([requestId, { client }]) => ({ client, requestId })),
      gets: waiters(this.#gets),
      joins: waiters(this.#joins),
    };
  }

  /** The one place requests are answered, so FIFO order, capacity and the close rules cannot drift apart. */
  #settle(): QueueEvent[] {
    const events: QueueEvent[] = [];
    // Most calls change nothing parked (an ack with no put waiting): skip the maps then.
    if (this.#puts.size > 0) this.#acceptPuts(events);
    if (this.#gets.size > 0 && this.#untold.length > 0) this.#tellParked(events);
    if (this.#gets.size > 0 && this.#queued.length > 0) this.#deliver(events);
    // Drained means nothing queued and nothing leased: a leased item may still come back.
    if (this.#closed && this.#gets.size > 0 && this.#queued.length === 0 && this.#leased === 0) {
      for (const [requestId, client] of this.#gets) events.push({ type: 'closed', requestId, client, request: 'get' });
      this.#gets.clear();
    }
    if (this.#joins.size > 0 && this.unfinished() === 0) {
      for (const [requestId, client] of this.#joins) events.push({ type: 'joined', requestId, client });
      this.#joins.clear();
    }
    return events;
  }

  /** Accepts parked puts, oldest first, while there is room (or refuses them all once closed). */
  #acceptPuts(events: QueueEvent[]): void {
    for (const [requestId, { client, item }] of this.#puts) {
      if (!this.#closed && this.full()) break;
      this.#puts.delete(requestId);
      if (this.#closed) {
        events.push({ type: 'closed', requestId, client, request: 'put' });
        this.#onDrop?.(item);
        continue;
      }
      events.push(this.#accept(requestId, client, item));
    }
  }

  /** The owner holds the item from now on: queued, with its id. */
  #accept(requestId: number, client: ClientId, item: Payload): PutAcceptedEvent {
    const seq = this.#seq++;
    const held: Held = { seq, id: `${this.#queueId}:${seq}`, item, owner: undefined, acked: false, deliveries: 0, deaths: 0 };
    this.#queued.push(held);
    return { type: 'put-accepted', requestId, client, id: held.id };
  }

  /** Hands queued items to parked gets, oldest first. */
  #deliver(events: QueueEvent[]): void {
    for (const [requestId, client] of this.#gets) {
      const held = this.#queued.shift();
      if (held === undefined) break;
      this.#gets.delete(requestId);
      events.push({ type: 'delivered', requestId, client, entry: this.#lease(held, client) });
    }
  }

  /** Takes a dead reader's item out for good: it is no longer owed, and the next get hears of it. */
  #quarantine(held: Held, back: Held[]): void {
    back.splice(back.indexOf(held), 1);
    this.#out.delete(held.id);
    this.#quarantined++;
    this.#untold.push({ id: held.id, deaths: held.deaths });
    this.#onDrop?.(held.item);
  }

  #tell(requestId: number, client: ClientId): QuarantinedEvent {
    const { id, deaths } = this.#untold.shift() as { id: string; deaths: number };
    return { type: 'quarantined', requestId, client, id, deaths };
  }

  /** Tells parked gets, oldest first, of quarantined items, before any item is delivered. */
  #tellParked(events: QueueEvent[]): void {
    for (const [requestId, client] of this.#gets) {
      if (this.#untold.length === 0) break;
      this.#gets.delete(requestId);
      events.push(this.#tell(requestId, client));
    }
  }

  #lease(held: Held, client: ClientId): QueueEntry {
    held.owner = client;
    held.deliveries++;
    if (held.deliveries > 1) this.#redeliveries++;
    this.#out.set(held.id, held);
    this.#booksOf(client).leased.add(held);
    this.#leased++;
    return { id: held.id, item: held.item, deliveries: held.deliveries };
  }

  /** Puts items back at the front in put order, ahead of newer ones, so a death does not reorder the queue. */
  #requeue(items: Held[]): void {
    items.sort((a, b) => a.seq - b.seq);
    for (let i = items.length - 1; i >= 0; i--) {
      const held = items[i] as Held;
      held.owner = undefined;
      held.acked = false;
      this.#out.delete(held.id);
      this.#queued.unshift(held);
    }
  }

  #leaseOf(client: ClientId, id: string, what: string): Held {
    validateInteger(client, 'client', 0);
    validateString(id, 'id');
    const held = this.#out.get(id);
    if (held === undefined || held.owner !== client || held.acked) {
      const why = held === undefined ? 'it is not leased by anyone'
        : held.owner !== client ? `it is leased by client ${held.owner}` : 'it was acked already';
      throw new InvalidQueueRequest(`${what} of item ${id} by client ${client}: ${why}`, 'not-leased');
    }
    return held;
  }

  #booksOf(client: ClientId): Books {
    let books = this.#books.get(client);
    if (books === undefined) {
      books = { leased: new Set(), acked: new Set() };
      this.#books.set(client, books);
    }
    return books;
  }

  /** Drops a client's empty books, so many short-lived readers do not grow the map. */
  #forgetIfClear(client: ClientId, books: Books): void {
    if (books.leased.size === 0 && books.acked.size === 0) this.#books.delete(client);
  }

  /** The broker's ids are trusted but checked: a reused requestId would lose one answer. */
  #validateRequest(client: unknown, requestId: unknown): void {
    validateInteger(client, 'client', 0);
    validateInteger(requestId, 'requestId', 0);
    if (this.#puts.has(requestId) || this.#gets.has(requestId) || this.#joins.has(requestId)) {
      throw new Error(`queue: requestId ${requestId} is already waiting; the broker must give every pending request its own id`);
    }
  }
}

/**
 * The items a dead reader may have died of. A reader decodes its items in the
 * order they were leased and acks each before its code sees it, so it was in
 * the code of its acked, unfinished items (JoinableQueue) or, holding none,
 * decoding its oldest leased one. Read-ahead behind that was never touched.
 */
function blame(books: Books): Iterable<Held> {
  if (books.acked.size > 0) return books.acked;
  const oldest = books.leased.values().next().value;
  return oldest === undefined ? [] : [oldest];
}

function isPayload(item: unknown): item is Payload {
  if (item instanceof Uint8Array) return true;
  if (Array.isArray(item)) return item.every((piece) => piece instanceof Uint8Array);
  if (typeof item !== 'object' || item === null) return false;
  const { file, length } = item as Partial<FileItem>;
  return typeof file === 'string' && Number.isSafeInteger(length);
}
