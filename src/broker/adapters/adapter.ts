/**
 * What the broker core (broker/broker.ts) sees of one object: its kind's adapter turns
 * decoded requests into calls on the state machine (queue/state.ts, sync/*-state.ts) and
 * the events those return into answers. Connections, authentication, bundles and request
 * routing stay in the core.
 */
import type { Handle } from '../../codec/handles.js';
import type { OwnerSpills } from '../../queue/spill.js';
import type { Part } from '../bundle.js';
import { encodeHead, encodeText, type Frame } from '../../transport/frame.js';
import { kAnswer, type ObjectRequest } from '../protocol.js';

/** What the owner's main thread tells the broker about a new object. */
export type ObjectSpec = Pick<Handle, 'kind' | 'object' | 'secret' | 'maxMessageBytes' | 'size'>;

export interface Client {
  readonly id: number;
  /** The start of the names of its files of large items (queue/spill.ts), from its nonce. */
  readonly filePrefix: string;
  /** The peer's process id, as its link announced it (kRequest.PeerPid): only for `procsafe status`. */
  readonly pid: number | undefined;
  /** Whether the peer can read the files of large items (kRequest.PeerPid says); if not, it gets their bytes. */
  readonly seesFiles: boolean;
}

/** Who asked: the states see broker-wide request ids; each peer numbers its own. */
export interface Origin {
  readonly client: Client;
  readonly id: number;
}

export interface Host {
  readonly spills: OwnerSpills;
  /** The owner's directory under /dev/shm (transport/shared-dir.ts): lock words live there. */
  readonly sharedDir: string;
  /** Who gets the answer to broker-wide `request` (none if gone), forgotten at once: every event is its request's final answer. */
  settle(request: number): Origin | undefined;
  /** The live client whose files of large items have this prefix. */
  writer(filePrefix: string): Client | undefined;
  /** Everything for one client in one turn goes out in one write; `late`: nobody waits on these yet. */
  send(client: Client, frames: Buffer[], late?: boolean): void;
  /** As send, for an answer that travels in a bundle with the others of its kind in this turn. */
  sendPart(client: Client, part: Part, late?: boolean): void;
}

export interface ObjectAdapter {
  readonly spec: ObjectSpec;
  /** Whether its clients write files of large items, which the core sweeps when they die. */
  readonly spills: boolean;
  connect(client: Client): void;
  /** Settles a gone client's debts (leases released, items put back): nothing it holds outlives its connection. */
  disconnect(client: Client): void;
  /** `request`: the broker-wide id for a request that may wait, else the client's own id. */
  handle(client: Client, type: ObjectRequest, frame: Frame, request: number): void;
  cancel(request: number): void;
  /** The state's picture, every client named by its pid where its link announced one. */
  inspect(): object;
}

interface StateOf<E> {
  cancel(requestId: number): readonly E[];
  disconnect(client: number): readonly E[];
  inspect(): object;
}

/** What every kind's adapter shares: the clients it knows and the answers to its state's events. */
export abstract class Adapter<E extends { readonly requestId: number }, S extends StateOf<E> = StateOf<E>> implements ObjectAdapter {
  readonly spec: ObjectSpec;
  readonly spills: boolean = false;
  protected readonly state: S;
  protected readonly host: Host;
  readonly #clients = new Map<number, Client>();

  constructor(spec: ObjectSpec, state: S, host: Host) {
    this.spec = spec;
    this.state = state;
    this.host = host;
  }

  abstract handle(client: Client, type: ObjectRequest, frame: Frame, request: number): void;

  protected abstract reply(client: Client, id: number, event: E): void;

  connect(client: Client): void {
    this.#clients.set(client.id, client);
  }

  disconnect(client: Client): void {
    this.#clients.delete(client.id);
    this.answer(this.state.disconnect(client.id));
  }

  cancel(request: number): void {
    this.answer(this.state.cancel(request));
  }

  inspect(): object {
    return withPids(this.state.inspect(), this.#clients);
  }

  /** The pid a client announced (null if none, or gone). */
  protected pidOf(client: number): number | null {
    return this.#clients.get(client)?.pid ?? null;
  }

  protected answer(events: readonly E[]): void {
    for (const event of events) {
      const origin = this.host.settle(event.requestId);
      if (origin !== undefined) this.reply(origin.client, origin.id, event);
    }
  }

  /** Answers the request `id` itself first, then those its `events` settled. */
  protected doneThen(client: Client, id: number, events: readonly E[]): void {
    this.host.send(client, [done(id)]);
    this.answer(events);
  }

  /** A *Nowait request that got no answer at once is cancelled: its client hears `cancelled` and knows why. */
  protected nowait(events: readonly E[], request: number, isNowait: boolean): readonly E[] {
    if (!isNowait || events.some((event) => event.requestId === request)) return events;
    return [...events, ...this.state.cancel(request)];
  }
}

/** Adds `pid` next to every `client` id in a snapshot (arrays of `{ client, … }` one level down). */
function withPids<T extends object>(snapshot: T, clients: ReadonlyMap<number, Client>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(snapshot)) {
    out[key] = Array.isArray(value)
      ? value.map((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null || !('client' in entry)) return entry;
        return { ...entry, pid: clients.get((entry as { client: number }).client)?.pid ?? null };
      })
      : value;
  }
  return out as T;
}

export function done(id: number): Buffer {
  return encodeHead(kAnswer.Done, id, '', 0);
}

export function value(id: number, data: unknown): Buffer {
  return encodeText(kAnswer.Value, id, '', JSON.stringify(data));
}
