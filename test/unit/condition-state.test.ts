/** The owner-side Condition state: notifies wake oldest first, a dead or departed waiter's wake goes to the next one. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../helpers/prng.js';
import { ConditionState, type EventStateEvent } from '../../dist/sync/state.js';

const kT = { timeout: 10_000 };
const woken = (events: readonly EventStateEvent[]): number[] =>
  events.map((event) => { assert.equal(event.type, 'woken'); return event.requestId; });

describe('ConditionState', () => {
  test('notify(n) wakes the n oldest waits; notify with no one waiting is dropped, as in Python', kT, () => {
    const cond = new ConditionState();
    assert.deepEqual(cond.notify(1), []);
    for (let i = 1; i <= 4; i++) assert.deepEqual(cond.wait(i, 10 + i), []);
    assert.deepEqual(woken(cond.notify(2)), [11, 12]);
    assert.deepEqual(woken(cond.notify(0)), []);
    assert.deepEqual(woken(cond.notify(Infinity)), [13, 14]);
    assert.deepEqual(cond.inspect().waiters, []);
    assert.deepEqual(cond.inspect().woken.map((w) => w.client), [1, 2, 3, 4]);
  });

  test('a waiter that disconnects while parked is forgotten: notify(1) reaches the next one', kT, () => {
    const cond = new ConditionState();
    cond.wait(1, 1);
    cond.wait(2, 2);
    assert.deepEqual(cond.disconnect(1), []);
    assert.deepEqual(woken(cond.notify(1)), [2]);
  });

  test('a woken waiter that disconnects before taking the wake up hands it to the next waiter', kT, () => {
    const cond = new ConditionState();
    cond.wait(1, 1);
    cond.wait(2, 2);
    cond.wait(3, 3);
    assert.deepEqual(woken(cond.notify(1)), [1]);
    assert.deepEqual(woken(cond.disconnect(1)), [2]);
    assert.deepEqual(cond.confirm(2, false), [], 'taken up: nothing more');
    assert.deepEqual(cond.disconnect(2), [], 'a confirmed wake is spent');
    assert.deepEqual(cond.inspect().waiters.map((w) => w.requestId), [3]);
  });

  test('a wake handed on (its wait had given up) goes to the next waiter; a cancel after the wake changes nothing', kT, () => {
    const cond = new ConditionState();
    cond.wait(1, 1);
    cond.wait(2, 2);
    assert.deepEqual(woken(cond.notify(1)), [1]);
    assert.deepEqual(cond.cancel(1), []);
    assert.deepEqual(woken(cond.confirm(1, true)), [2]);
    assert.deepEqual(cond.cancel(99), []);
    cond.wait(3, 3);
    assert.deepEqual(cond.cancel(3), [{ type: 'cancelled', requestId: 3, client: 3 }]);
    assert.deepEqual(cond.confirm(7, true), [], 'a confirm with no wake is ignored');
  });

  test('model: random waits, notifies, confirms and deaths never lose a wake while someone waits', kT, () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const cond = new ConditionState();
      const parked: { client: number; requestId: number }[] = [];
      const unconfirmed = new Map<number, number>();
      let nextRequest = 1;
      const apply = (events: readonly EventStateEvent[]): void => {
        for (const event of events) {
          const at = parked.findIndex((p) => p.requestId === event.requestId);
          assert.ok(at !== -1, `seed ${seed}: woke a request that was not parked`);
          assert.equal(parked[at]?.client, event.client);
          if (event.type === 'woken') unconfirmed.set(event.client, (unconfirmed.get(event.client) ?? 0) + 1);
          parked.splice(at, 1);
        }
      };
      for (let step = 0; step < 200; step++) {
        const client = 1 + Math.floor(random() * 5);
        const roll = random();
        if (roll < 0.4) {
          const requestId = nextRequest++;
          parked.push({ client, requestId });
          apply(cond.wait(client, requestId));
        } else if (roll < 0.6) {
          const n = Math.floor(random() * 3);
          const before = parked.slice(0, n).map((p) => p.requestId);
          const events = cond.notify(n);
          assert.deepEqual(woken(events), before, `seed ${seed}: notify(${n}) wakes the ${n} oldest`);
          apply(events);
        } else if (roll < 0.8) {
          const wakes = unconfirmed.get(client) ?? 0;
          const handOn = random() < 0.5;
          const oldest = parked[0]?.requestId;
          const events = cond.confirm(client, handOn);
          if (wakes > 0) unconfirmed.set(client, wakes - 1);
          if (wakes > 0 && handOn && oldest !== undefined) assert.deepEqual(woken(events), [oldest], `seed ${seed}: handed on`);
          else assert.deepEqual(events, []);
          apply(events);
        } else {
          const wakes = unconfirmed.get(client) ?? 0;
          unconfirmed.delete(client);
          for (let i = parked.length - 1; i >= 0; i--) if (parked[i]?.client === client) parked.splice(i, 1);
          const expected = parked.slice(0, wakes).map((p) => p.requestId);
          const events = cond.disconnect(client);
          assert.deepEqual(woken(events), expected, `seed ${seed}: a dead client's ${wakes} wakes go to the next waiters`);
          apply(events);
        }
        assert.deepEqual(cond.inspect().waiters.map((w) => w.requestId), parked.map((p) => p.requestId));
        const snapshot = new Map(cond.inspect().woken.map((w) => [w.client, w.wakes]));
        for (const [c, wakes] of unconfirmed) if (wakes === 0) unconfirmed.delete(c);
        assert.deepEqual(snapshot, unconfirmed, `seed ${seed}: unconfirmed wakes`);
      }
    }
  });
});
