// SharedMap (SPEC "Shared state"): Python's Manager().dict(), served by its owner. Keys compare by serialized bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool, ProcsafeError, Process, SerializationError, SharedMap } from 'procsafe';
import { fixture } from '../helpers/index.js';

const tasks = fixture('shared-map-tasks.mjs');

test('get, set, has, delete, size, clear, entries in insertion order', { timeout: 10_000 }, async () => {
  const m = new SharedMap<string, number>();
  assert.equal(await m.size(), 0);
  assert.equal(await m.get('a'), undefined);
  assert.equal(await m.has('a'), false);
  await m.set('b', 2);
  await m.set('a', 1);
  await m.set('c', 3);
  await m.set('b', 20); // an existing key keeps its place, as in a Map
  assert.equal(await m.get('b'), 20);
  assert.equal(await m.has('a'), true);
  assert.equal(await m.size(), 3);
  assert.deepEqual([...await m.entries()], [['b', 20], ['a', 1], ['c', 3]]);
  assert.ok(await m.entries() instanceof Map);
  assert.equal(await m.delete('a'), true);
  assert.equal(await m.delete('a'), false);
  await m.set('a', 4); // deleted, then set again: last
  assert.deepEqual([...await m.entries()], [['b', 20], ['c', 3], ['a', 4]]);
  await m.clear();
  assert.equal(await m.size(), 0);
  assert.deepEqual([...await m.entries()], []);
  assert.deepEqual(await m.inspect(), { kind: 'map', size: 0 });
});

test('keys compare by value (serialized bytes): 1 and "1" differ, equal objects with one key order are one key',
  { timeout: 10_000 }, async () => {
  const m = new SharedMap<unknown, string>();
  await m.set(1, 'number');
  await m.set('1', 'string');
  await m.set({ a: 1 }, 'object');
  await m.set([1, 2], 'array');
  assert.equal(await m.get(1), 'number');
  assert.equal(await m.get('1'), 'string');
  assert.equal(await m.get({ a: 1 }), 'object', 'another { a: 1 } finds it');
  assert.equal(await m.get([1, 2]), 'array');
  assert.equal(await m.get({ a: 1, b: 2 }), undefined);
  await m.set({ a: 1, b: 2 }, 'ab');
  assert.equal(await m.get({ b: 2, a: 1 }), undefined, 'another key order is another key');
  assert.equal(await m.size(), 5);
  const keys = [...(await m.entries()).keys()];
  assert.deepEqual(keys, [1, '1', { a: 1 }, [1, 2], { a: 1, b: 2 }]);
});

test('the same text is the same key however V8 holds it (a one-byte slice of a two-byte string), in keys and compared values',
  { timeout: 10_000 }, async () => {
    const m = new SharedMap<unknown, unknown>();
    const wide = 'abc\u0100';
    const sliced = wide.slice(0, 3);
    await m.set('abc', 1);
    assert.equal(await m.get(sliced), 1);
    await m.set([sliced, { k: sliced }], 'tuple');
    assert.equal(await m.get(['abc', { k: 'abc' }]), 'tuple');
    await m.set('v', { name: sliced });
    assert.equal(await m.compareAndSet('v', { name: 'abc' }, 2), true);
    assert.equal(await m.size(), 3);
  });

test('compareAndSet: true when the value was expected, false otherwise, undefined means absent', { timeout: 10_000 }, async () => {
  const m = new SharedMap<string, unknown>();
  assert.equal(await m.compareAndSet('k', undefined, 1), true, 'absent, as expected');
  assert.equal(await m.get('k'), 1);
  assert.equal(await m.compareAndSet('k', undefined, 2), false, 'present: not absent');
  assert.equal(await m.compareAndSet('k', 5, 2), false, 'another value');
  assert.equal(await m.get('k'), 1, 'unchanged by a failed compareAndSet');
  assert.equal(await m.compareAndSet('k', 1, 2), true);
  assert.equal(await m.get('k'), 2);
  assert.equal(await m.compareAndSet('nope', 1, 2), false, 'absent is not 1');
  assert.equal(await m.has('nope'), false);
  await m.set('o', { x: [1, 2] });
  assert.equal(await m.compareAndSet('o', { x: [1, 2] }, { x: [3] }), true, 'an equal copy matches');
  assert.deepEqual(await m.get('o'), { x: [3] });
});

test('a Map, a Date and a Buffer round-trip as values; a function value is a SerializationError naming it',
  { timeout: 10_000 }, async () => {
  const m = new SharedMap<string, unknown>();
  const value = { map: new Map([[1, 'one']]), date: new Date(1234567890), buffer: Buffer.from('bytes'), big: Buffer.alloc(100_000, 7) };
  await m.set('v', value);
  const got = await m.get('v') as typeof value;
  assert.ok(got.map instanceof Map);
  assert.equal(got.map.get(1), 'one');
  assert.ok(got.date instanceof Date);
  assert.equal(got.date.getTime(), 1234567890);
  assert.ok(Buffer.isBuffer(got.buffer));
  assert.equal(got.buffer.toString(), 'bytes');
  assert.equal(got.big.length, 100_000);
  assert.equal(got.big[99_999], 7);
  await assert.rejects(m.set('f', { fn: () => 1 }), (error: unknown) => {
    assert.ok(error instanceof SerializationError, String(error));
    assert.match((error as Error).message, /value\.fn/);
    return true;
  });
  await assert.rejects(new SharedMap<unknown, number>().set(() => 1, 1), SerializationError, 'a function key too');
  assert.equal(await m.has('f'), false);
  assert.ok(new SerializationError('x', 'p') instanceof ProcsafeError);
});

test('travels to a Process and to a pool task (both isolations), and sees one map', { timeout: 60_000 }, async () => {
  const m = new SharedMap<string, unknown>();
  await m.set('here', 1);
  const p = new Process({ module: tasks, fn: 'addAndList', args: [m, 'child', { n: 2 }], stdout: 'ignore', stderr: 'inherit' });
  try {
    await p.start();
    assert.deepEqual(await p.join({ timeoutMs: 30_000 }), { exitCode: 0, signal: null });
  } finally {
    p.kill('SIGKILL');
  }
  assert.deepEqual(await m.get('child'), { n: 2 });
  for (const isolation of ['process', 'thread'] as const) {
    await using pool = new Pool({ module: tasks, workers: 1, isolation });
    assert.deepEqual(await pool.apply('addAndList', [m, isolation, true]),
      [['here', 1], ['child', { n: 2 }], ...(isolation === 'thread' ? [['process', true]] : []), [isolation, true]]);
    assert.deepEqual(await pool.apply('read', [m, 'here']), { has: true, value: 1 });
  }
  assert.equal(await m.size(), 4);
});
