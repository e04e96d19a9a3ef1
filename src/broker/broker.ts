/**
 * The owner's side of every Queue, Lock, Semaphore, Event and Barrier a process
 * creates. It runs in the broker thread (broker/thread.ts), never on the
 * owner's main thread, so a parent busy in CPU work does not stall its
 * children's traffic.
 *
 * Each peer connection is one client of the state machines (queue/state.ts,
 * sync/*-state.ts). A request is answered from the events those return; when
 * a connection drops (the peer died, or sent garbage and was cut off) its
 * debts are settled with `disconnect`: leases released, items put back.
 * Nothing a client holds can outlive its connection, so no death can wedge.
 */
import type { Handle, HandleKind } from '../codec/handles.js';
import { payloadProblem, valueHeaderIn } from '../codec/v8.js';
import { InvalidRequest } from '../internal/owner-state.js';
import { fileRef, OwnerSpills, spillPrefix } from '../queue/spill.js';
import { type FileItem, type Payload, QueueState, type QueueEvent } from '../queue/state.js';
import { BarrierState, EventState, SemaphoreState, type SyncEvent } from '../sync/state.js';
import { verifyProof } from '../transport/auth.js';
import { isBundle, kNoPayload, Outbox, type Part, unbundle } from './bundle.js';
import { type Connection, isPeerFault } from '../transport/connection.js';
import { encodeHead, encodeText, type Frame, frameLimit, ProtocolViolation } from '../transport/frame.js';
import { kHandshake } from '../transport/handshake.js';
import {
  type BarrierRequest, deliveryFn, encodeRefusal, type EventRequest, isBarrierRequest, isEventRequest, isLockRequest, isQueueRequest, isRequest,
  kAnswer, kBundle, kRequest, type LockRequest, mayWait, type ObjectRequest, quarantineRefusal, type QueueRequest,
} from './protocol.js';
import { unreachable } from '../internal/unreachable.js';

/** What the owner's main thread tells the broker about a new object. */
export type ObjectSpec = Pick<Handle, 'kind' | 'object' | 'secret' | 'maxMessageBytes' | 'size'>;

type State = QueueState | SemaphoreState | EventState | BarrierState;

interface Entry {
  readonly spec: ObjectSpec;
  readonly state: State;
  /** Peers that opened it: the ones whose death it must hear of. */
  readonly peers: Set<Peer>;
}

interface Peer {
  readonly id: number;
  readonly connection: Connection;
  readonly nonce: Buffer;
  /** The start of the names of its files of large items (queue/spill.ts), from its nonce. */
  readonly filePrefix: string;
  readonly opened: Map<string, Entry>;
  /** The peer's own request ids of its unanswered requests, to the broker's. */
  readonly requests: Map<number, number>;
  /** Answers waiting for the end of this turn, written together. */
  readonly out: Outbox;
  /** The largest maxMessageBytes of the objects it opened: what its link takes in one frame. */
  maxBytes: number;
  /** The peer's process id, as its link announced it (kRequest.PeerPid): only for `procsafe status`. */
  pid: number | undefined;
  /** Whether the peer can read the files of large items (kRequest.PeerPid says); if not, it gets their bytes. */
  seesFiles: boolean;
}

/** Who asked: the states see broker-wide request ids; each peer numbers its own. */
interface Origin {
  readonly peer: Peer;
  readonly id: number;
}


/** Items this small are copied out of the socket chunk they arrived in, so they do not pin it. */
const kCopyBelow = 64 * 1024;
/** Frames from peers this large or larger reach the broker in the pieces they came in (see putItem). */
export const kPiecesFrom = 64 * 1024;

export interface BrokerOptions {
  /** Reads announcements still in flight from the main thread (an object created a moment ago). */
  readonly drain: () => void;
  readonly log: (message: string) => void;
  /** The files of large items put through shared memory (queue/spill.ts). */
  readonly spills: OwnerSpills;
}

