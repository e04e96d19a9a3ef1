/**
 * A Lock's, Semaphore's or BoundedSemaphore's protocol, over its SemaphoreState, with its slot words in shared memory
 * (sync/lock-word.ts): one word per permit. While nobody waits, clients take and give back slots with one CAS each and
 * the state machine never hears of it. The words are handed to the state machine ("governed", all at once) the moment
 * the owner must act: a client that found no free slot asks the owner, which marks every fast holder contended and
 * books its hold as a lease (`#booked`), so that waiters queue behind them in order and their releases, deaths and
 * timeouts settle through the state as any other. A grant to a client that has the words goes into a slot too. Once
 * nobody waits and every lease is a slot's, the words go back to the clients.
 */
import { unreachable } from '../../internal/unreachable.js';
import { kMaxSlots } from '../../sync/lock-word.js';
import { type SemaphoreEvent, SemaphoreState } from '../../sync/state.js';
import { encodeHead, type Frame, ProtocolViolation } from '../../transport/frame.js';
import { encodeRefusal, isLockRequest, kAnswer, kRequest, type ObjectRequest } from '../protocol.js';
import { Adapter, type Client, type Host, type ObjectSpec, value } from './adapter.js';
import { isGoverned, OwnerWord } from './owner-word.js';

/** Request ids of the leases that stand for fast holds: above every broker request id, never answered. */
let nextAdoption = 2 ** 48;

interface Booked { readonly client: number; readonly leaseId: number }

