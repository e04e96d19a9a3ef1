// MapState, the owner's model of a SharedMap: keys by bytes, insertion order, compareAndSet by bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MapState } from '../../dist/shared/map-state.js';
import { decodeParts, encodeParts } from '../../dist/broker/protocol.js';
import { ProtocolViolation } from '../../dist/transport/frame.js';

const b = (text: string): Buffer => Buffer.from(text);

test('set, get, has, delete, size, clear; a key set again keeps its place; a deleted one comes back last', () => {
  const s = new MapState();
  s.set(b('x'), b('1'));
  s.set(b('y'), b('2'));
  s.set(b('x'), b('3'));
  assert.deepEqual(s.get(b('x')), b('3'));
  assert.equal(s.has(b('y')), true);
  assert.equal(s.size, 2);
  assert.deepEqual(s.entries().map((e) => [e.key.toString(), e.value.toString()]), [['x', '3'], ['y', '2']]);
  assert.equal(s.delete(b('x')), true);
  assert.equal(s.delete(b('x')), false);
  s.set(b('x'), b('4'));
  assert.deepEqual(s.entries().map((e) => e.key.toString()), ['y', 'x']);
  s.clear();
  assert.equal(s.size, 0);
  assert.equal(s.get(b('x')), undefined);
  assert.deepEqual(s.inspect(), { kind: 'map', size: 0 });
});

test('keys are told apart by every byte, including ones past 0x7f', () => {
  const s = new MapState();
  s.set(Buffer.from([0xff, 0x00]), b('a'));
  s.set(Buffer.from([0xfe, 0x00]), b('b'));
  s.set(Buffer.from([0xff]), b('c'));
  assert.equal(s.size, 3);
  assert.deepEqual(s.get(Buffer.from([0xff, 0x00])), b('a'));
});

test('compareAndSet: undefined expects absence; a value matches by bytes; a miss changes nothing', () => {
  const s = new MapState();
  assert.equal(s.compareAndSet(b('k'), undefined, b('1')), true);
  assert.equal(s.compareAndSet(b('k'), undefined, b('2')), false);
  assert.equal(s.compareAndSet(b('k'), b('2'), b('3')), false);
  assert.deepEqual(s.get(b('k')), b('1'));
  assert.equal(s.compareAndSet(b('k'), b('1'), b('3')), true);
  assert.deepEqual(s.get(b('k')), b('3'));
  assert.equal(s.compareAndSet(b('absent'), b('1'), b('2')), false);
  assert.equal(s.has(b('absent')), false);
});

test('parts on the wire: what encodeParts writes decodes to the same parts; a length past the end is a protocol violation', () => {
  const parts = [b(''), b('key'), Buffer.alloc(70_000, 1)];
  const wire = Buffer.concat(encodeParts(parts));
  assert.deepEqual(decodeParts(wire, 'test'), parts);
  assert.deepEqual(decodeParts(Buffer.alloc(0), 'test'), []);
  assert.throws(() => decodeParts(wire.subarray(0, wire.length - 1), 'test'), ProtocolViolation);
  assert.throws(() => decodeParts(Buffer.from([0, 0]), 'test'), ProtocolViolation);
});
