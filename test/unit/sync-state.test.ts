/** The broker-side sync state machines: FIFO grants, death settles debts, cancels are final, barriers break. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../helpers/prng.js';
import {
  BarrierState, EventState, InvalidRelease, SemaphoreState, lockState,
  type GrantedEvent, type SemaphoreEvent,
} from '../../dist/sync/state.js';

const kT = { timeout: 10_000 };

/** The single grant among `events`, failing if there is not exactly one. */
function granted(events: readonly SemaphoreEvent[]): GrantedEvent {
  assert.equal(events.length, 1, `expected one event, got ${JSON.stringify(events)}`);
  const [event] = events;
  assert.ok(event !== undefined && event.type === 'granted', `expected a grant, got ${JSON.stringify(event)}`);
  return event;
}

function refused(reason: InvalidRelease['reason']): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof InvalidRelease);
    assert.equal(error.reason, reason);
    assert.equal(error.code, 'EINVALIDRELEASE');
    return true;
  };
}

describe('permits no one holds (Python\'s release())', () => {
  test('a semaphore of 0 permits parks acquires until add(k) grants them in order', kT, () => {
    const sem = new SemaphoreState(0);
    assert.deepEqual(sem.acquire(1, 1), []);
    assert.deepEqual(sem.acquire(2, 2), []);
    assert.deepEqual(sem.acquire(3, 3), []);
    const events = sem.add(2);
    assert.deepEqual(events.map((e) => e.type === 'granted' && e.client), [1, 2]);
    assert.equal(sem.free, 0);
    assert.equal(granted(sem.release(1, (events[0] as GrantedEvent).leaseId)).client, 3, 'a released lease goes to the next waiter');
    assert.deepEqual(sem.add(1), []);
    assert.equal(sem.free, 1);
    assert.throws(() => sem.add(0), RangeError);
  });

  test('bounded: add(k) past permits, held leases included, is refused and changes nothing', kT, () => {
    const sem = new SemaphoreState(2, true);
    assert.throws(() => sem.add(1), refused('bounded'));
    const lease = granted(sem.acquire(1, 1));
    assert.throws(() => sem.add(1), refused('bounded'));
    sem.disconnect(1);
    assert.equal(sem.free, 2);
    assert.throws(() => sem.release(1, lease.leaseId), refused('released'));
    assert.throws(() => lockState().add(1), refused('bounded'), 'a Lock is bounded at one');
    const open = new SemaphoreState(0, true);
    assert.throws(() => open.add(1), refused('bounded'));
    assert.deepEqual(open.inspect(), { kind: 'semaphore', permits: 0, free: 0, orphaned: 0, holders: [], waiters: [] });
  });
});

describe('validation', () => {
  test('permits must be integers >= 0 and parties >= 1, and the error names them', kT, () => {
    const cases: [string, number, (n: unknown) => unknown][] = [
      ['permits', 0, (n) => new SemaphoreState(n as number)],
      ['parties', 1, (n) => new BarrierState(n as number)],
    ];
    for (const [name, min, make] of cases) {
      assert.throws(() => make(min - 1),
        { name: 'RangeError', message: `Expected \`${name}\` to be an integer >= ${min}, got ${min - 1}` });
      assert.throws(() => make(-3), RangeError);
      assert.throws(() => make(1.5), { name: 'TypeError', message: new RegExp(`\`${name}\``) });
      assert.throws(() => make('2'), { name: 'TypeError', message: `Expected \`${name}\` to be an integer, got \`"2"\` (string)` });
      assert.throws(() => make(Number.NaN), TypeError);
    }
  });

  test('client and request ids are checked, and a requestId already parked is refused', kT, () => {
    const sem = lockState();
    assert.throws(() => sem.acquire(Number.NaN, 1), { name: 'TypeError', message: /`client`/ });
    assert.throws(() => sem.acquire(1, -1), { name: 'RangeError', message: /`requestId`/ });
    granted(sem.acquire(1, 1));
    assert.deepEqual(sem.acquire(2, 2), []);
    assert.throws(() => sem.acquire(3, 2), /requestId 2 is already waiting \(client 2\)/);
    const ev = new EventState();
    ev.wait(1, 5);
    assert.throws(() => ev.wait(1, 5), /already waiting/);
    const barrier = new BarrierState(3);
    barrier.wait(1, 5);
    assert.throws(() => barrier.wait(2, 5), /already waiting/);
    assert.equal(barrier.inspect().waiters.length, 1, 'the refused wait did not count as a party');
  });
});

