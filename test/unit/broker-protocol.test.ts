// The owner's protocol (broker/protocol.ts): kinds that cannot be confused, and
// deliveries and refusals that decode to exactly what was encoded, or not at all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkAnswer, decodeDelivery, decodeRefusal, deliveryFn, encodeRefusal, isAnswer, isBarrierRequest, isConditionRequest, isEventRequest,
  isLockRequest, isMapRequest, isPipeRequest, isQueueRequest, isRequest, kAnswer, kBundle, kRefusalReasons, kRequest, quarantineError,
  quarantineRefusal,
} from '../../dist/broker/protocol.js';
import { ItemQuarantined } from '../../dist/errors.js';
import { encodeText, type Frame, parseFrame, ProtocolViolation } from '../../dist/transport/frame.js';
import { kHandshake } from '../../dist/transport/handshake.js';

const parse = (frame: Buffer): Frame => parseFrame(frame.subarray(4));

test('every kind on an owner\'s socket has its own u8 number, and every request is taken by some object', () => {
  const all = [kHandshake, kRequest, kAnswer, kBundle].flatMap((kinds) => Object.values(kinds) as number[]);
  assert.equal(new Set(all).size, all.length, 'no two kinds share a number');
  assert.ok(all.every((type) => Number.isInteger(type) && type > 0 && type < 256));
  for (const type of Object.values(kRequest)) {
    assert.ok(isRequest(type) && !isAnswer(type));
    const common = type === kRequest.CancelRequest || type === kRequest.Inspect || type === kRequest.PeerPid;
    assert.ok(common || isQueueRequest(type) || isLockRequest(type) || isEventRequest(type) || isBarrierRequest(type) ||
      isConditionRequest(type) || isMapRequest(type) || isPipeRequest(type),
      `request ${type} is placed`);
  }
  for (const type of Object.values(kAnswer)) assert.ok(isAnswer(type) && !isRequest(type));
  for (const type of [...Object.values(kBundle), ...Object.values(kHandshake), 0, 1, 255]) assert.ok(!isAnswer(type) && !isRequest(type));
});

test('a delivery decodes to what was encoded, from a frame or a file reference', () => {
  const frame = parse(encodeText(kAnswer.Delivered, 7, deliveryFn(3, 'q12:40'), 'item bytes'));
  const delivery = decodeDelivery(frame);
  assert.deepEqual({ ...delivery, item: delivery.item?.toString() },
    { deliveries: 3, itemId: 'q12:40', item: 'item bytes', file: undefined });
  const big = parse(encodeText(kAnswer.DeliveredFile, 8, deliveryFn(Number.MAX_SAFE_INTEGER % 1e15, 'q1:0'), '0123456789abcdef-4 65536'));
  assert.deepEqual(decodeDelivery(big), {
    deliveries: Number.MAX_SAFE_INTEGER % 1e15, itemId: 'q1:0', item: undefined, file: { file: '0123456789abcdef-4', length: 65536 },
  });
});

test('a delivery whose fn is not exactly "<deliveries> <item id>", or a frame of another type, is a protocol violation', () => {
  const malformed = [
    '', '1', '1 ', ' q1:0', '0 q1:0', '01 q1:0', '-1 q1:0', '+1 q1:0', '1.5 q1:0', '1e3 q1:0', '0x10 q1:0', 'x q1:0', '1\tq1:0',
    '1234567890123456 q1:0',
  ];
  for (const fn of malformed) {
    assert.throws(() => decodeDelivery(parse(encodeText(kAnswer.Delivered, 1, fn, ''))), ProtocolViolation, JSON.stringify(fn));
    assert.throws(() => checkAnswer(parse(encodeText(kAnswer.DeliveredFile, 1, fn, 'f-1 1'))), ProtocolViolation, JSON.stringify(fn));
  }
  assert.throws(() => decodeDelivery(parse(encodeText(kAnswer.Done, 1, '1 q1:0', ''))), /not a delivery/);
});

test('a refusal decodes to its reason and message; an unknown reason or another type is a protocol violation', () => {
  for (const reason of kRefusalReasons.filter((r) => r !== 'quarantined')) {
    assert.deepEqual(decodeRefusal(parse(encodeRefusal(4, reason, `why: ${reason} ✓`))), { reason, message: `why: ${reason} ✓` });
  }
  // A quarantine carries "<deaths> <item id>" and nothing else.
  assert.deepEqual(decodeRefusal(parse(quarantineRefusal(4, 'q1:0', 5))), { reason: 'quarantined', message: '5 q1:0' });
  for (const message of ['why', '0 q1:0', '5', '5 ', '5 q1:0 x', '-5 q1:0']) {
    assert.throws(() => checkAnswer(parse(encodeRefusal(4, 'quarantined', message))), ProtocolViolation);
  }
  const error = quarantineError('5 q1:0');
  assert.ok(error instanceof ItemQuarantined);
  assert.deepEqual([error.code, error.itemId, error.deaths], ['EITEMQUARANTINED', 'q1:0', 5]);
  assert.match(error.message, /^item q1:0 was taken out of the queue: 5 readers died holding it/);
  for (const fn of ['', 'Closed', 'closed ', 'timeout']) {
    assert.throws(() => decodeRefusal(parse(encodeText(kAnswer.Refused, 4, fn, 'm'))), /unknown refusal reason/);
    assert.throws(() => checkAnswer(parse(encodeText(kAnswer.Refused, 4, fn, 'm'))), ProtocolViolation);
  }
  assert.throws(() => decodeRefusal(parse(encodeText(kAnswer.Value, 4, 'closed', 'm'))), /not a refusal/);
});

test('checkAnswer takes every well-formed answer and nothing else', () => {
  for (const type of [kAnswer.Done, kAnswer.Granted, kAnswer.Passed, kAnswer.Value, kAnswer.FileFree]) {
    checkAnswer(parse(encodeText(type, 1, '', '')));
  }
  checkAnswer(parse(encodeText(kAnswer.Delivered, 1, deliveryFn(1, 'q1:0'), '')));
  checkAnswer(parse(encodeRefusal(1, 'cancelled', 'cancelled')));
  for (const type of [kRequest.Get, kBundle.Delivered, kHandshake.Welcome, 12, 0, 255]) {
    assert.throws(() => checkAnswer(parse(encodeText(type, 1, '', ''))), /not an answer/);
  }
});
