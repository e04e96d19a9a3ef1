/**
 * The owner-side state of a Queue or JoinableQueue. Pure and synchronous: the broker sends back the events each call
 * returns, in order (no outbox to forget to drain). An accepted item is held in exactly one place: queued, leased
 * (delivered, not yet handed to user code) or acked (JoinableQueue: handed over, not yet `taskDone`). A dead client's items
 * go back to the front in put order with the same id, except one kQuarantineAfterDeaths readers died holding: it is
 * quarantined, or it would kill every reader in turn and block the rest. Invariants kept after every method:
 * - queued + leased + acked === accepted − consumed − quarantined − dropped (never lost silently, never doubled);
 * - `full()` === (maxsize > 0 && queued + leased >= maxsize);
 * - a put is parked only while the queue is open and full (FIFO, no barging);
 * - a get is parked only while nothing is queued and the queue is not drained (nor closed at once);
 * - after an immediate close nothing is queued: what would be (given back, or a dead reader's) is dropped;
 * - a join is parked only while something is unfinished;
 * - a refused request (InvalidQueueRequest: not what the client holds, or taskDone on a plain Queue) changes nothing.
 */
import type { ClientId } from '../internal/owner-state.js';
import { Fifo } from '../internal/fifo.js';
import { validateInteger, validateString } from '../internal/validate.js';
import { type Books, booksOf, forgetIfClear, type Held } from './books.js';
import { blame, kQuarantineAfterDeaths, type Untold } from './quarantine.js';
import { InvalidQueueRequest, leaseOf, resolveQueueOptions, validatePayload, validateRequest } from './request-checks.js';
import type {
  Payload, PutAcceptedEvent, QuarantinedEvent, QueueEntry, QueueEvent, QueueSnapshot, QueueStateOptions, WaiterSnapshot,
} from './state-types.js';

export type { CancelledEvent, ClientId } from '../internal/owner-state.js';
export type {
  ClientSnapshot, ClosedEvent, DeliveredEvent, FileItem, JoinedEvent, Payload, PutAcceptedEvent, QuarantinedEvent,
  QueueEntry, QueueEvent, QueueSnapshot, QueueStateOptions, WaiterSnapshot,
} from './state-types.js';
export { kQuarantineAfterDeaths } from './quarantine.js';
export { InvalidQueueRequest } from './request-checks.js';

interface ParkedPut {
  readonly client: ClientId;
  readonly item: Payload;
}

export class QueueState {
  readonly #maxsize: number;
  readonly #joinable: boolean;
  readonly #queueId: string;
  readonly #queued = new Fifo<Held>();
  /** Leased and acked items by id. */
  readonly #out = new Map<string, Held>();
  readonly #books = new Map<ClientId, Books>();
  // Parked requests by requestId, in arrival order (as sync's Waiters).
  readonly #puts = new Map<number, ParkedPut>();
  readonly #gets = new Map<number, ClientId>();
  readonly #joins = new Map<number, ClientId>();
  readonly #parked: readonly ReadonlyMap<number, unknown>[] = [this.#puts, this.#gets, this.#joins];
  #leased = 0;
  #acked = 0;
  #seq = 0;
  #consumed = 0;
  #redeliveries = 0;
  #quarantined = 0;
  /** Quarantined items no get was told of yet, oldest first. */
  readonly #untold = new Fifo<Untold>();
  #closed = false;
  #immediate = false;
  #dropped = 0;
  readonly #onDrop: ((item: Payload) => void) | undefined;

