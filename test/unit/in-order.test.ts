/** InOrder: values finished in any order come out in number order, each once, null included. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../helpers/prng.js';
import { InOrder } from '../../dist/internal/in-order.js';

const kT = { timeout: 10_000 };

describe('InOrder', () => {
  test('holds a value until every earlier one is taken', kT, () => {
    const order = new InOrder<string>();
    order.add(1, 'b');
    assert.equal(order.ready, false);
    assert.equal(order.take(), undefined);
    order.add(0, 'a');
    assert.equal(order.ready, true);
    assert.equal(order.take(), 'a');
    assert.equal(order.take(), 'b');
    assert.equal(order.take(), undefined);
    assert.equal(order.ready, false);
  });

  test('a null value is a value: taken in its turn, not mistaken for one still out', kT, () => {
    const order = new InOrder<string | null>();
    order.add(0, null);
    order.add(1, 'x');
    assert.equal(order.take(), null);
    assert.equal(order.take(), 'x');
  });

  test('any arrival order: 2000 values come out 0..1999, each once', kT, () => {
    const random = prng(7);
    const seqs = Array.from({ length: 2000 }, (_, i) => i);
    for (let i = seqs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [seqs[i], seqs[j]] = [seqs[j] as number, seqs[i] as number];
    }
    const order = new InOrder<number>();
    const out: number[] = [];
    for (const seq of seqs) {
      order.add(seq, seq * 10);
      for (let v = order.take(); v !== undefined; v = order.take()) out.push(v);
    }
    assert.deepEqual(out, Array.from({ length: 2000 }, (_, i) => i * 10));
  });
});