describe('SemaphoreState as a Lock', () => {
  test('exclusive, and parked acquirers are granted strictly in arrival order', kT, () => {
    const lock = lockState();
    let lease = granted(lock.acquire(1, 10));
    assert.equal(lease.previousOwnerDied, false);
    // Clients 2..5 arrive in a scrambled client order; the order of arrival is what counts.
    const order = [4, 2, 5, 3];
    for (const [i, client] of order.entries()) assert.deepEqual(lock.acquire(client, 20 + i), []);
    assert.equal(lock.free, 0);
    for (const [i, client] of order.entries()) {
      const next = granted(lock.release(lease.client, lease.leaseId));
      assert.deepEqual({ client: next.client, requestId: next.requestId }, { client, requestId: 20 + i });
      assert.equal(lock.inspect().holders.length, 1);
      lease = next;
    }
    assert.deepEqual(lock.release(lease.client, lease.leaseId), []);
    assert.equal(lock.free, 1);
  });

  test('a latecomer does not barge past a parked request when a permit frees', kT, () => {
    const sem = new SemaphoreState(2);
    const a = granted(sem.acquire(1, 1));
    granted(sem.acquire(2, 2));
    assert.deepEqual(sem.acquire(3, 3), []);
    const next = granted(sem.release(1, a.leaseId));
    assert.equal(next.requestId, 3);
    assert.deepEqual(sem.acquire(4, 4), [], 'no permit free: it parks');
  });

  test('a holder that disconnects releases; the next acquirer is granted at once with previousOwnerDied, the one after without', kT, () => {
    const lock = lockState();
    granted(lock.acquire(1, 1));
    lock.acquire(2, 2);
    lock.acquire(3, 3);
    const heir = granted(lock.disconnect(1));
    assert.deepEqual({ client: heir.client, requestId: heir.requestId, previousOwnerDied: heir.previousOwnerDied },
      { client: 2, requestId: 2, previousOwnerDied: true });
    const after = granted(lock.release(2, heir.leaseId));
    assert.equal(after.client, 3);
    assert.equal(after.previousOwnerDied, false);
  });

  test('a death with nobody waiting is told to the next acquirer, whenever it comes', kT, () => {
    const lock = lockState();
    granted(lock.acquire(1, 1));
    assert.deepEqual(lock.disconnect(1), []);
    assert.deepEqual(lock.inspect(), { kind: 'semaphore', permits: 1, free: 1, orphaned: 1, holders: [], waiters: [] });
    const first = granted(lock.acquire(2, 2));
    assert.equal(first.previousOwnerDied, true);
    assert.equal(lock.inspect().orphaned, 0);
    assert.deepEqual(lock.release(2, first.leaseId), []);
    assert.equal(granted(lock.acquire(3, 3)).previousOwnerDied, false);
  });

  test('previousOwnerDied is per permit: two dead holders are told to two later holders, one each', kT, () => {
    const sem = new SemaphoreState(3);
    granted(sem.acquire(1, 1));
    granted(sem.acquire(2, 2));
    const live = granted(sem.acquire(3, 3));
    sem.acquire(4, 4);
    assert.equal(granted(sem.disconnect(1)).previousOwnerDied, true);
    assert.deepEqual(sem.disconnect(2), []);
    // Freed by a death: handed out first, so the next acquirer hears of it.
    assert.equal(granted(sem.acquire(5, 5)).previousOwnerDied, true);
    assert.deepEqual(sem.release(3, live.leaseId), []);
    assert.equal(granted(sem.acquire(6, 6)).previousOwnerDied, false);
  });

  test('a disconnecting client\'s parked acquires vanish and all its leases are returned', kT, () => {
    const sem = new SemaphoreState(2);
    granted(sem.acquire(1, 1));
    granted(sem.acquire(1, 2));
    sem.acquire(2, 3);
    sem.acquire(1, 4);
    sem.acquire(3, 5);
    const events = sem.disconnect(1);
    assert.deepEqual(events.map((e) => e.type === 'granted' && [e.client, e.requestId, e.previousOwnerDied]),
      [[2, 3, true], [3, 5, true]]);
    assert.deepEqual(sem.inspect().waiters, []);
    assert.deepEqual(sem.cancel(4), [], 'the dead client\'s parked request is gone');
  });

  test('a cancelled waiter is never granted, and cancel is final and idempotent', kT, () => {
    const lock = lockState();
    const a = granted(lock.acquire(1, 1));
    lock.acquire(2, 2);
    lock.acquire(3, 3);
    assert.deepEqual(lock.cancel(2), [{ type: 'cancelled', requestId: 2, client: 2 }]);
    assert.deepEqual(lock.cancel(2), []);
    assert.deepEqual(lock.cancel(99), []);
    const b = granted(lock.release(1, a.leaseId));
    assert.equal(b.requestId, 3);
    assert.deepEqual(lock.release(3, b.leaseId), []);
    assert.deepEqual(lock.inspect().waiters, []);
    // Cancel after the grant (a timeout racing the answer): too late, the lease stands.
    const c = granted(lock.acquire(4, 4));
    assert.deepEqual(lock.cancel(4), []);
    assert.deepEqual(lock.inspect().holders, [{ leaseId: c.leaseId, client: 4, requestId: 4 }]);
  });

  test('a try-acquire is acquire, then cancel when nothing was granted', kT, () => {
    const lock = lockState();
    granted(lock.acquire(1, 1));
    assert.deepEqual(lock.acquire(2, 2), []);
    assert.deepEqual(lock.cancel(2), [{ type: 'cancelled', requestId: 2, client: 2 }]);
    assert.deepEqual(lock.inspect().waiters, []);
  });

  test('double release, release of another client\'s lease and of an unknown lease are refused and change nothing', kT, () => {
    const lock = lockState();
    const a = granted(lock.acquire(1, 1));
    lock.acquire(2, 2);
    const before = lock.inspect();
    assert.throws(() => lock.release(2, a.leaseId), refused('not-owner'));
    assert.throws(() => lock.release(2, a.leaseId), /lease 1 is held by client 1, not client 2/);
    assert.throws(() => lock.release(1, 77), refused('unknown'));
    assert.throws(() => lock.release(1, 0), refused('unknown'));
    assert.deepEqual(lock.inspect(), before);
    const b = granted(lock.release(1, a.leaseId));
    assert.throws(() => lock.release(1, a.leaseId), refused('released'));
    assert.throws(() => lock.release(1, a.leaseId), /lease 1 was already released/);
    // The release of a lease that went back when its holder died is a double release too.
    assert.deepEqual(lock.disconnect(2), []);
    assert.throws(() => lock.release(2, b.leaseId), refused('released'));
    assert.throws(() => lock.release(1, 1.5), TypeError);
  });

  test('inspect is a plain, serializable snapshot that later changes do not touch', kT, () => {
    const sem = new SemaphoreState(1);
    granted(sem.acquire(7, 1));
    sem.acquire(8, 2);
    const snapshot = sem.inspect();
    assert.deepEqual(snapshot, {
      kind: 'semaphore', permits: 1, free: 0, orphaned: 0,
      holders: [{ leaseId: 1, client: 7, requestId: 1 }], waiters: [{ client: 8, requestId: 2 }],
    });
    assert.deepEqual(structuredClone(snapshot), snapshot);
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    sem.disconnect(7);
    assert.equal(snapshot.holders[0]?.client, 7);
  });
});

