/**
 * One lane's byte ring (transport/lanes/ring.ts) over plain memory, both ends in this thread: wrap-around of the data
 * and of the 32-bit positions, partial puts into a full ring, takes that are copies, the sleep and room announcements,
 * and words a peer moved out of range, which cut it off (ProtocolViolation) instead of being trusted with a length.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ring } from '../../dist/transport/lanes/ring.js';
import { kLaneBytes, kLaneFileBytes, kUp } from '../../dist/transport/lanes/layout.js';
import { ProtocolViolation } from '../../dist/internal/protocol-violation.js';
import { prng } from '../helpers/prng.js';

const kT = { timeout: 10_000 };

interface Pair { writer: Ring; reader: Ring; words: Int32Array; data: Uint8Array }

/** A writer and a reader over one fresh lane file, its positions starting at `start` (mod 2^32). */
function pair(start = 0): Pair {
  const file = new ArrayBuffer(kLaneFileBytes);
  const words = new Int32Array(file, 0, 1024);
  Atomics.store(words, kUp.tail, start | 0);
  Atomics.store(words, kUp.head, start | 0);
  return {
    writer: new Ring(words, file, kUp, true), reader: new Ring(words, file, kUp, false), words,
    data: new Uint8Array(file, kUp.data, kLaneBytes),
  };
}

/** `n` bytes counting up from `from` (mod 256): where each byte landed shows. */
function bytes(n: number, from = 0): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (from + i) & 0xff;
  return out;
}

/** Puts all of `chunk` (it must fit) and publishes it. */
function putAll(ring: Ring, chunk: Buffer): void {
  assert.equal(ring.put(chunk, 0), chunk.length, 'it fits');
  ring.publish();
}

describe('lane ring', () => {
  test('bytes put and published come out whole and in order, across the end of the data', kT, () => {
    const { writer, reader } = pair();
    assert.equal(reader.take(), undefined, 'nothing published yet');
    const first = bytes(kLaneBytes - 100, 1);
    putAll(writer, first);
    assert.deepEqual(reader.take(), first);
    // 300 bytes from 100 before the end: 100 at the end, 200 from the start.
    const across = bytes(300, 77);
    putAll(writer, across);
    assert.deepEqual(reader.take(), across);
    assert.equal(reader.take(), undefined);
  });

  test('positions wrap at 2^32 without losing or repeating a byte', kT, () => {
    const { writer, reader, words } = pair(2 ** 32 - 1000);
    const random = prng(31);
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    for (let round = 0; round < 40; round++) {
      const chunk = bytes(1 + Math.floor(random() * 9000), round);
      putAll(writer, chunk);
      sent.push(chunk);
      if (random() < 0.6) got.push(reader.take() as Buffer);
    }
    for (let chunk = reader.take(); chunk !== undefined; chunk = reader.take()) got.push(chunk);
    assert.deepEqual(Buffer.concat(got), Buffer.concat(sent));
    assert.ok((Atomics.load(words, kUp.tail) >>> 0) < 2 ** 31, 'the tail did wrap past 2^32');
    assert.equal(Atomics.load(words, kUp.head), Atomics.load(words, kUp.tail));
  });

  test('a put into a ring short of room copies what fits; the rest goes once the reader took', kT, () => {
    const { writer, reader } = pair();
    const big = bytes(kLaneBytes + 5000, 9);
    assert.equal(writer.put(big, 0), kLaneBytes, 'a full lane and no more');
    assert.equal(writer.put(big, kLaneBytes), 0, 'no room: nothing copied');
    assert.equal(reader.take(), undefined, 'unpublished bytes are invisible');
    writer.publish();
    const first = reader.take() as Buffer;
    assert.equal(first.length, kLaneBytes);
    assert.equal(writer.put(big, kLaneBytes), 5000);
    writer.publish();
    assert.deepEqual(Buffer.concat([first, reader.take() as Buffer]), big);
  });

  test('a take is a copy: the ring reused or scribbled on afterwards leaves it as it was', kT, () => {
    const { writer, reader, data } = pair();
    const chunk = bytes(4096, 3);
    putAll(writer, chunk);
    const taken = reader.take() as Buffer;
    assert.notEqual(taken.buffer, data.buffer, 'not a view of the lane');
    data.fill(0xee, 0, 4096);
    // The writer goes round the whole lane and over the same bytes again.
    for (let i = 0; i < kLaneBytes / 4096; i++) {
      putAll(writer, Buffer.alloc(4096, i));
      reader.take();
    }
    assert.deepEqual(taken, chunk);
  });

  test('a reader announces sleep; the next publish takes the announcement and rings once', kT, () => {
    const { writer, reader, words } = pair();
    assert.equal(reader.sleep(), false, 'nothing there: asleep');
    assert.equal(Atomics.load(words, kUp.readerSleeps), 1);
    assert.equal(writer.put(bytes(10), 0), 10);
    assert.equal(writer.publish(), true, 'asleep: ring it');
    assert.equal(Atomics.load(words, kUp.readerSleeps), 0, 'the ring took the announcement');
    assert.equal(writer.put(bytes(10), 0), 10);
    assert.equal(writer.publish(), false, 'being woken already: not rung again');
    reader.wake();
    assert.equal((reader.take() as Buffer).length, 20);
    // Bytes published between the reader's last look and its announcement: it sees them and stays awake.
    putAll(writer, bytes(5));
    assert.equal(reader.sleep(), true, 'bytes came: awake');
    assert.equal(Atomics.load(words, kUp.readerSleeps), 0, 'the announcement is withdrawn');
    assert.equal((reader.take() as Buffer).length, 5);
  });

  test('a writer without room announces it; the reader that frees room is told to ring, once', kT, () => {
    const { writer, reader, words } = pair();
    assert.equal(writer.put(bytes(kLaneBytes), 0), kLaneBytes);
    writer.publish();
    assert.equal(writer.waitForRoom(), false, 'full: wait');
    assert.equal(Atomics.load(words, kUp.writerWaits), 1);
    assert.equal(reader.writerWaits(), true, 'the writer waits');
    assert.equal(Atomics.load(words, kUp.writerWaits), 0, 'the announcement is taken');
    assert.equal(reader.writerWaits(), false, 'told once');
    reader.take();
    assert.equal(writer.waitForRoom(), true, 'room came meanwhile: no wait');
    assert.equal(Atomics.load(words, kUp.writerWaits), 0, 'the announcement is withdrawn');
  });

  test('a tail moved past the head plus the lane (or behind the head) cuts the peer off', kT, () => {
    for (const scribble of [kLaneBytes + 1, 2 ** 31, 2 ** 32 - 1]) {
      const { writer, reader, words } = pair(12345);
      putAll(writer, bytes(100));
      Atomics.store(words, kUp.tail, (12345 + scribble) | 0);
      assert.throws(() => reader.take(), ProtocolViolation, `tail = head + ${scribble}`);
    }
    // Exactly a full lane is legal.
    const { writer, reader } = pair(7);
    putAll(writer, bytes(kLaneBytes));
    assert.equal((reader.take() as Buffer).length, kLaneBytes);
  });

  test('a head moved past the tail (or more than a lane behind it) cuts the peer off', kT, () => {
    for (const scribble of [1, 1000, -(kLaneBytes + 1), 2 ** 31]) {
      const { writer, words } = pair(500);
      putAll(writer, bytes(100));
      Atomics.store(words, kUp.head, (600 + scribble) | 0);
      assert.throws(() => writer.put(bytes(10), 0), ProtocolViolation, `head = tail + ${scribble}`);
      assert.throws(() => writer.waitForRoom(), ProtocolViolation);
    }
  });
});
