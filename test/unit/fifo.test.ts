/** Fifo: a ring buffer that must behave exactly like an array used as a queue, through growth and wrap-around. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../helpers/prng.js';
import { Fifo } from '../../dist/internal/fifo.js';

const kT = { timeout: 10_000 };


function check<T>(fifo: Fifo<T>, model: readonly T[], where: string): void {
  assert.equal(fifo.length, model.length, `${where}: length`);
  assert.equal(fifo.peek(), model[0], `${where}: peek`);
  assert.deepEqual([...fifo], model, `${where}: iteration`);
}

describe('Fifo', () => {
  test('empty', kT, () => {
    const fifo = new Fifo<number>();
    assert.equal(fifo.length, 0);
    assert.equal(fifo.shift(), undefined);
    assert.equal(fifo.peek(), undefined);
    assert.deepEqual([...fifo], []);
    assert.deepEqual(fifo.clear(), []);
    assert.equal(fifo.length, 0);
  });

  test('push and shift in order, growing past 16', kT, () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 100; i++) fifo.push(i);
    assert.equal(fifo.length, 100);
    assert.deepEqual([...fifo], Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 100; i++) {
      assert.equal(fifo.peek(), i);
      assert.equal(fifo.shift(), i);
    }
    assert.equal(fifo.length, 0);
    assert.equal(fifo.shift(), undefined);
  });

  test('unshift puts an item first, also when it wraps below index 0 and when full', kT, () => {
    const fifo = new Fifo<string>();
    fifo.unshift('b');
    fifo.unshift('a');
    fifo.push('c');
    check(fifo, ['a', 'b', 'c'], 'small');
    const model = ['a', 'b', 'c'];
    for (let i = 0; i < 40; i++) {
      fifo.unshift(`u${i}`);
      model.unshift(`u${i}`);
      check(fifo, model, `unshift ${i}`);
    }
  });

  test('wrap-around at exactly 16 and growth while wrapped', kT, () => {
    const fifo = new Fifo<number>();
    const model: number[] = [];
    // Move the head to the middle of the ring, then fill it so the items wrap, then grow.
    for (let i = 0; i < 10; i++) { fifo.push(i); model.push(i); }
    for (let i = 0; i < 7; i++) assert.equal(fifo.shift(), model.shift());
    for (let i = 10; i < 23; i++) { fifo.push(i); model.push(i); }
    check(fifo, model, 'full and wrapped');
    assert.equal(fifo.length, 16);
    fifo.push(23); model.push(23);
    check(fifo, model, 'grown while wrapped');
    fifo.unshift(-1); model.unshift(-1);
    check(fifo, model, 'unshift after growth');
  });

  test('unshift when full grows and keeps order', kT, () => {
    const fifo = new Fifo<number>();
    const model: number[] = [];
    for (let i = 0; i < 16; i++) { fifo.push(i); model.push(i); }
    fifo.unshift(-1); model.unshift(-1);
    check(fifo, model, 'unshift into a full ring');
  });

  test('clear returns everything in order and leaves it usable', kT, () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 40; i++) fifo.push(i);
    for (let i = 0; i < 5; i++) fifo.shift();
    fifo.unshift(99);
    assert.deepEqual(fifo.clear(), [99, ...Array.from({ length: 35 }, (_, i) => i + 5)]);
    check(fifo, [], 'after clear');
    fifo.push(1);
    fifo.unshift(0);
    check(fifo, [0, 1], 'reused');
  });

  test('a shifted item is gone from the front', kT, () => {
    const fifo = new Fifo<{ n: number }>();
    const a = { n: 1 };
    fifo.push(a);
    assert.equal(fifo.shift(), a);
    assert.equal(fifo.peek(), undefined);
  });

  test('random operations match an array model', kT, () => {
    for (const seed of [1, 2, 3, 42, 0xdead]) {
      const random = prng(seed);
      const fifo = new Fifo<number>();
      const model: number[] = [];
      let next = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = random();
        // Phases bias toward growth, then toward draining, so sizes sweep 0..hundreds and the ring wraps often.
        const growing = Math.floor(step / 2000) % 2 === 0;
        const where = `seed ${seed} step ${step}`;
        if (r < (growing ? 0.45 : 0.25)) {
          fifo.push(next); model.push(next); next++;
        } else if (r < (growing ? 0.6 : 0.35)) {
          fifo.unshift(next); model.unshift(next); next++;
        } else if (r < 0.95) {
          assert.equal(fifo.shift(), model.shift(), `${where}: shift`);
        } else if (r < 0.998) {
          assert.equal(fifo.peek(), model[0], `${where}: peek`);
        } else {
          assert.deepEqual(fifo.clear(), model.splice(0), `${where}: clear`);
        }
        assert.equal(fifo.length, model.length, `${where}: length`);
        if (step % 97 === 0) check(fifo, model, where);
      }
      check(fifo, model, `seed ${seed} end`);
    }
  });
});