export class Broker {
  readonly #entries = new Map<string, Entry>();
  readonly #peers = new Map<number, Peer>();
  readonly #dirty = new Set<Peer>();
  /** Peers with only answers nobody is blocked on yet (a put accepted): written after the others. */
  readonly #late = new Set<Peer>();
  readonly #origins = new Map<number, Origin>();
  /** Live peers by the prefix of their files' names (queue/spill.ts). */
  readonly #byPrefix = new Map<string, Peer>();
  #nextRequest = 1;
  /**
   * The waiting-kind request being handled now (0: none), from whom and under which
   * id of theirs: booked as waiting only if it is still unanswered once handled.
   */
  #arriving = 0;
  #arrivingFrom: Peer | undefined;
  #arrivingId = 0;
  readonly #options: BrokerOptions;
  #flushQueued = false;

  constructor(options: BrokerOptions) {
    this.#options = options;
  }

  /** Registers an object created by the owner's main thread. */
  create(spec: ObjectSpec): void {
    if (this.#entries.has(spec.object)) return;
    this.#entries.set(spec.object, { spec, state: newState(spec, (item) => this.#dropFile(item)), peers: new Set() });
  }

  /** Whether `proof` shows the peer holds the secret of `object`. */
  verify(object: string, nonce: Buffer, proof: Buffer): boolean {
    const entry = this.#entry(object);
    return entry !== undefined && verifyProof(entry.spec.secret, nonce, proof);
  }

  /** A proven peer, which opened `object`. */
  accept(connection: Connection, id: number, opened: { object: string; nonce: Buffer }): void {
    const peer: Peer = { id, connection, nonce: opened.nonce, filePrefix: spillPrefix(opened.nonce), opened: new Map(), requests: new Map(), out: new Outbox(), maxBytes: 0, pid: undefined, seesFiles: false };
    this.#peers.set(id, peer);
    this.#byPrefix.set(peer.filePrefix, peer);
    this.#open(peer, this.#entry(opened.object) as Entry);
    connection.listen({
      frame: (frame) => {
        try {
          this.#request(peer, frame);
        } catch (error) {
          // A well-formed peer never gets here: it is garbage, or a bug on the other side. Cut it off alone.
          connection.destroy(error instanceof ProtocolViolation ? error : new ProtocolViolation((error as Error).message));
        }
      },
      close: (reason) => this.#gone(peer, reason),
    });
  }

  /**
   * A JSON-safe picture of every object, for `procsafe status`, each client named
   * by its pid where its link announced one (as in each object's `inspect()`).
   */
  inspect(): unknown {
    // spec.kind last: a Lock is a semaphore of one inside, but status must call it a lock.
    return [...this.#entries.values()].map(({ spec, state }) => withPids({ object: spec.object, ...state.inspect(), kind: spec.kind }, this.#peers));
  }

  #entry(object: string): Entry | undefined {
    if (!this.#entries.has(object)) this.#options.drain();
    return this.#entries.get(object);
  }

  #open(peer: Peer, entry: Entry): void {
    peer.opened.set(entry.spec.object, entry);
    entry.peers.add(peer);
    // The link's frame limit is the largest of the objects it opened (plus room for the header).
    let max = 0;
    for (const opened of peer.opened.values()) max = Math.max(max, opened.spec.maxMessageBytes);
    peer.maxBytes = max;
    peer.connection.maxMessageBytes = frameLimit(max);
  }

  #gone(peer: Peer, reason: Error | undefined): void {
    // A peer that died is ordinary (its debts are settled below); one that broke the protocol is worth a line.
    if (isPeerFault(reason)) {
      this.#options.log(`cut off peer ${peer.id}: ${reason.message}`);
    }
    this.#peers.delete(peer.id);
    this.#byPrefix.delete(peer.filePrefix);
    this.#dirty.delete(peer);
    this.#late.delete(peer);
    for (const request of peer.requests.values()) this.#origins.delete(request);
    peer.requests.clear();
    let queues = false;
    for (const entry of peer.opened.values()) {
      entry.peers.delete(peer);
      queues ||= entry.state instanceof QueueState;
      this.#answer(entry.state.disconnect(peer.id));
    }
    // Files it wrote and never put (it died in between): no one else will ever name them.
    // Only a queue's client writes any, so a lock's client costs no directory read.
    if (queues) this.#options.spills.sweep(peer.filePrefix);
  }

