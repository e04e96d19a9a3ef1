/** Bundles: runs of small frames of one kind travel as one frame, and come apart as the frames they stand for. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outbox, unbundle } from '../../dist/broker/bundle.js';
import { encodeHead, type Frame, FrameDecoder, parseFrame, ProtocolViolation } from '../../dist/transport/frame.js';
import { kAnswer, kBundle, kRequest } from '../../dist/broker/protocol.js';

/** What a receiver sees: every frame, bundles opened into their parts. */
function received(buffers: readonly Buffer[]): { type: number; id: number; fn: string; payload: string }[] {
  const out: { type: number; id: number; fn: string; payload: string }[] = [];
  const decoder = new FrameDecoder(1 << 30);
  const take = (frame: Frame): void => {
    out.push({ type: frame.type, id: frame.id, fn: frame.fn, payload: frame.payload.toString('latin1') });
  };
  decoder.push(Buffer.concat(buffers), (body) => {
    const frame = parseFrame(body);
    if (frame.type === kBundle.Put || frame.type === kBundle.Get || frame.type === kBundle.Delivered) unbundle(frame, take);
    else take(frame);
  });
  return out;
}

/** How many frames are on the wire. */
function frameCount(buffers: readonly Buffer[]): number {
  let count = 0;
  new FrameDecoder(1 << 30).push(Buffer.concat(buffers), () => { count++; });
  return count;
}

const put = (id: number, text: string, object = 'q1') => ({ bundle: kBundle.Put, object, id, fn: '', payload: [Buffer.from(text)] });

test('a run of puts for one object leaves as one frame and arrives as the same puts, in order', () => {
  const box = new Outbox();
  for (let i = 1; i <= 100; i++) box.pushPart(put(i, `item ${i}`));
  const wire = box.take(1 << 20);
  assert.equal(frameCount(wire), 1);
  assert.equal(box.empty, true);
  assert.deepEqual(received(wire),
    Array.from({ length: 100 }, (_, i) => ({ type: kRequest.Put, id: i + 1, fn: 'q1', payload: `item ${i + 1}` })));
});

test('other frames, other objects and other kinds end a run, so the order on the wire is the order queued', () => {
  const box = new Outbox();
  box.pushPart(put(1, 'a'));
  box.pushPart(put(2, 'b'));
  box.push(encodeHead(kRequest.Get, 3, 'q1', 0));
  box.pushPart(put(4, 'c'));
  box.pushPart(put(5, 'd', 'q2'));
  box.pushPart({ bundle: kBundle.Get, object: 'q2', id: 6, fn: '', payload: [] });
  box.pushBuild(() => [encodeHead(kRequest.Get, 7, 'q2', 0)]);
  const wire = box.take(1 << 20);
  assert.deepEqual(received(wire).map((frame) => [frame.type, frame.id, frame.fn, frame.payload]), [
    [kRequest.Put, 1, 'q1', 'a'], [kRequest.Put, 2, 'q1', 'b'], [kRequest.Get, 3, 'q1', ''], [kRequest.Put, 4, 'q1', 'c'],
    [kRequest.Put, 5, 'q2', 'd'], [kRequest.Get, 6, 'q2', ''], [kRequest.Get, 7, 'q2', ''],
  ]);
  // A lone part goes as its plain frame: 1-2 bundled, then 3, then 4, 5, 6 and 7 each alone.
  assert.equal(frameCount(wire), 6);
});

test('a bundle stays under the receiver\'s frame limit; a part too large for any bundle goes alone, uncopied', () => {
  const box = new Outbox();
  for (let i = 1; i <= 40; i++) box.pushPart(put(i, 'x'.repeat(100)));
  const large = Buffer.alloc(300 * 1024, 1);
  box.pushPart({ bundle: kBundle.Put, object: 'q1', id: 41, fn: '', payload: [large] });
  const wire = box.take(1024);
  for (const buffer of wire) if (buffer !== large) assert.ok(buffer.length <= 1024 + 64, `a frame of ${buffer.length} bytes`);
  assert.ok(wire.includes(large), 'the large payload is sent as it is');
  const frames = received(wire);
  assert.deepEqual(frames.map((frame) => frame.id), Array.from({ length: 41 }, (_, i) => i + 1));
  assert.equal(frames[40]?.payload.length, large.length);
});

test('answers: a delivered part keeps its own fn (deliveries and item id)', () => {
  const box = new Outbox();
  box.pushPart({ bundle: kBundle.Delivered, object: '', id: 9, fn: '1 q1:0', payload: [Buffer.from('first')] });
  box.pushPart({ bundle: kBundle.Delivered, object: '', id: 10, fn: '2 q1:1', payload: [Buffer.from('second')] });
  assert.deepEqual(received(box.take(1 << 20)), [
    { type: kAnswer.Delivered, id: 9, fn: '1 q1:0', payload: 'first' },
    { type: kAnswer.Delivered, id: 10, fn: '2 q1:1', payload: 'second' },
  ]);
});

test('a malformed bundle is refused whole, before any part is acted on', () => {
  const box = new Outbox();
  box.pushPart(put(1, 'a'));
  box.pushPart(put(2, 'b'));
  const [wire] = box.take(1 << 20) as [Buffer];
  const frame = parseFrame(wire.subarray(4));
  const seen: number[] = [];
  // Cut inside the second part, and inflate the second part's length.
  for (const payload of [frame.payload.subarray(0, frame.payload.length - 1), frame.payload.subarray(0, 12)]) {
    assert.throws(() => unbundle({ ...frame, payload }, (part) => seen.push(part.id)), ProtocolViolation);
  }
  const lying = Buffer.from(frame.payload);
  lying.writeUInt32BE(1000, lying.length - 5);
  assert.throws(() => unbundle({ ...frame, payload: lying }, (part) => seen.push(part.id)), /claims 1000 bytes/);
  assert.deepEqual(seen, [], 'no part of a malformed bundle was handed on');
  assert.throws(() => unbundle({ ...frame, type: kAnswer.Done }, () => {}), /not a bundle/);
});
