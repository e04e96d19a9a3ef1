/**
 * A Lock's, Semaphore's or BoundedSemaphore's protocol, over its SemaphoreState. A Lock also has a word in shared memory
 * (sync/lock-word.ts): while nobody waits, its clients acquire and release it with one CAS each and the state machine
 * never hears of it. The word is handed to the state machine ("governed") the moment the owner must act: a client that
 * found it held asks the owner, which marks the fast holder contended and books its hold as a lease (`#adopted`), so
 * that waiters queue behind it in order and its release, its death or a timeout settle through the state as any other.
 * Once the state is idle again the word goes back to the clients.
 */
import { unreachable } from '../../internal/unreachable.js';
import { type SemaphoreEvent, SemaphoreState } from '../../sync/state.js';
import { encodeHead, type Frame, ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isLockRequest, kAnswer, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, type Host, type ObjectSpec, value } from './adapter.js';
import { isGoverned, OwnerWord } from './owner-word.js';

/** Request ids of the leases that stand for fast holds: above every broker request id, never answered. */
let nextAdoption = 2 ** 48;

export class LockAdapter extends Adapter<SemaphoreEvent, SemaphoreState> {
  /** undefined: not asked for yet; null: none can be made here (no addon or directory). */
  #word: OwnerWord | null | undefined;
  /** The fast hold booked as a lease when others came to wait behind it. */
  #adopted: { readonly client: number; readonly leaseId: number } | undefined;
  /** A grant just made to a client that has the word: its hold goes into the word (see #settleWord). */
  #handoff: { readonly client: number; readonly leaseId: number } | undefined;
  /** Clients told where the word is: their grants are handed over into it, and they release with a CAS. */
  readonly #wordClients = new Set<number>();

  constructor(spec: ObjectSpec, host: Host) {
    // Only a plain Semaphore is unbounded: a Lock never holds two permits, it is bounded at its one.
    super(spec, new SemaphoreState(spec.size, spec.kind !== 'semaphore'), host);
  }

