/** codec/results.ts and the queue's fast values: what a result or an item is sent as, and that it comes back the same. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kFromChild } from '../../dist/child/protocol.js';
import { decodeResult, encodeResult, type ResultKind } from '../../dist/codec/results.js';
import { decodeSimple, encodeSimple, kNotSimple } from '../../dist/codec/fast-value.js';
import { deserialize, serializeAfter } from '../../dist/codec/v8.js';
import { parseFrame } from '../../dist/transport/frame.js';

const kLoneSurrogates = ['\uD800', 'a\uDC00b', '\uDE00\uD83D'];

/** The result frame for `value`, and the value decoded from it. */
function roundTrip(value: unknown): { type: number; back: unknown } {
  const encoded = encodeResult(9, value, 'f', 1 << 20);
  const frame = parseFrame(Buffer.concat(Buffer.isBuffer(encoded) ? [encoded] : encoded).subarray(4));
  assert.equal(frame.id, 9);
  return { type: frame.type, back: decodeResult(frame.type as ResultKind, frame.payload) };
}

test('numbers, undefined and short well-formed strings skip v8; they come back exactly', () => {
  for (const value of [0, -0, NaN, -Infinity, 1.5e300]) {
    const { type, back } = roundTrip(value);
    assert.equal(type, kFromChild.OkNumber);
    assert.ok(Object.is(back, value), String(value));
  }
  assert.deepEqual(roundTrip(undefined), { type: kFromChild.OkUndefined, back: undefined });
  for (const value of ['', 'héllo ✓ 𝄞', 'x'.repeat(1024)]) assert.deepEqual(roundTrip(value), { type: kFromChild.OkString, back: value });
  assert.deepEqual(roundTrip('x'.repeat(1025)), { type: kFromChild.Ok, back: 'x'.repeat(1025) });
  assert.deepEqual(roundTrip({ a: [1n] }), { type: kFromChild.Ok, back: { a: [1n] } });
});

test('a string holding a lone surrogate goes by v8, which keeps it', () => {
  for (const value of kLoneSurrogates) assert.deepEqual(roundTrip(value), { type: kFromChild.Ok, back: value }, JSON.stringify(value));
});

test('a result over maxMessageBytes throws SerializationError, for its task to fail with', () => {
  assert.throws(() => encodeResult(1, 'y'.repeat(5000), 'big', 1024), { name: 'SerializationError', message: /the result of "big" takes \d+ bytes, over maxMessageBytes \(1024\)/ });
});

test('a queue item holding a lone surrogate is no fast value: v8 carries it', () => {
  for (const value of kLoneSurrogates) {
    assert.equal(encodeSimple(value), undefined, JSON.stringify(value));
    const payload = Buffer.concat(serializeAfter(Buffer.alloc(0), value, 'item', 'the item'));
    assert.equal(decodeSimple(payload), kNotSimple);
    assert.equal(deserialize(payload), value);
  }
});
