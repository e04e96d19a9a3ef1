/**
 * The broker books a waiting-kind request (put, get, join, acquire, wait) only if
 * it is still unanswered once handled: these check, on a Broker fed through fake
 * connections, that an answered-at-once request leaves nothing behind and a
 * parked one keeps every rule (no id reuse while it waits, cancel, death).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker } from '../../dist/broker/broker.js';
import { encodeSimple } from '../../dist/codec/fast-value.js';
import { OwnerSpills } from '../../dist/queue/spill.js';
import { isBundle, unbundle } from '../../dist/broker/bundle.js';
import { encodeHead, type Frame, FrameDecoder, parseFrame } from '../../dist/transport/frame.js';
import { decodeDelivery, decodeRefusal, kAnswer, kRequest } from '../../dist/broker/protocol.js';

const kObject = '3';

interface Fake {
  events: { frame(frame: Frame): void; close(reason?: Error): void } | undefined;
  sent: Buffer[];
  closed: boolean;
  destroyedWith: Error | undefined;
  listen(events: Fake['events']): void;
  send(chunks: readonly Buffer[]): void;
  destroy(reason?: Error): void;
  maxMessageBytes: number;
}

/** Why the broker cut the connection off (read through a call: assertions narrow the field). */
const cutWith = (connection: Fake): Error | undefined => connection.destroyedWith;

function fakeConnection(): Fake {
  return {
    events: undefined, sent: [], closed: false, destroyedWith: undefined, maxMessageBytes: 0,
    listen(events) { this.events = events; },
    send(chunks) { this.sent.push(...chunks); },
    destroy(reason) { this.destroyedWith = reason ?? new Error('destroyed'); this.closed = true; },
  };
}

function setup(): { broker: Broker; peer: (id: number) => Fake } {
  const broker = new Broker({ drain: () => {}, log: () => {}, spills: new OwnerSpills('/nonexistent/procsafe-unit.sock'),
    sharedDir: '/nonexistent/procsafe-unit' });
  broker.create({ kind: 'queue', object: kObject, secret: 'unused', maxMessageBytes: 1 << 20, size: 0 });
  const peer = (id: number): Fake => {
    const connection = fakeConnection();
    broker.accept(connection as never, id, { object: kObject, nonce: Buffer.alloc(32, id) });
    return connection;
  };
  return { broker, peer };
}

const frame = (chunks: readonly Buffer[]): Frame => parseFrame(Buffer.concat(chunks).subarray(4));
const put = (id: number, value: unknown): Frame => {
  const item = encodeSimple(value) as Buffer;
  return frame([encodeHead(kRequest.Put, id, kObject, item.length, 0), item]);
};
const bare = (type: number, id: number): Frame => frame([encodeHead(type, id, kObject, 0)]);

/** The answers a connection got so far (bundles opened), after the broker's end-of-turn write. */
async function answers(connection: Fake): Promise<{ type: number; id: number; fn: string; payload: Buffer }[]> {
  await Promise.resolve();
  const out: { type: number; id: number; fn: string; payload: Buffer }[] = [];
  const take = (f: Frame): void => { out.push({ type: f.type, id: f.id, fn: f.fn, payload: f.payload }); };
  new FrameDecoder(1 << 30).push(Buffer.concat(connection.sent.splice(0)), (body) => {
    const f = parseFrame(body);
    if (isBundle(f.type)) unbundle(f, take);
    else take(f);
  });
  return out;
}

interface Inspected { gets: unknown[]; puts: unknown[]; qsize: number; leased: number }

async function inspect(connection: Fake, id: number): Promise<Inspected> {
  connection.events?.frame(bare(kRequest.Inspect, id));
  const [answer] = await answers(connection);
  assert.equal(answer?.type, kAnswer.Value);
  return JSON.parse((answer as { payload: Buffer }).payload.toString('utf8')) as Inspected;
}

test('a put and a get answered at once leave no waiting request behind: their ids may be used again at once', async () => {
  const { peer } = setup();
  const a = peer(1);
  a.events?.frame(put(7, 'first'));
  a.events?.frame(put(7, 'second')); // the first put 7 was answered already: not a reuse
  assert.deepEqual((await answers(a)).map(({ type, id }) => [type, id]), [[kAnswer.Done, 7], [kAnswer.Done, 7]]);
  a.events?.frame(bare(kRequest.Get, 9));
  a.events?.frame(bare(kRequest.Get, 9));
  const got = await answers(a);
  assert.deepEqual(got.map(({ type, id }) => [type, id]), [[kAnswer.Delivered, 9], [kAnswer.Delivered, 9]]);
  assert.equal(a.destroyedWith, undefined);
  // A cancel of an answered request changes nothing: no refusal comes back.
  a.events?.frame(bare(kRequest.CancelRequest, 9));
  assert.deepEqual(await answers(a), []);
  const state = await inspect(a, 10);
  assert.deepEqual([state.gets, state.puts, state.qsize, state.leased], [[], [], 0, 2]);
});

test('a parked get is booked: reusing its id while it waits cuts the peer off; a cancel answers it', async () => {
  const { peer } = setup();
  const a = peer(1);
  a.events?.frame(bare(kRequest.Get, 5));
  assert.deepEqual(await answers(a), [], 'nothing queued: the get waits');
  a.events?.frame(bare(kRequest.CancelRequest, 5));
  const [refused, ...more] = await answers(a);
  assert.deepEqual(more, []);
  assert.equal(refused?.id, 5);
  assert.equal(decodeRefusal(refused as Frame).reason, 'cancelled');
  // Answered (cancelled): the id is free again.
  a.events?.frame(bare(kRequest.Get, 5));
  assert.equal(a.destroyedWith, undefined);
  a.events?.frame(bare(kRequest.Get, 5));
  assert.match(String(cutWith(a)?.message), /request id 5 reused while that request still waits/);
});

test('a parked get is answered by a later put from another peer, under the id it was sent with', async () => {
  const { peer } = setup();
  const reader = peer(1);
  const writer = peer(2);
  reader.events?.frame(bare(kRequest.Get, 41));
  assert.deepEqual(await answers(reader), []);
  writer.events?.frame(put(1, 'hello'));
  const [delivered] = await answers(reader);
  assert.equal(delivered?.type, kAnswer.Delivered);
  assert.equal(delivered?.id, 41);
  assert.deepEqual((await answers(writer)).map(({ type, id }) => [type, id]), [[kAnswer.Done, 1]]);
  // The reader dies holding it: the item goes back, and another reader gets it at once.
  reader.events?.close(new Error('gone'));
  const other = peer(3);
  other.events?.frame(bare(kRequest.Get, 1));
  const [again] = await answers(other);
  const delivery = decodeDelivery(again as Frame);
  assert.equal(delivery.deliveries, 2, 'a second delivery');
  assert.equal(delivery.itemId, decodeDelivery(delivered as Frame).itemId);
  assert.equal(delivery.item?.toString('latin1'), (delivered as Frame).payload.toString('latin1'));
});