  handle(client: Client, type: ObjectRequest, { payload }: Frame, id: number): void {
    if (!isLockRequest(type)) throw new ProtocolViolation(`request type ${type} is not a lock request`);
    const { state } = this;
    switch (type) {
      case kRequest.Acquire: case kRequest.AcquireNowait:
        this.#govern();
        this.answer(this.nowait(state.acquire(client.id, id), id, type === kRequest.AcquireNowait));
        return this.#settleWord();
      case kRequest.ReleaseLease: {
        // A 5th byte 1: a late grant handed back unseen (broker/link.ts), its previousOwnerDied kept for the next holder.
        if (payload.length !== 4 && payload.length !== 5) {
          throw new ProtocolViolation('a lease release carries a 4-byte lease id and an optional flag byte');
        }
        this.answer(state.release(client.id, payload.readUInt32BE(0), payload[4] === 1));
        return this.#settleWord();
      }
      case kRequest.AddPermits:
        if (payload.length !== 4) throw new ProtocolViolation('a release of permits carries a 4-byte count');
        this.#govern();
        this.doneThen(client, id, state.add(payload.readUInt32BE(0)));
        return this.#settleWord();
      case kRequest.Stats: return this.host.send(client, [value(id, this.#word?.fastHolder() !== undefined ? 0 : state.free)]);
      case kRequest.WordOpen: {
        const word = this.#openWord();
        if (word !== null) this.#wordClients.add(client.id);
        return this.host.send(client, [value(id, word === null ? null : { file: word.name, id: client.id })]);
      }
      case kRequest.ReleaseWord: {
        const adopted = this.#adopted;
        // Its fast hold was booked when others came: released through the state, which hands it to the next in line.
        if (adopted === undefined || adopted.client !== client.id) throw new ProtocolViolation('a word release without a contended hold');
        // A death its holder marked in the word (a late grant it gave back) goes to the next holder.
        this.answer(state.release(client.id, adopted.leaseId, false, this.#word?.takeDied() === true));
        return this.#settleWord();
      }
      default: return unreachable(type, 'lock request');
    }
  }

  override disconnect(client: Client): void {
    // A fast holder the owner never heard of: freed here, the next acquirer told.
    if (this.#word?.fastHolder() === client.id) this.#word.freeDead(client.id);
    this.#wordClients.delete(client.id);
    super.disconnect(client);
    this.#settleWord();
  }

  override cancel(request: number): void {
    super.cancel(request);
    this.#settleWord();
  }

  // The state's picture, plus what only the word knows: a fast holder (lease id 0), a death not told yet.
  override inspect(): object {
    const snapshot = super.inspect() as { free: number; orphaned: number; holders: object[] };
    const word = this.#word;
    if (word === undefined || word === null) return snapshot;
    const fast = word.fastHolder();
    return {
      ...snapshot,
      orphaned: snapshot.orphaned + (word.diedUntold ? 1 : 0),
      ...(fast === undefined ? {} : {
        free: 0, holders: [...snapshot.holders, { leaseId: 0, client: fast, requestId: 0, pid: this.pidOf(fast) }],
      }),
    };
  }

  #openWord(): OwnerWord | null {
    if (this.#word === undefined) {
      this.#word = this.spec.kind === 'lock' ? OwnerWord.create(this.host.sharedDir, this.spec.object) ?? null : null;
      // Held or waited for through the state already: governed from the start (its name reaches clients only after). Idle,
      // it goes to the clients at once, with a death the state has not told yet.
      if (this.#word !== null && !this.state.idle) this.#word.govern(undefined);
      else if (this.#word !== null && this.state.takeOrphaned()) this.#word.free(true);
    }
    return this.#word;
  }

  // Before the state acts: the word becomes the state's. Free: claimed (a death it recorded goes to the state). Held by
  // a client fast: that hold is booked as a lease and marked contended, so its release comes here. Any other value (a
  // negative, the id of no client told where the word is) was written by no live client: by a broken one, or by one
  // whose link was cut as it took the word, which will never release it here. It is freed as a dead holder's, the next
  // holder told; booked, it would wedge the lock for good, and left as it is, this loop would never end.
  #govern(): void {
    const word = this.#word;
    if (word === undefined || word === null) return;
    for (;;) {
      const value = word.value;
      if (isGoverned(value)) return;
      if (value === 0) {
        if (!word.claimFree()) continue;
        if (word.takeDied()) this.state.addOrphaned();
        return;
      }
      if (value < 0 || !this.#wordClients.has(value)) {
        word.freeDead(value);
        continue;
      }
      if (word.contend(value)) {
        const events = this.state.acquire(value, nextAdoption++);
        const granted = events[0];
        if (granted?.type !== 'granted') throw new Error('a free lock did not grant the hold it books');
        this.#adopted = { client: value, leaseId: granted.leaseId };
        return;
      }
      // It changed between two looks (a client took or released it): look again.
    }
  }

  // After the state acted: the word says who holds it, or goes back to the clients once nobody holds or waits. A grant to
  // a client that has the word is handed over into it: with nobody else waiting, as a fast hold the state forgets (its
  // release is then a CAS, and its next acquire too, instead of a message racing the next request); with others
  // waiting, as a booked hold marked contended (its CAS release fails, and it releases through here).
  #settleWord(): void {
    const word = this.#word;
    const handoff = this.#handoff;
    this.#handoff = undefined;
    if (word === undefined || word === null || !word.governed) return;
    const { state } = this;
    if (this.#adopted !== undefined && !state.holds(this.#adopted.leaseId)) this.#adopted = undefined;
    if (handoff !== undefined && state.holds(handoff.leaseId)) {
      if (state.waiting === 0) {
        // No waiter to grant: releasing it only forgets the lease.
        this.answer(state.release(handoff.client, handoff.leaseId));
        return word.hold(handoff.client);
      }
      this.#adopted = handoff;
    }
    if (state.idle) word.free(state.takeOrphaned());
    else word.govern(this.#adopted?.client);
  }

  // Granted: u32 lease id | u8 previousOwnerDied | u8 1 if handed over into the client's word (released by a CAS).
  protected reply(client: Client, id: number, event: SemaphoreEvent): void {
    if (event.type === 'cancelled') return this.host.send(client, [encodeRefusal(id, 'cancelled', 'cancelled')]);
    const inWord = this.#word !== undefined && this.#word !== null && this.#wordClients.has(client.id);
    if (inWord) this.#handoff = { client: client.id, leaseId: event.leaseId };
    const frame = encodeHead(kAnswer.Granted, id, '', 6);
    frame.writeUInt32BE(event.leaseId, frame.length - 6);
    frame[frame.length - 2] = event.previousOwnerDied ? 1 : 0;
    frame[frame.length - 1] = inWord ? 1 : 0;
    this.host.send(client, [frame]);
  }
}
