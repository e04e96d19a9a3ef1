import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serializeAfter } from '../../dist/codec/v8.js';

const kPrefix = Buffer.from('HEAD');

/** Serializes like a frame, joins the chunks as the wire would, reads it back. */
function roundTrip(value: unknown): { back: unknown; chunks: number } {
  const chunks = serializeAfter(kPrefix, value, 'value', 'the value');
  const joined = Buffer.concat(chunks);
  assert.equal(joined.subarray(0, 4).toString(), 'HEAD');
  return { back: deserialize(joined.subarray(4)), chunks: chunks.length };
}

test('large typed arrays and Buffers travel out of band and come back as the same type and bytes', { timeout: 10_000 }, () => {
  const n = 40_000; // above the 64 KiB threshold for every element size but 1
  const value = {
    buf: Buffer.alloc(200_000, 7),
    u8: new Uint8Array(100_000).fill(1),
    i16: new Int16Array(n).fill(-2),
    f32: new Float32Array(n).fill(1.5),
    f64: Float64Array.from({ length: n }, (_, i) => i / 7),
    big: new BigInt64Array(n).fill(-5n),
    view: new DataView(new ArrayBuffer(70_000)),
    small: Buffer.from('small stays inline'),
    nested: [{ again: new Uint32Array(n).fill(4_000_000_000) }],
  };
  value.view.setUint32(100, 0xdeadbeef);
  const { back, chunks } = roundTrip(value);
  assert.equal(chunks, 1 + 8, 'eight large views, each its own chunk');
  const got = back as typeof value;
  assert.ok(Buffer.isBuffer(got.buf));
  assert.ok(got.buf.equals(value.buf));
  assert.ok(got.i16 instanceof Int16Array && got.i16[n - 1] === -2);
  assert.ok(got.f32 instanceof Float32Array && got.f32[7] === 1.5);
  assert.ok(got.f64 instanceof Float64Array && got.f64[n - 1] === (n - 1) / 7);
  assert.ok(got.big instanceof BigInt64Array && got.big[3] === -5n);
  assert.ok(got.view instanceof DataView && got.view.getUint32(100) === 0xdeadbeef);
  assert.equal(got.small.toString(), 'small stays inline');
  assert.equal(got.nested[0]?.again[5], 4_000_000_000);
});

test('a view whose bytes land misaligned is copied into aligned memory', { timeout: 10_000 }, () => {
  const chunks = serializeAfter(Buffer.from('X'), new Float64Array(20_000).fill(2.25), 'v', 'v');
  const joined = Buffer.concat(chunks);
  // Shift the payload by one byte inside a larger buffer: the region is now misaligned.
  const shifted = Buffer.alloc(joined.length + 1);
  joined.copy(shifted, 1);
  const back = deserialize(shifted.subarray(2)) as Float64Array;
  assert.ok(back instanceof Float64Array);
  assert.equal(back.length, 20_000);
  assert.equal(back[19_999], 2.25);
});

test('values without large views are one chunk', { timeout: 10_000 }, () => {
  assert.equal(roundTrip({ a: 1, b: 'two', c: new Uint8Array(10) }).chunks, 1);
  assert.deepEqual(roundTrip([1, 'x', null]).back, [1, 'x', null]);
});