describe('SemaphoreState model test', () => {
  /**
   * Random acquires, releases (valid and invalid), cancels and disconnects against a
   * model of what every client was told; the invariants are checked after every step.
   */
  function run(seed: number, permits: number, steps: number): void {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];
    const sem = new SemaphoreState(permits);
    let nextClient = 0;
    let nextRequest = 0;
    const live: number[] = [];
    for (let i = 0; i < 5; i++) live.push(nextClient++);
    const dead = new Set<number>();
    /** Parked requests in arrival order. */
    const pending = new Map<number, number>();
    const held = new Map<number, number>();          // leaseId -> client
    const ended = new Set<number>();                 // leases released or returned by a death
    const answered = new Set<number>();              // requestIds granted or cancelled
    let orphans = 0;
    let grants = 0;

    const apply = (events: readonly SemaphoreEvent[], where: string): void => {
      for (const event of events) {
        assert.ok(!answered.has(event.requestId), `${where}: request ${event.requestId} answered twice`);
        answered.add(event.requestId);
        assert.ok(!dead.has(event.client), `${where}: answer to dead client ${event.client}`);
        if (event.type === 'cancelled') {
          assert.equal(pending.get(event.requestId), event.client, `${where}: cancelled a request that was not parked`);
          pending.delete(event.requestId);
          continue;
        }
        const oldest = pending.keys().next().value;
        assert.equal(event.requestId, oldest, `${where}: grant out of FIFO order`);
        assert.equal(pending.get(event.requestId), event.client, `${where}: grant to the wrong client`);
        pending.delete(event.requestId);
        assert.ok(!held.has(event.leaseId) && !ended.has(event.leaseId), `${where}: lease id ${event.leaseId} reused`);
        held.set(event.leaseId, event.client);
        assert.equal(event.previousOwnerDied, orphans > 0, `${where}: previousOwnerDied`);
        if (event.previousOwnerDied) orphans--;
        grants++;
      }
    };

    for (let step = 0; step < steps; step++) {
      const where = `seed ${seed}, step ${step}`;
      const roll = random();
      if (roll < 0.4) {
        const client = pick(live)!;
        const requestId = nextRequest++;
        pending.set(requestId, client);
        apply(sem.acquire(client, requestId), where);
      } else if (roll < 0.7) {
        const leaseId = pick([...held.keys()]);
        if (leaseId !== undefined) {
          const owner = held.get(leaseId)!;
          held.delete(leaseId);
          ended.add(leaseId);
          apply(sem.release(owner, leaseId), where);
        }
      } else if (roll < 0.8) {
        // A cancel of a parked, granted, cancelled or unknown request: only a parked one is answered.
        const requestId = random() < 0.7 ? pick([...pending.keys()]) ?? 0 : Math.floor(random() * (nextRequest + 3));
        const events = sem.cancel(requestId);
        assert.equal(events.length, pending.has(requestId) ? 1 : 0, `${where}: cancel of ${requestId}`);
        apply(events, where);
      } else if (roll < 0.9) {
        const before = sem.inspect();
        const leaseId = pick([...ended]) ?? 1;
        const holder = pick([...held.entries()]);
        if (random() < 0.5 && holder !== undefined) {
          const other = pick(live.filter((c) => c !== holder[1]));
          if (other !== undefined) assert.throws(() => sem.release(other, holder[0]), refused('not-owner'), where);
        } else if (ended.has(leaseId)) {
          assert.throws(() => sem.release(pick(live)!, leaseId), refused('released'), where);
        }
        assert.deepEqual(sem.inspect(), before, `${where}: a refused release changed the state`);
      } else if (live.length > 0) {
        const client = live.splice(Math.floor(random() * live.length), 1)[0]!;
        dead.add(client);
        for (const [requestId, owner] of pending) if (owner === client) { pending.delete(requestId); answered.add(requestId); }
        for (const [leaseId, owner] of held) {
          if (owner === client) { held.delete(leaseId); ended.add(leaseId); orphans++; }
        }
        apply(sem.disconnect(client), where);
        live.push(nextClient++);
      }

      const s = sem.inspect();
      assert.ok(s.holders.length <= permits, `${where}: ${s.holders.length} held of ${permits}`);
      assert.equal(s.free, permits - s.holders.length, `${where}: free`);
      assert.ok(s.free >= 0 && s.free <= permits, `${where}: free out of range`);
      assert.ok(s.waiters.length === 0 || s.free === 0, `${where}: a request is parked while ${s.free} permits are free`);
      assert.ok(s.orphaned <= s.free, `${where}: orphaned permits must be free`);
      assert.equal(s.orphaned, orphans, `${where}: orphaned`);
      assert.deepEqual(s.waiters, [...pending].map(([requestId, client]) => ({ client, requestId })), `${where}: waiters`);
      assert.deepEqual(new Map(s.holders.map((h) => [h.leaseId, h.client])), held, `${where}: holders`);
      for (const h of s.holders) assert.ok(!dead.has(h.client), `${where}: lease held by dead client ${h.client}`);
    }
    // Every lease ever granted was ended exactly once or is held by a live client.
    assert.equal(ended.size + held.size, grants);
    assert.ok(grants > steps / 10, `the run granted too little to mean anything (${grants})`);
  }

  test('a lock: 20k random operations keep every invariant', { timeout: 60_000 }, () => run(0x5eed, 1, 20_000));
  test('a semaphore of 3: 20k random operations keep every invariant', { timeout: 60_000 }, () => run(0xc0ffee, 3, 20_000));
  test('a semaphore of 5, more seeds', { timeout: 60_000 }, () => {
    for (const seed of [1, 2, 3, 4]) run(seed, 5, 5_000);
  });
});

