/**
 * A Pipe end's protocol. A Pipe is two objects here, one per end (end B's id is end A's plus one, see pipe/pipe.ts),
 * sharing two one-way queues: an end puts into its own and gets from the other's, so delivery, leases and a dead
 * reader's items going back are the queue's (queue/state.ts). What the Pipe adds is who holds each end: once nobody
 * does, both queues close, so the other end drains what was sent and then hears `closed` (PipeClosed).
 */
import type { Frame } from '../../transport/frame.js';
import { ProtocolViolation } from '../../transport/frame.js';
import { isPipeRequest, kRequest, type ObjectRequest } from '../protocol.js';
import { unreachable } from '../../internal/unreachable.js';
import { QueueAdapter } from './queue.js';
import type { Client, Host, ObjectAdapter, ObjectSpec } from './adapter.js';

/** One direction of a Pipe: a queue the Pipe closes itself once the end that writes into it is let go of. */
class PipeQueue extends QueueAdapter {
  shut(): void {
    this.answer(this.state.close());
  }
}

interface Holders {
  /** The creating process's copy counts until its `close()`: a handle may be on its way to another process. */
  creator: boolean;
  /** Live copies by client; a client's entry goes with its connection. */
  readonly clients: Map<number, number>;
  /**
   * Copies closed after being sent to another process before any copy had arrived anywhere: each is let go of when the
   * next copy arrives (PipeHold), so the end is not left unheld while its first copy is on its way.
   */
  pending: (number | 'creator')[];
  /** Whether a copy ever arrived in a process (PipeHold). */
  arrived: boolean;
}

interface Core {
  /** [0]: A to B (B reads), [1]: B to A (A reads). */
  readonly queues: readonly [PipeQueue, PipeQueue];
  readonly holders: readonly [Holders, Holders];
  broken: boolean;
}

// One broker per thread, so this map is the broker's own; a Pipe's ends are created in one turn, A first.
const cores = new Map<string, Core>();

/** An end's size (codec/handles.ts): bit 0 the end (0: A, 1: B), bit 1 set when duplex. */
export function pipeEndOf(size: number): { end: 0 | 1; duplex: boolean } {
  return { end: (size & 1) as 0 | 1, duplex: (size & 2) !== 0 };
}

export class PipeAdapter implements ObjectAdapter {
  readonly spec: ObjectSpec;
  readonly spills = true;
  readonly #end: 0 | 1;
  readonly #duplex: boolean;
  readonly #core: Core;

  constructor(spec: ObjectSpec, host: Host) {
    this.spec = spec;
    const { end, duplex } = pipeEndOf(spec.size);
    this.#end = end;
    this.#duplex = duplex;
    const first = end === 0 ? spec.object : String(Number(spec.object) - 1);
    let core = cores.get(first);
    if (core === undefined) {
      const queue = (direction: string): PipeQueue =>
        new PipeQueue({ ...spec, kind: 'queue', size: 0, object: `${first}${direction}` }, host);
      const holders = (): Holders => ({ creator: true, clients: new Map(), pending: [], arrived: false });
      core = { queues: [queue('ab'), queue('ba')], holders: [holders(), holders()], broken: false };
      cores.set(first, core);
    } else if (end === 1) {
      cores.delete(first);
    }
    this.#core = core;
  }

  /** Where this end's sends go, and where its receives come from. */
  get #out(): PipeQueue { return this.#core.queues[this.#end]; }
  get #in(): PipeQueue { return this.#core.queues[1 - this.#end] as PipeQueue; }

  connect(client: Client): void {
    for (const queue of this.#core.queues) queue.connect(client);
  }

  disconnect(client: Client): void {
    const holders = this.#holders;
    holders.clients.delete(client.id);
    holders.pending = holders.pending.filter((who) => who !== client.id);
    for (const queue of this.#core.queues) queue.disconnect(client);
    this.#check();
  }

  handle(client: Client, type: ObjectRequest, frame: Frame, request: number): void {
    if (!isPipeRequest(type)) throw new ProtocolViolation(`request type ${type} is not a pipe request`);
    const { clients } = this.#holders;
    switch (type) {
      case kRequest.PipeHold: {
        clients.set(client.id, (clients.get(client.id) ?? 0) + 1);
        this.#holders.arrived = true;
        const waiting = this.#holders.pending.shift();
        if (waiting !== undefined) this.#letGo(waiting);
        return;
      }
      case kRequest.PipeClose: {
        const who = frame.payload[0] === 1 ? 'creator' : client.id;
        const sentAway = frame.payload[1] === 1;
        if (sentAway && !this.#holders.arrived) this.#holders.pending.push(who);
        else this.#letGo(who);
        return this.#check();
      }
      case kRequest.Put: case kRequest.PutNowait: case kRequest.PutFile: case kRequest.PutFileNowait:
        // A one-way Pipe's A end only receives: its client refuses the call first, so this is not a well-behaved peer.
        if (!this.#duplex && this.#end === 0) throw new ProtocolViolation('a put on the receive-only end of a one-way pipe');
        return this.#out.handle(client, type, frame, request);
      case kRequest.Get: case kRequest.GetNowait: case kRequest.Ack: case kRequest.Release: case kRequest.TaskDone:
      case kRequest.Join: case kRequest.Close: case kRequest.Stats: case kRequest.Leave:
        return this.#in.handle(client, type, frame, request);
      default: return unreachable(type, 'pipe request');
    }
  }

  cancel(request: number): void {
    for (const queue of this.#core.queues) queue.cancel(request);
  }

  inspect(): object {
    const { holders, broken } = this.#core;
    const { creator, clients, pending } = holders[this.#end];
    return {
      end: this.#end === 0 ? 'a' : 'b', duplex: this.#duplex, broken, creatorHolds: creator, closedInTransit: pending.length,
      holders: [...clients].map(([client, copies]) => ({ client, copies })), in: this.#in.inspect(), out: this.#out.inspect(),
    };
  }

  get #holders(): Holders { return this.#core.holders[this.#end]; }

  #letGo(who: number | 'creator'): void {
    const holders = this.#holders;
    if (who === 'creator') {
      holders.creator = false;
      return;
    }
    const left = (holders.clients.get(who) ?? 0) - 1;
    if (left > 0) holders.clients.set(who, left);
    else holders.clients.delete(who);
  }

  /** Nobody holds this end any more: the other end drains what is left, then hears `closed`; its sends are refused. */
  #check(): void {
    const { creator, clients, pending } = this.#holders;
    if (this.#core.broken || creator || clients.size > 0 || pending.length > 0) return;
    this.#core.broken = true;
    for (const queue of this.#core.queues) queue.shut();
  }
}