  #request(peer: Peer, frame: Frame): void {
    const { type } = frame;
    // Each part is handled as the frame it stands for (transport/bundle.ts).
    if (isBundle(type)) return unbundle(frame, (part) => this.#request(peer, part));
    if (type === kHandshake.Auth) {
      const entry = this.#entry(frame.fn);
      if (entry === undefined || !verifyProof(entry.spec.secret, peer.nonce, frame.payload)) {
        throw new ProtocolViolation(`wrong proof of the secret for object ${JSON.stringify(frame.fn)}`);
      }
      this.#open(peer, entry);
      return;
    }
    if (!isRequest(type)) throw new ProtocolViolation(`frame type ${type} is not a request`);
    if (type === kRequest.PeerPid) {
      // Status only: who this connection is. Sent once, first; not about any object.
      if (frame.payload.length !== 5) throw new ProtocolViolation('a pid announcement carries a u32 pid and a u8 flag');
      peer.pid = frame.payload.readUInt32BE(0);
      peer.seesFiles = frame.payload[4] === 1;
      return;
    }
    const entry = peer.opened.get(frame.fn);
    if (entry === undefined) throw new ProtocolViolation(`request type ${type} for object ${JSON.stringify(frame.fn)}, which this peer has not opened`);
    const { state } = entry;
    const { id } = frame;
    try {
      if (type === kRequest.CancelRequest) {
        // Not waiting any more means it was answered already: the answer is on its way.
        const request = peer.requests.get(id);
        return request === undefined ? undefined : this.#answer(state.cancel(request));
      }
      // Every kind answers inspect alike: its state's picture, clients named by pid.
      if (type === kRequest.Inspect) return this.#send(peer, [value(id, withPids(state.inspect(), this.#peers))]);
      if (!mayWait(type)) return this.#handle(peer, entry, type, frame, id);
      // Requests that may wait are answered through the states' events, under broker-wide ids.
      // Most are answered at once (a put with room, a get with an item queued): only one that
      // is still unanswered afterwards goes into the books of waiting requests.
      if (peer.requests.has(id)) throw new ProtocolViolation(`request id ${id} reused while that request still waits`);
      const request = this.#nextRequest++;
      this.#arriving = request;
      this.#arrivingFrom = peer;
      this.#arrivingId = id;
      try {
        this.#handle(peer, entry, type, frame, request);
        if (this.#arriving === request) {
          peer.requests.set(id, request);
          this.#origins.set(request, { peer, id });
        }
      } finally {
        this.#arriving = 0;
        this.#arrivingFrom = undefined;
      }
    } catch (error) {
      // A request that does not match what the peer holds (a double taskDone): refuse it, keep the peer.
      if (!(error instanceof InvalidRequest)) throw error;
      this.#send(peer, [encodeRefusal(id, 'invalid', error.message)]);
    }
  }