describe('EventState', () => {
  test('wait is immediate when set, parks when clear, and set wakes every client\'s waiters in order', kT, () => {
    const ev = new EventState();
    assert.equal(ev.isSet(), false);
    assert.deepEqual(ev.wait(1, 1), []);
    assert.deepEqual(ev.wait(2, 2), []);
    assert.deepEqual(ev.wait(1, 3), []);
    assert.deepEqual(ev.set(), [
      { type: 'woken', requestId: 1, client: 1 },
      { type: 'woken', requestId: 2, client: 2 },
      { type: 'woken', requestId: 3, client: 1 },
    ]);
    assert.equal(ev.isSet(), true);
    assert.deepEqual(ev.set(), [], 'set again wakes no one twice');
    assert.deepEqual(ev.wait(3, 4), [{ type: 'woken', requestId: 4, client: 3 }]);
    ev.clear();
    assert.equal(ev.isSet(), false);
    assert.deepEqual(ev.wait(3, 5), []);
    assert.deepEqual(ev.inspect(), { kind: 'event', set: false, waiters: [{ client: 3, requestId: 5 }] });
    assert.deepEqual(ev.set(), [{ type: 'woken', requestId: 5, client: 3 }]);
  });

  test('cancelled and disconnected waiters are never woken', kT, () => {
    const ev = new EventState();
    ev.wait(1, 1);
    ev.wait(2, 2);
    ev.wait(2, 3);
    ev.wait(3, 4);
    assert.deepEqual(ev.cancel(1), [{ type: 'cancelled', requestId: 1, client: 1 }]);
    assert.deepEqual(ev.cancel(1), []);
    assert.deepEqual(ev.disconnect(2), []);
    assert.deepEqual(ev.set(), [{ type: 'woken', requestId: 4, client: 3 }]);
    assert.deepEqual(ev.cancel(4), [], 'already woken: nothing to cancel');
  });
});

