// What a queue's client does with its owner's answers (broker/link.ts): a
// malformed one cuts the link, so every request on it ends with BrokerLost and
// whatever the owner leased to it goes back, instead of a request resolving
// with garbage (an item with NaN deliveries) or the link carrying on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerLost } from 'procsafe';
import type { Delivery } from '../../dist/queue/backend.js';
import { LocalQueueBackend } from '../../dist/queue/local-backend.js';
import { encodeText, type Frame } from '../../dist/transport/frame.js';
import { Server } from '../../dist/transport/server.js';

// The numbers on the wire (docs/wire.md), so that this file runs against any version.
const kGet = 52;
const kPut = 50;
const kDelivered = 81;
const kRefused = 82;

/** A client of a fake owner that answers each get with `reply(get)`. */
async function backend(t: { after: (fn: () => unknown) => void }, reply: (get: Frame) => Buffer): Promise<LocalQueueBackend> {
  const server = await Server.listen({
    verify: () => true, maxMessageBytes: 1 << 20, log: () => {},
    onPeer: (connection) => connection.listen({
      frame: (frame) => { if (frame.type === kGet) connection.send([reply(frame)]); },
      close: () => {},
    }),
  });
  t.after(() => server.close());
  return new LocalQueueBackend({
    kind: 'queue', path: server.path, pid: process.pid, object: '1', secret: 'unused', maxMessageBytes: 1 << 20, size: 0,
  });
}

test('a well-formed delivery reaches the reader as its count, id and bytes', { timeout: 10_000 }, async (t) => {
  const queue = await backend(t, (get) => encodeText(kDelivered, get.id, '3 q1:7', 'item'));
  const { deliveries, id, payload } = await queue.get({});
  assert.deepEqual({ deliveries, id, payload: (payload as Buffer).toString() }, { deliveries: 3, id: 'q1:7', payload: 'item' });
});

for (const [what, reply, reason] of [
  ['a delivery whose fn is not "<deliveries> <item id>"', (get: Frame) => encodeText(kDelivered, get.id, 'x', 'item'), /delivery's fn/],
  ['a frame that is not an answer', (get: Frame) => encodeText(kPut, get.id, '', 'item'), /not an answer/],
  ['a refusal for no known reason', (get: Frame) => encodeText(kRefused, get.id, 'nope', 'no'), /unknown refusal reason/],
] as const) {
  test(`${what} cuts the link: the get rejects BrokerLost`, { timeout: 10_000 }, async (t) => {
    const queue = await backend(t, reply);
    await assert.rejects(queue.get({}), (error: Error) => error instanceof BrokerLost && reason.test(error.message));
  });
}

test('a malformed delivery to a read-ahead get fails that reader with BrokerLost', { timeout: 10_000 }, async (t) => {
  const queue = await backend(t, (get) => encodeText(kDelivered, get.id, '1', 'item'));
  const outcome = await new Promise<Delivery | Error>((resolve) => {
    queue.readAhead({ delivered: resolve, failed: resolve }).request();
  });
  assert.ok(outcome instanceof BrokerLost, `got ${String(outcome instanceof Error ? outcome : JSON.stringify(outcome))}`);
});