  #handle(peer: Peer, entry: Entry, type: ObjectRequest, frame: Frame, request: number): void {
    const { state } = entry;
    if (state instanceof QueueState) {
      if (!isQueueRequest(type)) throw new ProtocolViolation(`request type ${type} is not a queue request`);
      return this.#queue(peer, entry, state, type, frame, request);
    }
    if (state instanceof SemaphoreState) {
      if (!isLockRequest(type)) throw new ProtocolViolation(`request type ${type} is not a lock request`);
      return this.#semaphore(peer, state, type, frame, request);
    }
    if (state instanceof EventState) {
      if (!isEventRequest(type)) throw new ProtocolViolation(`request type ${type} is not an event request`);
      return this.#event(peer, state, type, request);
    }
    if (!isBarrierRequest(type)) throw new ProtocolViolation(`request type ${type} is not a barrier request`);
    return this.#barrier(peer, state, type, request);
  }

  #queue(peer: Peer, entry: Entry, state: QueueState, type: QueueRequest, { payload, more }: Frame, id: number): void {
    switch (type) {
      case kRequest.Put: case kRequest.PutNowait: {
        const item = putItem(payload, more);
        return this.#answer(nowait(state.put(peer.id, id, item), state, id, type === kRequest.PutNowait));
      }
      case kRequest.PutFile: case kRequest.PutFileNowait: {
        const item = this.#options.spills.accept(peer.filePrefix, payload.toString('utf8'), entry.spec.maxMessageBytes);
        return this.#answer(nowait(state.put(peer.id, id, item), state, id, type === kRequest.PutFileNowait));
      }
      case kRequest.Get: case kRequest.GetNowait: return this.#answer(nowait(state.get(peer.id, id), state, id, type === kRequest.GetNowait));
      case kRequest.Ack: return this.#answer(state.ack(peer.id, payload.toString('utf8')));
      case kRequest.Release: return this.#answer(state.release(peer.id, payload.toString('utf8').split('\n')));
      case kRequest.TaskDone: return this.#answer(state.taskDone(peer.id, payload.length === 0 ? undefined : payload.toString('utf8')));
      case kRequest.Join: return this.#answer(state.join(peer.id, id));
      case kRequest.Close: {
        const events = state.close();
        this.#send(peer, [done(id)]);
        return this.#answer(events);
      }
      case kRequest.Stats: return this.#send(peer, [value(id, { qsize: state.qsize(), full: state.full(), closed: state.closed })]);
      default: return unreachable(type, 'queue request');
    }
  }

  #semaphore(peer: Peer, state: SemaphoreState, type: LockRequest, { payload }: Frame, id: number): void {
    switch (type) {
      case kRequest.Acquire: case kRequest.AcquireNowait:
        return this.#answer(nowait(state.acquire(peer.id, id), state, id, type === kRequest.AcquireNowait));
      case kRequest.ReleaseLease: {
        // A 5th byte 1: a late grant handed back unseen (broker/link.ts), its previousOwnerDied kept for the next holder.
        if (payload.length !== 4 && payload.length !== 5) throw new ProtocolViolation('a lease release carries a 4-byte lease id and an optional flag byte');
        return this.#answer(state.release(peer.id, payload.readUInt32BE(0), payload[4] === 1));
      }
      case kRequest.AddPermits: {
        if (payload.length !== 4) throw new ProtocolViolation('a release of permits carries a 4-byte count');
        const events = state.add(payload.readUInt32BE(0));
        this.#send(peer, [done(id)]);
        return this.#answer(events);
      }
      case kRequest.Stats: return this.#send(peer, [value(id, state.free)]);
      default: return unreachable(type, 'lock request');
    }
  }

  #event(peer: Peer, state: EventState, type: EventRequest, id: number): void {
    switch (type) {
      case kRequest.Set: {
        const events = state.set();
        this.#send(peer, [done(id)]);
        return this.#answer(events);
      }
      case kRequest.Clear: state.clear(); return this.#send(peer, [done(id)]);
      case kRequest.Wait: return this.#answer(state.wait(peer.id, id));
      case kRequest.Stats: return this.#send(peer, [value(id, state.isSet())]);
      default: return unreachable(type, 'event request');
    }
  }

  #barrier(peer: Peer, state: BarrierState, type: BarrierRequest, id: number): void {
    switch (type) {
      case kRequest.Wait: return this.#answer(state.wait(peer.id, id));
      case kRequest.Abort: case kRequest.Reset: {
        const events = type === kRequest.Abort ? state.abort() : state.reset();
        this.#send(peer, [done(id)]);
        return this.#answer(events);
      }
      case kRequest.Stats: return this.#send(peer, [value(id, { broken: state.broken, waiting: state.inspect().waiters.length })]);
      default: return unreachable(type, 'barrier request');
    }
  }

  /**
   * A file item left its queue for good. Its writer, if still connected, gets the
   * file back to write a later item into (a fresh tmpfs file costs the kernel far
   * more than the copy); otherwise it is deleted.
   */
  #dropFile(item: FileItem): void {
    const writer = this.#byPrefix.get(item.file.slice(0, item.file.indexOf('-')));
    if (writer === undefined) return this.#options.spills.drop(item);
    this.#options.spills.giveBack(item);
    this.#send(writer, [encodeText(kAnswer.FileFree, 0, '', fileRef(item))], true);
  }

  /** Turns state events into answers on their clients' links. */
  #answer(events: readonly (QueueEvent | SyncEvent)[]): void {
    for (const event of events) {
      // Every event is the final answer to its request. Events only name live
      // clients (a disconnect removes the dead one's requests first).
      let peer: Peer;
      let requestId: number;
      if (event.requestId === this.#arriving && this.#arrivingFrom !== undefined) {
        // The request being handled, answered at once: it was never booked.
        peer = this.#arrivingFrom;
        requestId = this.#arrivingId;
        this.#arriving = 0;
      } else {
        const origin = this.#origins.get(event.requestId);
        if (origin === undefined) continue;
        this.#origins.delete(event.requestId);
        origin.peer.requests.delete(origin.id);
        ({ peer, id: requestId } = origin);
      }
      switch (event.type) {
        // Last in the turn: the reader that was waiting for this item is woken first (see #flush).
        // The item's id is the reader's business (getEntry): the writer only needs to know it is held.
        case 'put-accepted': this.#sendPart(peer, { bundle: kBundle.Done, object: '', id: requestId, fn: '', payload: kNoPayload }, true); break;
        case 'delivered': {
          const { item, id, deliveries } = event.entry;
          const fn = deliveryFn(deliveries, id);
          if (item instanceof Uint8Array) {
            this.#sendPart(peer, { bundle: kBundle.Delivered, object: '', id: requestId, fn, payload: [item] });
          } else if (isFileItem(item)) {
            const bytes = peer.seesFiles ? undefined : this.#options.spills.read(item);
            if (bytes === undefined) this.#send(peer, [encodeText(kAnswer.DeliveredFile, requestId, fn, fileRef(item))]);
            else this.#send(peer, [encodeHead(kAnswer.Delivered, requestId, fn, bytes.length, 0), bytes]);
          } else {
            // A large item goes out in the pieces it came in (writev), never joined here.
            let length = 0;
            for (const piece of item) length += piece.length;
            this.#send(peer, [encodeHead(kAnswer.Delivered, requestId, fn, length, 0), ...item]);
          }
          break;
        }
        case 'joined': case 'woken': this.#send(peer, [done(requestId)]); break;
        case 'closed': this.#send(peer, [encodeRefusal(requestId, 'closed', `the queue is closed${event.request === 'get' ? ' and drained' : ''}`)]); break;
        case 'cancelled': this.#send(peer, [encodeRefusal(requestId, 'cancelled', 'cancelled')]); break;
        case 'quarantined': this.#send(peer, [quarantineRefusal(requestId, event.id, event.deaths)]); break;
        case 'broken': this.#send(peer, [encodeRefusal(requestId, 'broken', 'the barrier is broken')]); break;
        case 'granted': {
          const frame = encodeHead(kAnswer.Granted, requestId, '', 5);
          frame.writeUInt32BE(event.leaseId, frame.length - 5);
          frame[frame.length - 1] = event.previousOwnerDied ? 1 : 0;
          this.#send(peer, [frame]);
          break;
        }
        case 'passed': {
          const frame = encodeHead(kAnswer.Passed, requestId, '', 4);
          frame.writeUInt32BE(event.index, frame.length - 4);
          this.#send(peer, [frame]);
          break;
        }
      }
    }
  }

  /**
   * Queues frames for a peer; everything for one peer in one turn goes out in one write.
   * `late`: nothing waits on these frames yet (a put's acceptance): the turn's other writes
   * go first, so that the reader a put unblocked is woken before the writer is (on two
   * cores, waking the writer first lets it take the core the reader needs).
   */
  #send(peer: Peer, frames: Buffer[], late = false): void {
    for (const frame of frames) peer.out.push(frame);
    this.#queueFlush(peer, late);
  }

  /** As #send, for an answer that travels in a bundle with the others of its kind in this turn. */
  #sendPart(peer: Peer, part: Part, late = false): void {
    peer.out.pushPart(part);
    this.#queueFlush(peer, late);
  }

  #queueFlush(peer: Peer, late: boolean): void {
    (late ? this.#late : this.#dirty).add(peer);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    // A peer in both sets gets all its frames, in order, in the first pass.
    flushPeers(this.#dirty);
    flushPeers(this.#late);
  }
}

/** Writes each peer's queued frames in one send, and empties the set. */
function flushPeers(peers: Set<Peer>): void {
  for (const peer of peers) {
    if (!peer.out.empty) peer.connection.send(peer.out.take(peer.maxBytes));
  }
  peers.clear();
}

/**
 * A put's payload as the owner keeps it, checked to be a serialized value. Small
 * ones are copied out of the socket's chunk (so a kept item does not pin 64 KiB);
 * large ones stay in the pieces they arrived in (the decoder's `more`), unjoined,
 * unless the value's header runs past the first piece (then they are joined).
 */
function putItem(payload: Buffer, more: readonly Buffer[] | undefined): Buffer | readonly Buffer[] {
  let first = payload;
  let rest = more;
  if (rest !== undefined && !valueHeaderIn(first)) {
    first = Buffer.concat([first, ...rest]);
    rest = undefined;
  }
  let length = first.length;
  for (const piece of rest ?? []) length += piece.length;
  const problem = payloadProblem(first, length);
  if (problem !== undefined) throw new ProtocolViolation(`a put of ${length} bytes is not a serialized value: ${problem}`);
  if (rest !== undefined) return [first, ...rest];
  return first.length < kCopyBelow ? Buffer.from(first) : first;
}

/** Adds `pid` next to every `client` id in a snapshot (arrays of `{ client, … }` one level down). */
function withPids<T extends object>(snapshot: T, peers: ReadonlyMap<number, Peer>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(snapshot)) {
    out[key] = Array.isArray(value)
      ? value.map((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null || !('client' in entry)) return entry;
        return { ...entry, pid: peers.get((entry as { client: number }).client)?.pid ?? null };
      })
      : value;
  }
  return out as T;
}