export class LockAdapter extends Adapter<SemaphoreEvent, SemaphoreState> {
  /** undefined: not asked for yet; null: none can be made here (no addon or directory, or permits the words cannot hold). */
  #word: OwnerWord | null | undefined;
  /** Whether the state machine governs the words (every slot -1, or booked: a holder's id with the contended bit). */
  #governed = false;
  /** Slots whose hold is a lease in the state: fast holds booked when others came, and grants handed into a slot. */
  readonly #booked = new Map<number, Booked>();
  /** Permits were added (`release(k)`): more permits than slots, so the owner keeps the words for good. */
  #wordsOff = false;
  /** Clients told where the words are: their grants go into a slot, and they release with a CAS. */
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
        // More permits than slots from now on (or refused, and then nothing changed but the owner keeps the words).
        this.#wordsOff = true;
        this.doneThen(client, id, state.add(payload.readUInt32BE(0)));
        return this.#settleWord();
      case kRequest.Stats: return this.host.send(client, [value(id, state.free - (this.#word?.fastHeld() ?? 0))]);
      case kRequest.WordOpen: {
        const word = this.#openWord();
        if (word !== null) this.#wordClients.add(client.id);
        return this.host.send(client, [value(id, word === null ? null : { file: word.name, id: client.id, slots: word.slots })]);
      }
      case kRequest.ReleaseWord: {
        if (payload.length !== 1) throw new ProtocolViolation('a word release carries a 1-byte slot');
        const slot = payload[0] as number;
        if (slot >= (this.#word?.slots ?? 0)) throw new ProtocolViolation(`a word release of slot ${slot}, which does not exist`);
        const booked = this.#booked.get(slot);
        if (booked === undefined || booked.client !== client.id) {
          // Its CAS met the contended bit, then the words went back to the clients with its hold as a fast one (nobody
          // waited any more): this release, sent before, is for that hold. Anything else is stale, and harmless.
          this.#word?.releaseFor(slot, client.id);
          return;
        }
        // Its slot's hold was booked when others came: released through the state, which hands it to the next in line.
        // A death its holder marked in the slot (a late grant it gave back) goes to the next holder.
        this.answer(state.release(client.id, booked.leaseId, false, this.#word?.takeDied(slot) === true));
        return this.#settleWord();
      }
      default: return unreachable(type, 'lock request');
    }
  }

  override disconnect(client: Client): void {
    // A fast holder the owner never heard of: its slots freed here, the next acquirer told.
    const word = this.#word;
    if (word !== undefined && word !== null) {
      for (let slot = 0; slot < word.slots; slot++) if (word.fastHolder(slot) === client.id) word.freeDead(slot, client.id);
    }
    this.#wordClients.delete(client.id);
    super.disconnect(client);
    this.#settleWord();
  }

  override cancel(request: number): void {
    super.cancel(request);
    this.#settleWord();
  }

  // The state's picture, plus what only the words know: fast holders (lease id 0), deaths not told yet.
  override inspect(): object {
    const snapshot = super.inspect() as { free: number; orphaned: number; holders: object[] };
    const word = this.#word;
    if (word === undefined || word === null) return snapshot;
    const fast: object[] = [];
    for (let slot = 0; slot < word.slots; slot++) {
      const holder = word.fastHolder(slot);
      if (holder !== undefined) fast.push({ leaseId: 0, client: holder, requestId: 0, pid: this.pidOf(holder) });
    }
    return {
      ...snapshot, free: snapshot.free - fast.length, orphaned: snapshot.orphaned + word.diedUntold(),
      holders: [...snapshot.holders, ...fast],
    };
  }

  #openWord(): OwnerWord | null {
    if (this.#word !== undefined) return this.#word;
    const { kind, size } = this.spec;
    const slots = kind === 'lock' ? 1 : size;
    const possible = !this.#wordsOff && slots >= 1 && slots <= kMaxSlots;
    this.#word = possible ? OwnerWord.create(this.host.sharedDir, this.spec.object, slots) ?? null : null;
    const word = this.#word;
    if (word === null) return null;
    if (this.state.idle) {
      // Straight to the clients, with the deaths the state has not told yet.
      let orphans = this.state.takeOrphaned();
      for (let slot = 0; slot < slots && orphans > 0; slot++, orphans--) word.free(slot, true);
    } else {
      // Held or waited for through the state already: governed from the start (its name reaches clients only after).
      for (let slot = 0; slot < slots; slot++) word.govern(slot, undefined);
      this.#governed = true;
    }
    return word;
  }

  // Before the state acts: the words become the state's, every slot at once. Free: claimed (a death it recorded goes to
  // the state). Held by a client fast: that hold is booked as a lease and marked contended, so its release comes here.
  // Any other value (a negative, the id of no client told where the words are) was written by no live client: by a
  // broken one, or by one whose link was cut as it took the slot, which will never release it here. It is freed as a
  // dead holder's, the next holder told; booked, it would wedge the permit for good, and left as it is, this loop would
  // never end.
  #govern(): void {
    const word = this.#word;
    if (word === undefined || word === null || this.#governed) return;
    for (let slot = 0; slot < word.slots; slot++) {
      for (;;) {
        const value = word.value(slot);
        if (isGoverned(value)) break;
        if (value === 0) {
          if (!word.claimFree(slot)) continue;
          if (word.takeDied(slot)) this.state.addOrphaned();
          break;
        }
        if (value < 0 || !this.#wordClients.has(value)) {
          word.freeDead(slot, value);
          continue;
        }
        if (word.contend(slot, value)) {
          const granted = this.state.acquire(value, nextAdoption++)[0];
          if (granted?.type !== 'granted') throw new Error('a permit held in a slot found no free permit to book');
          this.#booked.set(slot, { client: value, leaseId: granted.leaseId });
          break;
        }
        // It changed between two looks (a client took or released it): look again.
      }
    }
    this.#governed = true;
  }

  // After the state acted: a slot whose booked lease ended is the owner's again. Once nobody waits and every lease is a
  // slot's (and no permits were added), the words go back to the clients: booked holds as fast holds the state forgets
  // (their releases are then a CAS, and so are their next acquires, instead of a message racing the next request), the
  // other slots free, with the deaths the state has not told yet.
  #settleWord(): void {
    const word = this.#word;
    if (word === undefined || word === null || !this.#governed) return;
    const { state } = this;
    for (const [slot, booked] of this.#booked) {
      if (state.holds(booked.leaseId)) continue;
      this.#booked.delete(slot);
      word.govern(slot, undefined);
    }
    if (this.#wordsOff || state.waiting > 0 || state.held !== this.#booked.size) return;
    // No waiter to grant: releasing them only forgets the leases.
    for (const booked of this.#booked.values()) this.answer(state.release(booked.client, booked.leaseId));
    let orphans = state.takeOrphaned();
    for (let slot = 0; slot < word.slots; slot++) {
      const booked = this.#booked.get(slot);
      if (booked !== undefined) {
        word.hold(slot, booked.client);
      } else {
        word.free(slot, orphans > 0);
        if (orphans > 0) orphans--;
      }
    }
    this.#booked.clear();
    this.#governed = false;
  }

  // Granted: u32 lease id | u8 previousOwnerDied | u8 1 if handed into a slot of the client's words | u8 that slot.
  protected reply(client: Client, id: number, event: SemaphoreEvent): void {
    if (event.type === 'cancelled') return this.host.send(client, [encodeRefusal(id, 'cancelled', 'cancelled')]);
    const slot = this.#slotFor(client.id, event.leaseId);
    const frame = encodeHead(kAnswer.Granted, id, '', 7);
    frame.writeUInt32BE(event.leaseId, frame.length - 7);
    frame[frame.length - 3] = event.previousOwnerDied ? 1 : 0;
    frame[frame.length - 2] = slot === undefined ? 0 : 1;
    frame[frame.length - 1] = slot ?? 0;
    this.host.send(client, [frame]);
  }

  // A grant to a client that has the words takes a slot nobody holds (there is one: a grant means a free permit, and
  // without added permits there are as many slots as permits), booked and marked contended until the words go back.
  #slotFor(client: number, leaseId: number): number | undefined {
    const word = this.#word;
    if (word === undefined || word === null || !this.#governed || this.#wordsOff || !this.#wordClients.has(client)) return undefined;
    for (let slot = 0; slot < word.slots; slot++) {
      if (this.#booked.has(slot)) continue;
      this.#booked.set(slot, { client, leaseId });
      word.govern(slot, client);
      return slot;
    }
    return undefined;
  }
}
