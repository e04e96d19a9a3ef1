/**
 * The owner's side of every Queue, Lock, Semaphore, Event and Barrier a process
 * creates. It runs in the broker thread (broker/thread.ts), never on the owner's
 * main thread, so a parent busy in CPU work does not stall its children's traffic.
 *
 * Each peer connection is one client of the objects it opened, each spoken to
 * through its kind's adapter (broker/adapters/). When a connection drops (the
 * peer died, or sent garbage and was cut off) every object it opened settles
 * its debts: leases released, items put back. Nothing a client holds can
 * outlive its connection, so no death can wedge.
 */
import { InvalidRequest } from '../internal/owner-state.js';
import { OwnerSpills, spillPrefix } from '../queue/spill.js';
import { verifyProof } from '../transport/auth.js';
import { isBundle, Outbox, type Part, unbundle } from './bundle.js';
import { type Connection, isPeerFault } from '../transport/connection.js';
import { type Frame, frameLimit, ProtocolViolation } from '../transport/frame.js';
import { kHandshake } from '../transport/handshake.js';
import { type Client, type Host, newAdapter, type ObjectAdapter, type ObjectSpec, value } from './adapters/index.js';
import { encodeRefusal, isRequest, kRequest, mayWait } from './protocol.js';
import type { ClientPaths } from './status-server.js';

export type { ObjectSpec } from './adapters/index.js';

interface Peer extends Client {
  readonly connection: Connection;
  readonly nonce: Buffer;
  readonly opened: Map<string, ObjectAdapter>;
  /** The peer's own request ids of its unanswered requests, to the broker's. */
  readonly requests: Map<number, number>;
  /** Answers waiting for the end of this turn, written together. */
  readonly out: Outbox;
  /** The largest maxMessageBytes of the objects it opened: what its link takes in one frame. */
  maxBytes: number;
  pid: number | undefined;
  seesFiles: boolean;
}

interface Origin {
  readonly client: Peer;
  readonly id: number;
}

/** Frames from peers this large or larger reach the broker in the pieces they came in (see adapters/queue.ts). */
export const kPiecesFrom = 64 * 1024;

export interface BrokerOptions {
  /** Reads announcements still in flight from the main thread (an object created a moment ago). */
  readonly drain: () => void;
  readonly log: (message: string) => void;
  /** The files of large items put through shared memory (queue/spill.ts). */
  readonly spills: OwnerSpills;
  /** The owner's directory under /dev/shm: lock words live there. */
  readonly sharedDir: string;
}

export class Broker {
  readonly #objects = new Map<string, ObjectAdapter>();
  readonly #peers = new Map<number, Peer>();
  readonly #dirty = new Set<Peer>();
  /** Peers with only answers nobody is blocked on yet (a put accepted): written after the others. */
  readonly #late = new Set<Peer>();
  readonly #origins = new Map<number, Origin>();
  readonly #byPrefix = new Map<string, Peer>();
  #nextRequest = 1;
  /** The waiting-kind request being handled now (0: none): booked as waiting only if still unanswered once handled. */
  #arriving = 0;
  #arrivingFrom: Origin | undefined;
  readonly #options: BrokerOptions;
  readonly #host: Host;
  #flushQueued = false;