  constructor(options: QueueStateOptions = {}) {
    const { maxsize, joinable, queueId, onDrop } = resolveQueueOptions(options);
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
  // Leased items count until acked, so a reader dying mid-read cannot make the owner hold more than `maxsize`. Only a
  // dead JoinableQueue reader's acked items (owed, never dropped) push it above; puts park until below.
  full(): boolean { return this.#maxsize > 0 && this.#queued.length + this.#leased >= this.#maxsize; }
  unfinished(): number { return this.#queued.length + this.#leased + this.#acked; }

  /** For `putNowait`, `cancel(requestId)` when no event came back: the item was never accepted. */
  put(client: ClientId, requestId: number, item: Payload): QueueEvent[] {
    validateRequest(client, requestId, this.#parked);
    validatePayload(item);
    if (this.#puts.size === 0 && !this.#closed && !this.full()) {
      // Nothing parked ahead and room: accepted at once (a stream's usual case), as #settle would.
      const events: QueueEvent[] = [this.#accept(requestId, client, item)];
      if (this.#gets.size > 0) this.#deliver(events);
      return events;
    }
    this.#puts.set(requestId, { client, item });
    return this.#settle();
  }

  /** Read-ahead is several gets. For `getNowait`, `cancel(requestId)` when no event came back. */
  get(client: ClientId, requestId: number): QueueEvent[] {
    validateRequest(client, requestId, this.#parked);
    if (this.#gets.size === 0 && this.#untold.length > 0) return [this.#tell(requestId, client)];
    const held = this.#gets.size === 0 ? this.#queued.shift() : undefined;
    // Nothing parked ahead and an item queued: delivered at once. Queued plus leased stays
    // the same, so no put gets room and nothing finishes: nothing else to settle.
    if (held !== undefined) return [{ type: 'delivered', requestId, client, entry: this.#lease(held, client) }];
    this.#gets.set(requestId, client);
    return this.#settle();
  }

  /** The reader handed the item to user code: a Queue item is consumed, a JoinableQueue one unfinished until `taskDone`. */
  ack(client: ClientId, id: string): QueueEvent[] {
    const held = leaseOf(this.#out, client, id, 'ack');
    const books = booksOf(this.#books, client);
    books.leased.delete(held);
    this.#leased--;
    if (this.#joinable) {
      held.acked = true;
      books.acked.add(held);
      this.#acked++;
    } else {
      this.#out.delete(id);
      this.#consumed++;
      forgetIfClear(this.#books, client, books);
      this.#onDrop?.(held.item);
    }
    return this.#settle();
  }

  /** Gives leased items back unread. Pass every id in one call: one at a time reverses their order. */
  release(client: ClientId, ids: readonly string[]): QueueEvent[] {
    if (!Array.isArray(ids)) throw new TypeError('Expected `ids` to be an array of item ids');
    const items = (ids as readonly string[]).map((id) => leaseOf(this.#out, client, id, 'release'));
    if (new Set(items).size !== items.length) {
      throw new InvalidQueueRequest(`release of the same item twice by client ${client}`, 'not-leased');
    }
    const books = booksOf(this.#books, client);
    for (const held of items) books.leased.delete(held);
    this.#leased -= items.length;
    forgetIfClear(this.#books, client, books);
    this.#requeue(items);
    return this.#settle();
  }

  /** With `id`, that item (whoever acked it); without, the item this client acked first. */
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
    const books = booksOf(this.#books, owner);
    books.acked.delete(held);
    this.#out.delete(held.id);
    this.#acked--;
    this.#consumed++;
    forgetIfClear(this.#books, owner, books);
    this.#onDrop?.(held.item);
    return this.#settle();
  }

  /** Works on a plain Queue too. */
  join(client: ClientId, requestId: number): QueueEvent[] {
    validateRequest(client, requestId, this.#parked);
    this.#joins.set(requestId, client);
    return this.#settle();
  }

  /** `[]` when not parked: it was already answered (a delivered item stays leased: release it) or never existed. */
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
   * A live client lets go of this queue (`disconnect()`): its parked requests are answered `closed`, and what it holds goes
   * back as a death's would, but unblamed (it is no sign the item kills readers). Acked JoinableQueue items go back too:
   * their `taskDone` can no longer come.
   */
  leave(client: ClientId): QueueEvent[] {
    validateInteger(client, 'client', 0);
    const events: QueueEvent[] = [];
    const closed = (requestId: number, request: 'put' | 'get' | 'join'): void => {
      events.push({ type: 'closed', requestId, client, request, left: true });
    };
    for (const [requestId, waiter] of this.#puts) {
      if (waiter.client !== client) continue;
      this.#puts.delete(requestId);
      this.#onDrop?.(waiter.item);
      closed(requestId, 'put');
    }
    for (const [requestId, owner] of this.#gets) if (owner === client) { this.#gets.delete(requestId); closed(requestId, 'get'); }
    for (const [requestId, owner] of this.#joins) if (owner === client) { this.#joins.delete(requestId); closed(requestId, 'join'); }
    this.#takeBack(client, false);
    events.push(...this.#settle());
    return events;
  }

  /** Parked requests vanish without events (a parked put was never accepted: no capacity leaks); held items go back. */
  disconnect(client: ClientId): QueueEvent[] {
    validateInteger(client, 'client', 0);
    for (const [requestId, waiter] of this.#puts) {
      if (waiter.client !== client) continue;
      this.#puts.delete(requestId);
      this.#onDrop?.(waiter.item);
    }
    for (const [requestId, owner] of this.#gets) if (owner === client) this.#gets.delete(requestId);
    for (const [requestId, owner] of this.#joins) if (owner === client) this.#joins.delete(requestId);
    this.#takeBack(client, true);
    return this.#settle();
  }

  #takeBack(client: ClientId, died: boolean): void {
    const books = this.#books.get(client);
    if (books === undefined) return;
    this.#books.delete(client);
    this.#leased -= books.leased.size;
    this.#acked -= books.acked.size;
    const back = [...books.leased, ...books.acked];
    if (died) for (const held of blame(books)) if (++held.deaths >= kQuarantineAfterDeaths) this.#quarantine(held, back);
    this.#requeue(back);
  }

  /**
   * No more puts. Gets drain until nothing is queued or leased (a dead reader gives those back), then get `closed`.
   * `immediate` (Python 3.13's `shutdown(immediate=True)`): queued items are dropped and gets are `closed` at once. Leased
   * and acked items stay with their readers, who had them before the close: an ack still hands one over; given back or
   * left by a dead reader, it is dropped.
   */
  close(options: { readonly immediate?: boolean } = {}): QueueEvent[] {
    const immediate = options.immediate ?? false;
    if (typeof immediate !== 'boolean') throw new TypeError(`Expected \`immediate\` to be a boolean, got ${typeof immediate}`);
    if (this.#closed && (this.#immediate || !immediate)) return [];
    this.#closed = true;
    this.#immediate = immediate;
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
      dropped: this.#dropped,
      clients: [...this.#books].map(([client, books]) => ({ client, leased: books.leased.size, acked: books.acked.size })),
      puts: [...this.#puts].map(([requestId, { client }]) => ({ client, requestId })),
      gets: waiters(this.#gets),
      joins: waiters(this.#joins),
    };
  }

  /** The one place requests are answered, so FIFO order, capacity and the close rules cannot drift apart. */
  #settle(): QueueEvent[] {
    const events: QueueEvent[] = [];
    if (this.#immediate) this.#dropQueued();
    // Most calls change nothing parked (an ack with no put waiting): skip the maps then.
    if (this.#puts.size > 0) this.#acceptPuts(events);
    if (this.#gets.size > 0 && this.#untold.length > 0) this.#tellParked(events);
    if (this.#gets.size > 0 && this.#queued.length > 0) this.#deliver(events);
    // Drained means nothing queued and nothing leased: a leased item may still come back.
    if (this.#closed && this.#gets.size > 0 && this.#queued.length === 0 && (this.#leased === 0 || this.#immediate)) {
      for (const [requestId, client] of this.#gets) events.push({ type: 'closed', requestId, client, request: 'get' });
      this.#gets.clear();
    }
    if (this.#joins.size > 0 && this.unfinished() === 0) {
      for (const [requestId, client] of this.#joins) events.push({ type: 'joined', requestId, client });
      this.#joins.clear();
    }
    return events;
  }

  /** Immediate close: as Python, each dropped item counts as done, so `join` is not held by items no one will read. */
  #dropQueued(): void {
    this.#untold.clear();
    for (let held = this.#queued.shift(); held !== undefined; held = this.#queued.shift()) {
      this.#dropped++;
      this.#onDrop?.(held.item);
    }
  }

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

  #accept(requestId: number, client: ClientId, item: Payload): PutAcceptedEvent {
    const seq = this.#seq++;
    const held: Held = { seq, id: `${this.#queueId}:${seq}`, item, owner: undefined, acked: false, deliveries: 0, deaths: 0 };
    this.#queued.push(held);
    return { type: 'put-accepted', requestId, client, id: held.id };
  }

  #deliver(events: QueueEvent[]): void {
    for (const [requestId, client] of this.#gets) {
      const held = this.#queued.shift();
      if (held === undefined) break;
      this.#gets.delete(requestId);
      events.push({ type: 'delivered', requestId, client, entry: this.#lease(held, client) });
    }
  }

  #quarantine(held: Held, back: Held[]): void {
    back.splice(back.indexOf(held), 1);
    this.#out.delete(held.id);
    this.#quarantined++;
    this.#untold.push({ id: held.id, deaths: held.deaths });
    this.#onDrop?.(held.item);
  }

  #tell(requestId: number, client: ClientId): QuarantinedEvent {
    const { id, deaths } = this.#untold.shift() as Untold;
    return { type: 'quarantined', requestId, client, id, deaths };
  }

  /** Quarantined items are told to parked gets before any item is delivered. */
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
    booksOf(this.#books, client).leased.add(held);
    this.#leased++;
    return { id: held.id, item: held.item, deliveries: held.deliveries };
  }

  /** Ahead of newer ones, so a death does not reorder the queue. */
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
}
