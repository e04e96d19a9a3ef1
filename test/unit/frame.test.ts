/** The wire: frames survive any split, oversized and garbage input is refused with ProtocolViolation, tails are held back. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SerializationError } from 'procsafe';
import { deserialize } from '../../dist/codec/v8.js';
import { prng } from '../helpers/prng.js';
import { encodeFrame } from '../../dist/codec/value-frame.js';
import { encodeBare, FrameDecoder, kLengthBytes, parseFrame, ProtocolViolation } from '../../dist/transport/frame.js';

/** A whole frame as one buffer (encodeFrame returns the chunks to send, large binary parts apart). */
function frameOf(...args: Parameters<typeof encodeFrame>): Buffer {
  return Buffer.concat(encodeFrame(...args));
}

const kMiB = 1024 * 1024;

/** Feeds chunks to a decoder and returns copies of the frame bodies it delivered. */
function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of chunks) decoder.push(chunk, (body) => out.push(Buffer.from(body)));
  return out;
}

/** Runs `fn` and returns how many bytes Buffer.concat copied meanwhile. */
function concatBytesDuring(fn: () => void): number {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as is (a bound copy is another function); concat ignores `this`
  const originalConcat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], totalLength?: number) => {
    copied += totalLength ?? list.reduce((sum, b) => sum + b.length, 0);
    return originalConcat(list, totalLength);
  });
  try {
    fn();
  } finally {
    Buffer.concat = originalConcat;
  }
  return copied;
}

function sampleFrames(): Buffer[] {
  return [
    frameOf(1, 1, 'square', [3], 'args', 'x'),
    frameOf(2, 0xffffffff, '', { ok: true, list: [1, 2, 3] }, 'result', 'x'),
    encodeBare(7, 42),
    frameOf(3, 5, 'ünïcødé-名前', 'value', 'args', 'x'),
    frameOf(4, 6, 'f'.repeat(255), new Map([['k', 1n]]), 'args', 'x'),
  ];
}

describe('encodeFrame / parseFrame', () => {
  test('a frame round trips: type, id, fn and value', { timeout: 5_000 }, () => {
    const value = { n: 1, s: 'two', big: 3n, bytes: new Uint8Array([4]), when: new Date(5) };
    const frame = frameOf(9, 123456, 'greet', value, 'args', 'the arguments');
    assert.equal(frame.readUInt32BE(0), frame.length - kLengthBytes, 'the length prefix counts what follows');
    const parsed = parseFrame(frame.subarray(kLengthBytes));
    assert.equal(parsed.type, 9);
    assert.equal(parsed.id, 123456);
    assert.equal(parsed.fn, 'greet');
    assert.deepEqual(deserialize(parsed.payload), value);
  });

  test('utf-8 names, empty names, ids up to 2^32-1', { timeout: 5_000 }, () => {
    for (const frame of sampleFrames()) {
      const parsed = parseFrame(frame.subarray(kLengthBytes));
      assert.ok(parsed.type >= 1 && parsed.type <= 7);
    }
    const unicode = parseFrame((sampleFrames()[3] as Buffer).subarray(kLengthBytes));
    assert.equal(unicode.fn, 'ünïcødé-名前');
    assert.equal(deserialize(unicode.payload), 'value');
    const max = parseFrame((sampleFrames()[1] as Buffer).subarray(kLengthBytes));
    assert.equal(max.id, 0xffffffff);
    assert.equal(max.fn, '');
  });

  test('a bare frame has no payload, or room for extra bytes', { timeout: 5_000 }, () => {
    const bare = parseFrame(encodeBare(5, 77).subarray(kLengthBytes));
    assert.equal(bare.type, 5);
    assert.equal(bare.id, 77);
    assert.equal(bare.fn, '');
    assert.equal(bare.payload.length, 0);
    const extra = encodeBare(5, 78, 8);
    assert.equal(extra.readUInt32BE(0), extra.length - kLengthBytes);
    assert.equal(parseFrame(extra.subarray(kLengthBytes)).payload.length, 8);
  });

  test('an uncopyable value throws SerializationError naming the path', { timeout: 5_000 }, () => {
    assert.throws(() => frameOf(1, 1, 'f', [{ cb: () => 1 }], 'args', 'the arguments of "f"'), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.path, 'args[0].cb');
      return true;
    });
  });

  test('bodies shorter than their header are ProtocolViolation', { timeout: 5_000 }, () => {
    for (let n = 0; n < 6; n++) assert.throws(() => parseFrame(Buffer.alloc(n)), ProtocolViolation);
    const body = Buffer.from([1, 0, 0, 0, 1, 10, 0x61, 0x62]); // says fn is 10 bytes, has 2
    assert.throws(() => parseFrame(body), (error: unknown) => {
      assert.ok(error instanceof ProtocolViolation);
      assert.equal(error.code, 'EPROTOCOLVIOLATION');
      return true;
    });
  });
});