  constructor(options: BrokerOptions) {
    this.#options = options;
    // Adapters only ever hold the peers the broker gave them.
    this.#host = {
      spills: options.spills,
      sharedDir: options.sharedDir,
      settle: (request) => this.#settle(request),
      writer: (filePrefix) => this.#byPrefix.get(filePrefix),
      send: (client, frames, late) => this.#send(client as Peer, frames, late),
      sendPart: (client, part, late) => this.#sendPart(client as Peer, part, late),
    };
  }

  create(spec: ObjectSpec): void {
    if (this.#objects.has(spec.object)) return;
    this.#objects.set(spec.object, newAdapter(spec, this.#host));
  }

  verify(object: string, nonce: Buffer, proof: Buffer): boolean {
    const adapter = this.#object(object);
    return adapter !== undefined && verifyProof(adapter.spec.secret, nonce, proof);
  }

  /** A proven peer, which opened `object`. */
  accept(connection: Connection, id: number, opened: { object: string; nonce: Buffer }): void {
    const peer: Peer = {
      id, connection, nonce: opened.nonce, filePrefix: spillPrefix(opened.nonce), opened: new Map(), requests: new Map(),
      out: new Outbox(), maxBytes: 0, pid: undefined, seesFiles: false,
    };
    this.#peers.set(id, peer);
    this.#byPrefix.set(peer.filePrefix, peer);
    this.#open(peer, this.#object(opened.object) as ObjectAdapter);
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

  /** How many clients talk through lanes, and how many through the socket alone (no addon on one side). */
  paths(): ClientPaths {
    let lanes = 0;
    for (const peer of this.#peers.values()) if (peer.connection.inLanes) lanes++;
    return { lanes, socket: this.#peers.size - lanes };
  }

  /** A JSON-safe picture of every object, for `procsafe status`. */
  inspect(): unknown {
    // spec.kind last: a Lock is a semaphore of one inside, but status must call it a lock.
    return [...this.#objects.values()].map((adapter) => ({ object: adapter.spec.object, ...adapter.inspect(), kind: adapter.spec.kind }));
  }

  #object(object: string): ObjectAdapter | undefined {
    if (!this.#objects.has(object)) this.#options.drain();
    return this.#objects.get(object);
  }

  #open(peer: Peer, adapter: ObjectAdapter): void {
    peer.opened.set(adapter.spec.object, adapter);
    adapter.connect(peer);
    let max = 0;
    for (const opened of peer.opened.values()) max = Math.max(max, opened.spec.maxMessageBytes);
    peer.maxBytes = max;
    peer.connection.maxMessageBytes = frameLimit(max);
  }

  #gone(peer: Peer, reason: Error | undefined): void {
    // A peer that died is ordinary (its debts are settled below); one that broke the protocol is worth a line.
    if (isPeerFault(reason)) this.#options.log(`cut off peer ${peer.id}: ${reason.message}`);
    this.#peers.delete(peer.id);
    this.#byPrefix.delete(peer.filePrefix);
    this.#dirty.delete(peer);
    this.#late.delete(peer);
    // Its requests go first, so that the answers its objects' disconnect gives name only live clients.
    for (const request of peer.requests.values()) this.#origins.delete(request);
    peer.requests.clear();
    let spills = false;
    for (const adapter of peer.opened.values()) {
      spills ||= adapter.spills;
      adapter.disconnect(peer);
    }
    // Files it wrote and never put (it died in between): no one else will ever name them.
    // Only a queue's client writes any, so a lock's client costs no directory read.
    if (spills) this.#options.spills.sweep(peer.filePrefix);
  }

  #request(peer: Peer, frame: Frame): void {
    const { type } = frame;
    if (isBundle(type)) return unbundle(frame, (part) => this.#request(peer, part));
    if (type === kHandshake.Auth) {
      const adapter = this.#object(frame.fn);
      if (adapter === undefined || !verifyProof(adapter.spec.secret, peer.nonce, frame.payload)) {
        throw new ProtocolViolation(`wrong proof of the secret for object ${JSON.stringify(frame.fn)}`);
      }
      return this.#open(peer, adapter);
    }
    if (!isRequest(type)) throw new ProtocolViolation(`frame type ${type} is not a request`);
    if (type === kRequest.PeerPid) {
      // Status only: who this connection is. Sent once, first; not about any object.
      if (frame.payload.length !== 5) throw new ProtocolViolation('a pid announcement carries a u32 pid and a u8 flag');
      peer.pid = frame.payload.readUInt32BE(0);
      peer.seesFiles = frame.payload[4] === 1;
      return;
    }
    const adapter = peer.opened.get(frame.fn);
    if (adapter === undefined) {
      throw new ProtocolViolation(`request type ${type} for object ${JSON.stringify(frame.fn)}, which this peer has not opened`);
    }
    const { id } = frame;
    try {
      if (type === kRequest.CancelRequest) {
        // Not waiting any more means it was answered already: the answer is on its way.
        const request = peer.requests.get(id);
        return request === undefined ? undefined : adapter.cancel(request);
      }
      if (type === kRequest.Inspect) return this.#send(peer, [value(id, adapter.inspect())]);
      if (!mayWait(type)) return adapter.handle(peer, type, frame, id);
      // Requests that may wait are answered through the states' events, under broker-wide ids.
      // Most are answered at once (a put with room, a get with an item queued): only one that
      // is still unanswered afterwards goes into the books of waiting requests.
      if (peer.requests.has(id)) throw new ProtocolViolation(`request id ${id} reused while that request still waits`);
      const request = this.#nextRequest++;
      const origin: Origin = { client: peer, id };
      this.#arriving = request;
      this.#arrivingFrom = origin;
      try {
        adapter.handle(peer, type, frame, request);
        if (this.#arriving === request) {
          peer.requests.set(id, request);
          this.#origins.set(request, origin);
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

  #settle(request: number): Origin | undefined {
    if (request === this.#arriving && this.#arrivingFrom !== undefined) {
      // The request being handled, answered at once: it was never booked.
      this.#arriving = 0;
      return this.#arrivingFrom;
    }
    const origin = this.#origins.get(request);
    if (origin === undefined) return undefined;
    this.#origins.delete(request);
    origin.client.requests.delete(origin.id);
    return origin;
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

function flushPeers(peers: Set<Peer>): void {
  for (const peer of peers) {
    if (!peer.out.empty) peer.connection.send(peer.out.take(peer.maxBytes));
  }
  peers.clear();
}
