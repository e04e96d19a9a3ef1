import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSimpleBatch, simpleBatchSize, writeSimpleBatch, type SimpleTask } from '../../dist/codec/task-args.js';

function roundTrip(tasks: SimpleTask[]): SimpleTask[] {
  const size = simpleBatchSize(tasks);
  assert.ok(size >= 0);
  const out = Buffer.alloc(size + 3);
  writeSimpleBatch(tasks, out, 3);
  const back: SimpleTask[] = [];
  readSimpleBatch(out.subarray(3), (id, fn, args) => back.push({ id, fn, args }));
  return back;
}

test('primitive arguments round-trip exactly, including edge numbers and unicode', { timeout: 5000 }, () => {
  const tasks: SimpleTask[] = [
    { id: 1, fn: 'square', args: [3] },
    { id: 2 ** 32 - 1, fn: 'mix', args: [NaN, -0, Infinity, -1.5e300, '', 'héllo ✓ 𝄞', true, false, null, undefined] },
    { id: 7, fn: '', args: [] },
    { id: 8, fn: 'ünïcode-fn', args: ['x'.repeat(4096)] },
  ];
  const back = roundTrip(tasks);
  assert.equal(back.length, 4);
  for (const [i, task] of tasks.entries()) {
    assert.equal(back[i]?.id, task.id);
    assert.equal(back[i]?.fn, task.fn);
    assert.deepEqual(back[i]?.args, task.args);
    for (const [j, arg] of task.args.entries()) assert.ok(Object.is(back[i]?.args[j], arg));
  }
});

test('anything else is left to the v8 serializer', { timeout: 5000 }, () => {
  for (const arg of [{}, [], 1n, new Date(0), Buffer.alloc(1), 'y'.repeat(4097), Symbol('s')]) {
    assert.equal(simpleBatchSize([{ id: 1, fn: 'f', args: [arg] }]), -1, String(typeof arg));
  }
  assert.equal(simpleBatchSize([{ id: 1, fn: 'f', args: new Array(256).fill(0) }]), -1);
});

test('a string that is not well-formed UTF-16 is left to the v8 serializer, which keeps it', { timeout: 5000 }, () => {
  for (const text of ['\uD800', 'a\uDC00b', '\uDE00\uD83D']) {
    assert.equal(simpleBatchSize([{ id: 1, fn: 'f', args: [text] }]), -1, JSON.stringify(text));
  }
  assert.ok(simpleBatchSize([{ id: 1, fn: 'f', args: ['\uD83D\uDE00'] }]) > 0, 'a surrogate pair is fine');
});