describe('FrameDecoder', () => {
  test('reassembles frames split at every byte boundary', { timeout: 20_000 }, () => {
    const frames = sampleFrames();
    const stream = Buffer.concat(frames);
    const expected = frames.map((f) => f.subarray(kLengthBytes));
    for (let i = 0; i <= stream.length; i++) {
      const decoder = new FrameDecoder(kMiB);
      const got = decodeAll(decoder, [stream.subarray(0, i), stream.subarray(i)]);
      assert.deepEqual(got, expected, `split at ${i}`);
      assert.equal(decoder.pending, 0);
    }
    for (let i = 0; i < stream.length; i++) {
      for (const j of [i + 1, i + 3, i + 4, i + 5, i + 17]) {
        if (j > stream.length) continue;
        const decoder = new FrameDecoder(kMiB);
        const got = decodeAll(decoder, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        assert.deepEqual(got, expected, `split at ${i} and ${j}`);
      }
    }
  });

  test('reassembles frames fed one byte at a time', { timeout: 5_000 }, () => {
    const frames = sampleFrames();
    const stream = Buffer.concat(frames);
    const decoder = new FrameDecoder(kMiB);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      decoder.push(stream.subarray(i, i + 1), (body) => got.push(Buffer.from(body)));
    }
    assert.deepEqual(got, frames.map((f) => f.subarray(kLengthBytes)));
    assert.equal(decoder.pending, 0);
  });

  test('many frames in one chunk are all delivered, in order', { timeout: 5_000 }, () => {
    const frames = Array.from({ length: 1000 }, (_, i) => frameOf(1, i, 'f', i % 2 === 0 ? i : `item ${i}`, 'args', 'x'));
    frames.push(encodeBare(2, 1000), encodeBare(2, 1001));
    const decoder = new FrameDecoder(kMiB);
    const got = decodeAll(decoder, [Buffer.concat(frames)]);
    assert.equal(got.length, 1002);
    got.forEach((body, i) => assert.equal(parseFrame(body).id, i));
    assert.equal(deserialize(parseFrame(got[7] as Buffer).payload), 'item 7');
    assert.equal(decoder.pending, 0);
  });

  test('empty chunks are harmless', { timeout: 5_000 }, () => {
    const frame = encodeBare(1, 1);
    const decoder = new FrameDecoder(kMiB);
    const got = decodeAll(decoder, [Buffer.alloc(0), frame.subarray(0, 2), Buffer.alloc(0), frame.subarray(2), Buffer.alloc(0)]);
    assert.equal(got.length, 1);
  });

  test('a zero-length frame is delivered empty, and parseFrame refuses it', { timeout: 5_000 }, () => {
    const got = decodeAll(new FrameDecoder(kMiB), [Buffer.from([0, 0, 0, 0])]);
    assert.deepEqual(got, [Buffer.alloc(0)]);
    assert.throws(() => parseFrame(got[0] as Buffer), ProtocolViolation);
  });

  test('a 32 MiB frame fed in 64 KiB chunks is joined once', { timeout: 30_000 }, () => {
    const payload = Buffer.alloc(32 * kMiB);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i / 4096) & 0xff;
    const frame = frameOf(3, 99, 'bytes', payload, 'result', 'x');
    const small = encodeBare(4, 100);
    const stream = Buffer.concat([frame, small]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 64 * 1024) chunks.push(stream.subarray(i, i + 64 * 1024));
    assert.ok(chunks.length >= 512);

    // Count the bytes Buffer.concat copies: joining once copies the frame once; joining per chunk would copy ~8 GiB.
    const got: Buffer[] = [];
    const decoder = new FrameDecoder(64 * kMiB);
    const started = process.hrtime.bigint();
    const copied = concatBytesDuring(() => {
      for (const chunk of chunks) decoder.push(chunk, (body) => got.push(body));
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(got.length, 2);
    assert.ok(copied <= 2 * stream.length, `Buffer.concat copied ${copied} bytes for a ${stream.length}-byte stream`);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    const parsed = parseFrame(got[0] as Buffer);
    assert.equal(parsed.id, 99);
    assert.equal(parsed.fn, 'bytes');
    const back = deserialize(parsed.payload) as Buffer;
    assert.equal(back.length, payload.length);
    assert.ok(back.equals(payload));
    assert.equal(parseFrame(got[1] as Buffer).id, 100);
    assert.equal(decoder.pending, 0);
  });

  test('with piecesFrom, a frame split anywhere arrives as pieces that add up to it, and the frames after it are intact',
    { timeout: 30_000 }, () => {
    const frames = [...sampleFrames(), frameOf(5, 7, 'big', Buffer.alloc(300, 7), 'args', 'x'), encodeBare(6, 8)];
    const stream = Buffer.concat(frames);
    const expected = frames.map((f) => f.subarray(kLengthBytes));
    const joined = (decoder: FrameDecoder, chunks: readonly Buffer[]) => {
      const out: Buffer[] = [];
      let inPieces = 0;
      for (const chunk of chunks) {
        decoder.push(chunk, (body, more) => {
          if (more !== undefined && more.length > 0) inPieces++;
          out.push(Buffer.concat([body, ...(more ?? [])]));
        });
      }
      return { out, inPieces };
    };
    let everInPieces = 0;
    for (let i = 0; i <= stream.length; i++) {
      for (const j of [i + 1, i + 7, i + 64]) {
        if (j > stream.length) continue;
        // Every frame of 16 bytes or more may come in pieces.
        const decoder = new FrameDecoder(kMiB, 16);
        const { out, inPieces } = joined(decoder, [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        assert.deepEqual(out, expected, `split at ${i} and ${j}`);
        assert.equal(decoder.pending, 0);
        everInPieces += inPieces;
      }
    }
    assert.ok(everInPieces > 0, 'some frames came in pieces');
    // One byte at a time: the header is in the first piece or the frame is joined; either way the bytes are right.
    const decoder = new FrameDecoder(kMiB, 16);
    const bytes = Array.from({ length: stream.length }, (_, k) => stream.subarray(k, k + 1));
    assert.deepEqual(joined(decoder, bytes).out, expected);
  });

  test('with piecesFrom, a 32 MiB frame in 64 KiB chunks is handed over without being joined', { timeout: 30_000 }, () => {
    const frame = frameOf(3, 99, 'bytes', Buffer.alloc(32 * kMiB, 1), 'result', 'x');
    const stream = Buffer.concat([frame, encodeBare(4, 100)]);
    const got: { body: Buffer; more: readonly Buffer[] | undefined }[] = [];
    const decoder = new FrameDecoder(64 * kMiB, 64 * 1024);
    const copied = concatBytesDuring(() => {
      for (let i = 0; i < stream.length; i += 64 * 1024) {
        decoder.push(stream.subarray(i, i + 64 * 1024), (body, more) => got.push({ body, more }));
      }
    });
    assert.ok(copied < 64 * 1024, `Buffer.concat copied ${copied} bytes`);
    assert.equal(got.length, 2);
    const [big, small] = got as [typeof got[0], typeof got[0]];
    assert.ok((big.more?.length ?? 0) >= 511, 'the big frame is in pieces');
    assert.ok(Buffer.concat([big.body, ...(big.more ?? [])]).equals(frame.subarray(kLengthBytes)));
    assert.equal(parseFrame(small.body).id, 100);
    assert.equal(decoder.pending, 0);
  });

  test('an oversized length header throws ProtocolViolation before buffering the body', { timeout: 5_000 }, () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 + 1);
    assert.throws(() => new FrameDecoder(1024).push(header, () => assert.fail('no frame')), (error: unknown) => {
      assert.ok(error instanceof ProtocolViolation);
      assert.match(error.message, /1025.*maxMessageBytes.*1024/);
      return true;
    });
    // The header alone suffices, even when it arrives in pieces after a good frame.
    const decoder = new FrameDecoder(1024);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffffffff);
    const good = encodeBare(1, 1);
    const delivered: number[] = [];
    decoder.push(Buffer.concat([good, huge.subarray(0, 2)]), (body) => delivered.push(parseFrame(body).id));
    assert.deepEqual(delivered, [1]);
    assert.throws(() => decoder.push(huge.subarray(2), () => assert.fail('no frame')), ProtocolViolation);
    // Exactly the limit is fine.
    const exact = Buffer.concat([Buffer.from([0, 0, 4, 0]), Buffer.alloc(1024)]);
    assert.equal(decodeAll(new FrameDecoder(1024), [exact]).length, 1);
  });

  test('an oversized frame after good ones in the same chunk: the good ones arrive, then it throws', { timeout: 5_000 }, () => {
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(2048);
    const delivered: number[] = [];
    assert.throws(() => new FrameDecoder(1024).push(Buffer.concat([encodeBare(1, 1), encodeBare(1, 2), bad]),
      (body) => delivered.push(parseFrame(body).id)), ProtocolViolation);
    assert.deepEqual(delivered, [1, 2]);
  });

  test('a truncated tail is held back and never delivered', { timeout: 5_000 }, () => {
    const complete = frameOf(1, 1, 'f', 'whole', 'args', 'x');
    const partial = frameOf(1, 2, 'f', 'half written', 'args', 'x');
    for (const cut of [1, 3, 4, 5, partial.length - 1]) {
      const decoder = new FrameDecoder(kMiB);
      const got = decodeAll(decoder, [Buffer.concat([complete, partial.subarray(0, cut)])]);
      assert.equal(got.length, 1, `cut at ${cut}`);
      assert.equal(parseFrame(got[0] as Buffer).id, 1);
      assert.equal(decoder.pending, cut, 'the tail is held, not delivered');
      // More partial bytes still deliver nothing.
      if (cut < partial.length - 1) assert.equal(decodeAll(decoder, [partial.subarray(cut, partial.length - 1)]).length, 0);
    }
  });

  test('fuzz: random bytes yield frames or ProtocolViolation, nothing else', { timeout: 60_000 }, () => {
    const random = prng(0x5eed);
    const good = sampleFrames();
    let frames = 0;
    let violations = 0;
    for (let round = 0; round < 12_000; round++) {
      let bytes: Buffer;
      const kind = round % 4;
      if (kind === 0) {
        bytes = randomBytes(Math.floor(random() * 64));
      } else if (kind === 1) {
        // A plausible length header, then random bytes: reaches parseFrame with garbage bodies.
        const length = Math.floor(random() * 48);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(length);
        bytes = Buffer.concat([head, randomBytes(Math.floor(random() * 2 * (length + 4)))]);
      } else if (kind === 2) {
        // A real frame with a few bytes flipped.
        bytes = Buffer.from(good[Math.floor(random() * good.length)] as Buffer);
        for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      } else {
        // Several frames of random small lengths, each with random content.
        const parts: Buffer[] = [];
        for (let k = 0, n = 1 + Math.floor(random() * 4); k < n; k++) {
          const body = randomBytes(Math.floor(random() * 24));
          const head = Buffer.alloc(4);
          head.writeUInt32BE(body.length);
          parts.push(head, body);
        }
        bytes = Buffer.concat(parts);
      }
      const decoder = new FrameDecoder(random() < 0.5 ? 64 : 4096);
      try {
        // Split at a random point, so both decoder paths are exercised.
        const at = Math.floor(random() * (bytes.length + 1));
        for (const chunk of [bytes.subarray(0, at), bytes.subarray(at)]) {
          decoder.push(chunk, (body) => {
            const frame = parseFrame(body);
            assert.ok(frame.payload.length <= body.length);
            frames++;
          });
        }
        assert.ok(decoder.pending <= bytes.length);
      } catch (error) {
        if (!(error instanceof ProtocolViolation)) {
          assert.fail(`round ${round}: ${bytes.toString('hex')} threw ${String(error)}`);
        }
        violations++;
      }
    }
    assert.ok(frames > 1000, `frames: ${frames}`);
    assert.ok(violations > 1000, `violations: ${violations}`);
  });
});