describe('BarrierState', () => {
  test('parties waits pass together with their arrival index, and the next generation starts empty', kT, () => {
    const barrier = new BarrierState(3);
    assert.deepEqual(barrier.wait(5, 1), []);
    assert.deepEqual(barrier.wait(6, 2), []);
    assert.deepEqual(barrier.inspect(), {
      kind: 'barrier', parties: 3, generation: 0, broken: false,
      waiters: [{ client: 5, requestId: 1 }, { client: 6, requestId: 2 }],
    });
    assert.deepEqual(barrier.wait(7, 3), [
      { type: 'passed', requestId: 1, client: 5, index: 0, generation: 0 },
      { type: 'passed', requestId: 2, client: 6, index: 1, generation: 0 },
      { type: 'passed', requestId: 3, client: 7, index: 2, generation: 0 },
    ]);
    assert.deepEqual(barrier.inspect().waiters, []);
    assert.equal(barrier.inspect().generation, 1);
    // Generation 1, with a different arrival order and one client waiting twice.
    assert.deepEqual(barrier.wait(7, 4), []);
    assert.deepEqual(barrier.wait(5, 5), []);
    assert.deepEqual(barrier.wait(7, 6).map((e) => e.type === 'passed' && [e.requestId, e.index, e.generation]),
      [[4, 0, 1], [5, 1, 1], [6, 2, 1]]);
    assert.deepEqual(barrier.cancel(4), [], 'a passed wait cannot be cancelled and does not break anything');
    assert.equal(barrier.broken, false);
  });

  test('a barrier of one passes every wait at once', kT, () => {
    const barrier = new BarrierState(1);
    assert.deepEqual(barrier.wait(1, 1), [{ type: 'passed', requestId: 1, client: 1, index: 0, generation: 0 }]);
    assert.deepEqual(barrier.wait(1, 2), [{ type: 'passed', requestId: 2, client: 1, index: 0, generation: 1 }]);
  });

  test('a timeout (cancel) breaks it: the others are broken, later waits too, until reset', kT, () => {
    const barrier = new BarrierState(3);
    barrier.wait(1, 1);
    barrier.wait(2, 2);
    assert.deepEqual(barrier.cancel(1), [
      { type: 'cancelled', requestId: 1, client: 1 },
      { type: 'broken', requestId: 2, client: 2 },
    ]);
    assert.equal(barrier.broken, true);
    assert.deepEqual(barrier.wait(3, 3), [{ type: 'broken', requestId: 3, client: 3 }]);
    assert.deepEqual(barrier.inspect(), { kind: 'barrier', parties: 3, generation: 0, broken: true, waiters: [] });
    assert.deepEqual(barrier.reset(), []);
    assert.equal(barrier.broken, false);
    barrier.wait(1, 4);
    barrier.wait(2, 5);
    assert.deepEqual(barrier.wait(3, 6).map((e) => e.type === 'passed' && [e.requestId, e.index, e.generation]),
      [[4, 0, 1], [5, 1, 1], [6, 2, 1]]);
  });

  test('a party that dies while waiting breaks it for everyone else; a client not waiting does not', kT, () => {
    const barrier = new BarrierState(4);
    barrier.wait(1, 1);
    barrier.wait(2, 2);
    barrier.wait(1, 3);
    assert.deepEqual(barrier.disconnect(9), []);
    assert.equal(barrier.broken, false);
    assert.deepEqual(barrier.disconnect(2), [
      { type: 'broken', requestId: 1, client: 1 },
      { type: 'broken', requestId: 3, client: 1 },
    ]);
    assert.equal(barrier.broken, true);
    assert.deepEqual(barrier.wait(1, 4), [{ type: 'broken', requestId: 4, client: 1 }]);
  });

  test('abort breaks it; reset answers the waiters of an unbroken barrier with broken and starts afresh', kT, () => {
    const barrier = new BarrierState(2);
    barrier.wait(1, 1);
    assert.deepEqual(barrier.abort(), [{ type: 'broken', requestId: 1, client: 1 }]);
    assert.deepEqual(barrier.abort(), [], 'abort again: nobody left to tell');
    assert.deepEqual(barrier.wait(2, 2), [{ type: 'broken', requestId: 2, client: 2 }]);
    barrier.reset();
    barrier.wait(3, 3);
    assert.deepEqual(barrier.reset(), [{ type: 'broken', requestId: 3, client: 3 }]);
    assert.equal(barrier.broken, false);
    assert.deepEqual(barrier.wait(1, 4), []);
    assert.equal(barrier.wait(2, 5).length, 2);
  });
});