function isFileItem(item: Payload): item is FileItem {
  return !(item instanceof Uint8Array) && !Array.isArray(item);
}

function newState(spec: ObjectSpec, dropFile: (item: FileItem) => void): State {
  const kind: HandleKind = spec.kind;
  switch (kind) {
    case 'queue': case 'joinable-queue':
      return new QueueState({
        maxsize: spec.size, joinable: kind === 'joinable-queue', queueId: `q${spec.object}`,
        onDrop: (item) => { if (isFileItem(item)) dropFile(item); },
      });
    case 'semaphore': return new SemaphoreState(spec.size);
    // A Lock never holds two permits: it is bounded at its one.
    case 'lock': case 'bounded-semaphore': return new SemaphoreState(spec.size, true);
    case 'event': return new EventState();
    case 'barrier': return new BarrierState(spec.size);
  }
}

/** A *Nowait request that got no answer at once is cancelled: its client hears `cancelled` and knows why. */
function nowait<E extends { requestId: number }>(events: E[], state: { cancel(id: number): readonly unknown[] }, id: number, isNowait: boolean): E[] {
  if (!isNowait || events.some((event) => event.requestId === id)) return events;
  return [...events, ...(state.cancel(id) as E[])];
}

function done(id: number): Buffer {
  return encodeHead(kAnswer.Done, id, '', 0);
}

function value(id: number, data: unknown): Buffer {
  return encodeText(kAnswer.Value, id, '', JSON.stringify(data));
}
