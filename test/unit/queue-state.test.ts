/** QueueState: the owner-side Queue/JoinableQueue state machine, by example and against a model under random deaths. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../helpers/prng.js';
import {
  InvalidQueueRequest, kQuarantineAfterDeaths, QueueState, type ClientId, type QueueEvent, type QueueStateOptions,
} from '../../dist/queue/state.js';

const kT = { timeout: 10_000 };

let nextRequest = 1;
const rid = (): number => nextRequest++;
const buf = (s: string): Buffer => Buffer.from(s);

/** Puts and expects it accepted at once; returns the item id. */
function putNow(q: QueueState, client: ClientId, value: string): string {
  const requestId = rid();
  const event = q.put(client, requestId, buf(value)).find((e) => e.requestId === requestId);
  assert.equal(event?.type, 'put-accepted', `put ${value} accepted at once`);
  return event.type === 'put-accepted' ? event.id : '';
}

/** Gets and expects a delivery at once; returns [id, value]. */
function getNow(q: QueueState, client: ClientId): [string, string] {
  const requestId = rid();
  const event = q.get(client, requestId).find((e) => e.requestId === requestId);
  assert.equal(event?.type, 'delivered', 'get delivered at once');
  return event.type === 'delivered' ? [event.entry.id, (event.entry.item as Buffer).toString()] : ['', ''];
}

function types(events: readonly QueueEvent[]): string[] {
  return events.map((e) => `${e.type}:${e.requestId}`);
}

function isInvalid(reason: InvalidQueueRequest['reason']): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof InvalidQueueRequest);
    assert.equal(error.reason, reason);
    return true;
  };
}

describe('QueueState options', () => {
  test('maxsize must be a non-negative integer, named in the error', kT, () => {
    assert.throws(() => new QueueState({ maxsize: -1 }), { name: 'RangeError', message: /`maxsize`.*>= 0, got -1/ });
    assert.throws(() => new QueueState({ maxsize: 1.5 }), { name: 'TypeError', message: /`maxsize` to be an integer/ });
    assert.throws(() => new QueueState({ maxsize: '2' as unknown as number }), { name: 'TypeError', message: /`maxsize`.*\(string\)/ });
    assert.throws(() => new QueueState({ joinable: 1 as unknown as boolean }), { name: 'TypeError', message: /`joinable`/ });
    assert.throws(() => new QueueState({ maxsze: 2 } as QueueStateOptions), { name: 'TypeError', message: /Unknown option `maxsze`/ });
    assert.throws(() => new QueueState({ queueId: '' }), { name: 'TypeError', message: /`queueId`/ });
    const q = new QueueState();
    assert.equal(q.maxsize, 0);
    assert.equal(q.joinable, false);
  });

  test('ids are `${queueId}:${seq}`; request ids must be integers and not already waiting', kT, () => {
    const q = new QueueState({ queueId: 'jobs', maxsize: 1 });
    assert.equal(putNow(q, 1, 'a'), 'jobs:0');
    assert.equal(putNow(new QueueState(), 1, 'a'), 'q:0');
    assert.throws(() => q.get(1, -1), RangeError);
    assert.throws(() => q.get(Number.NaN, 1), TypeError);
    assert.throws(() => q.put(1, 1, 'x' as unknown as Buffer), /`item` to be a Buffer/);
    assert.deepEqual(q.put(1, 500, buf('b')), []);
    assert.throws(() => q.get(2, 500), /requestId 500 is already waiting/);
  });
});

describe('QueueState Queue', () => {
  test('FIFO order, and an ack consumes', kT, () => {
    const q = new QueueState();
    const ids = ['a', 'b', 'c', 'd', 'e'].map((v) => putNow(q, 1, v));
    assert.equal(q.qsize(), 5);
    for (const [i, v] of ['a', 'b', 'c', 'd', 'e'].entries()) {
      const [id, value] = getNow(q, 2);
      assert.equal(id, ids[i]);
      assert.equal(value, v);
      q.ack(2, id);
    }
    assert.equal(q.qsize(), 0);
    assert.ok(q.empty());
    assert.equal(q.unfinished(), 0);
    assert.equal(q.inspect().consumed, 5);
  });

  test('leased items count against maxsize until acked; full and qsize stay true', kT, () => {
    const q = new QueueState({ maxsize: 2 });
    putNow(q, 1, 'a');
    assert.ok(!q.full());
    putNow(q, 1, 'b');
    assert.ok(q.full());
    const [a] = getNow(q, 2);
    assert.equal(q.qsize(), 1);
    assert.ok(q.full(), 'the leased item still takes a slot');
    const parked = rid();
    assert.deepEqual(q.put(1, parked, buf('c')), [], 'parks while full');
    assert.deepEqual(q.ack(2, a).map((e) => e.type === 'put-accepted' && e.requestId), [parked]);
    assert.equal(q.qsize(), 2);
    assert.ok(q.full());
  });

  test('parked puts are accepted in order as space frees, several at once', kT, () => {
    const q = new QueueState({ maxsize: 3 });
    for (const v of ['a', 'b', 'c']) putNow(q, 1, v);
    const parked = [rid(), rid(), rid(), rid()];
    parked.forEach((r, i) => assert.deepEqual(q.put(1 + (i % 2), r, buf(`p${i}`)), []));
    const got = [getNow(q, 3), getNow(q, 3)];
    assert.deepEqual(q.ack(3, got[1]![0]).map((e) => e.requestId), [parked[0]]);
    assert.deepEqual(q.ack(3, got[0]![0]).map((e) => e.requestId), [parked[1]]);
    assert.deepEqual(q.inspect().puts.map((w) => w.requestId), parked.slice(2));
    const values: string[] = [];
    while (!q.empty()) { const [id, v] = getNow(q, 3); values.push(v); q.ack(3, id); }
    assert.deepEqual(values, ['c', 'p0', 'p1', 'p2', 'p3']);
  });

  test('putNowait: a put that parked and is cancelled is never accepted and takes no capacity', kT, () => {
    const q = new QueueState({ maxsize: 1 });
    putNow(q, 1, 'a');
    const r = rid();
    assert.deepEqual(q.put(1, r, buf('b')), []);
    assert.deepEqual(q.cancel(r), [{ type: 'cancelled', requestId: r, client: 1 }]);
    assert.deepEqual(q.cancel(r), [], 'a second cancel finds nothing');
    const [a] = getNow(q, 2);
    q.ack(2, a);
    assert.equal(q.qsize(), 0);
    assert.ok(!q.full());
    assert.equal(q.inspect().accepted, 1);
  });

  test('parked gets are served in order, and getNowait cancels when nothing came', kT, () => {
    const q = new QueueState();
    const gets = [rid(), rid(), rid()];
    gets.forEach((r, i) => assert.deepEqual(q.get(10 + i, r), []));
    const nowait = rid();
    assert.deepEqual(q.get(20, nowait), []);
    assert.equal(q.cancel(nowait)[0]?.type, 'cancelled');
    const delivered: Array<[number, ClientId, string]> = [];
    for (const v of ['a', 'b', 'c', 'd']) {
      for (const e of q.put(1, rid(), buf(v))) {
        if (e.type === 'delivered') delivered.push([e.requestId, e.client, (e.entry.item as Buffer).toString()]);
      }
    }
    assert.deepEqual(delivered, [[gets[0], 10, 'a'], [gets[1], 11, 'b'], [gets[2], 12, 'c']]);
    assert.equal(q.qsize(), 1);
    assert.equal(q.inspect().leased, 3);
    const late = rid();
    q.put(1, rid(), buf('e'));
    assert.equal(q.get(13, late)[0]?.type, 'delivered');
    assert.deepEqual(q.cancel(late), [], 'an answered get cannot be cancelled; its item stays leased');
  });

  test('a reader that disconnects returns its leased items to the front in order, same ids', kT, () => {
    const q = new QueueState({ maxsize: 5 });
    const ids = ['a', 'b', 'c', 'd', 'e'].map((v) => putNow(q, 1, v));
    const held = [getNow(q, 2), getNow(q, 2), getNow(q, 3)];
    assert.deepEqual(held.map(([id]) => id), ids.slice(0, 3));
    q.ack(3, held[2]![0]);
    assert.deepEqual(q.disconnect(2), []);
    assert.equal(q.qsize(), 4);
    assert.equal(q.inspect().leased, 0);
    assert.ok(!q.full(), 'a consumed item freed its slot; the dead reader freed none and took none');
    const again: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = rid();
      const event = q.get(4, r)[0];
      assert.ok(event?.type === 'delivered');
      again.push(`${event.entry.id}=${(event.entry.item as Buffer).toString()}x${event.entry.deliveries}`);
    }
    assert.deepEqual(again, [`${ids[0]}=ax2`, `${ids[1]}=bx2`, `${ids[3]}=dx1`, `${ids[4]}=ex1`]);
    assert.equal(q.inspect().redeliveries, 2);
  });

  test('items a dead reader held go straight to parked gets', kT, () => {
    const q = new QueueState();
    putNow(q, 1, 'a');
    putNow(q, 1, 'b');
    getNow(q, 2);
    getNow(q, 2);
    const waiting = rid();
    assert.deepEqual(q.get(3, waiting), []);
    const events = q.disconnect(2);
    assert.equal(events.length, 1);
    assert.ok(events[0]?.type === 'delivered' && events[0].requestId === waiting);
    assert.equal((events[0].entry.item as Buffer).toString(), 'a');
    assert.equal(q.qsize(), 1);
  });

  test('a dead reader\'s parked gets vanish and never take an item', kT, () => {
    const q = new QueueState();
    q.get(2, rid());
    q.get(2, rid());
    const live = rid();
    q.get(3, live);
    assert.deepEqual(q.disconnect(2), []);
    const events = q.put(1, rid(), buf('a'));
    assert.deepEqual(events.filter((e) => e.type === 'delivered').map((e) => e.requestId), [live]);
  });

  test('a dead writer\'s parked put is dropped and leaks no capacity', kT, () => {
    const q = new QueueState({ maxsize: 1 });
    putNow(q, 1, 'a');
    assert.deepEqual(q.put(2, rid(), buf('never')), []);
    const survivor = rid();
    assert.deepEqual(q.put(3, survivor, buf('b')), []);
    assert.deepEqual(q.disconnect(2), []);
    assert.deepEqual(q.inspect().puts, [{ client: 3, requestId: survivor }]);
    const [a] = getNow(q, 4);
    assert.deepEqual(types(q.ack(4, a)), [`put-accepted:${survivor}`]);
    const [, b] = getNow(q, 4);
    assert.equal(b, 'b');
    assert.equal(q.inspect().accepted, 2, 'the dead writer\'s item was never accepted');
  });

  test('release puts items back at the front in put order, given in one call', kT, () => {
    const q = new QueueState({ maxsize: 4 });
    const ids = ['a', 'b', 'c', 'd'].map((v) => putNow(q, 1, v));
    const [a] = getNow(q, 2);
    const [b] = getNow(q, 2);
    const [c] = getNow(q, 2);
    assert.deepEqual(q.release(2, [c, a]), []);
    assert.deepEqual([getNow(q, 3)[0], getNow(q, 3)[0], getNow(q, 3)[0]], [ids[0], ids[2], ids[3]]);
    assert.throws(() => q.release(2, [b, b]), isInvalid('not-leased'));
    assert.throws(() => q.release(2, [b, a]), isInvalid('not-leased'), 'a is leased by client 3');
    assert.equal(q.inspect().clients.find((c2) => c2.client === 2)?.leased, 1, 'a failed release changes nothing');
    q.release(2, [b]);
    assert.deepEqual(q.inspect().clients.map((x) => x.client), [3]);
  });

  test('ack of an item the client does not hold is refused and changes nothing', kT, () => {
    const q = new QueueState();
    const id = putNow(q, 1, 'a');
    assert.throws(() => q.ack(2, id), isInvalid('not-leased'));
    getNow(q, 2);
    assert.throws(() => q.ack(3, id), { message: /leased by client 2/ });
    q.ack(2, id);
    assert.throws(() => q.ack(2, id), isInvalid('not-leased'));
    assert.throws(() => q.taskDone(2), isInvalid('not-joinable'));
    assert.equal(q.inspect().consumed, 1);
  });

  test('close: puts get closed, gets drain then get closed, leased items hold it off', kT, () => {
    const q = new QueueState({ maxsize: 2 });
    putNow(q, 1, 'a');
    putNow(q, 1, 'b');
    const parkedPut = rid();
    q.put(1, parkedPut, buf('c'));
    assert.deepEqual(types(q.close()), [`closed:${parkedPut}`]);
    assert.deepEqual(q.close(), [], 'idempotent');
    const late = rid();
    assert.deepEqual(q.put(1, late, buf('d')), [{ type: 'closed', requestId: late, client: 1, request: 'put' }]);
    const [a] = getNow(q, 2);
    const [b] = getNow(q, 3);
    const waiting = rid();
    assert.deepEqual(q.get(4, waiting), [], 'items are leased: one may come back');
    const events = q.disconnect(3);
    assert.ok(events[0]?.type === 'delivered' && events[0].entry.id === b, 'it came back and went to the parked get');
    q.ack(2, a);
    assert.deepEqual(q.get(5, rid()), [], 'b is still leased by client 4');
    const closed = q.ack(4, b);
    assert.equal(closed.length, 1);
    assert.ok(closed[0]?.type === 'closed' && closed[0].request === 'get' && closed[0].client === 5);
    assert.equal(q.get(6, rid())[0]?.type, 'closed');
    assert.ok(q.closed);
  });

  test('close({ immediate }): waiting items are dropped, parked and later gets closed at once, leased ones stay', kT, () => {
    const dropped: string[] = [];
    const q = new QueueState({ maxsize: 3, onDrop: (item) => dropped.push((item as Buffer).toString()) });
    putNow(q, 1, 'a');
    putNow(q, 1, 'b');
    putNow(q, 1, 'c');
    const parkedPut = rid();
    q.put(1, parkedPut, buf('d'));
    const [a] = getNow(q, 2);
    assert.equal(types(q.put(1, rid(), buf('x'))).length, 0, 'full: parks');
    const q2 = new QueueState();
    const parkedGet = rid();
    assert.deepEqual(q2.get(3, parkedGet), []);
    assert.deepEqual(types(q2.close({ immediate: true })), [`closed:${parkedGet}`], 'a parked get is closed at once');
    const events = q.close({ immediate: true });
    assert.deepEqual(events.map((e) => e.type), ['closed', 'closed'], 'both parked puts refused');
    assert.deepEqual(dropped.sort(), ['b', 'c', 'd', 'x'], 'waiting items and parked puts let go of, once each');
    assert.equal(q.qsize(), 0);
    assert.equal(q.get(4, rid())[0]?.type, 'closed', 'a get closes at once though a is still leased');
    assert.deepEqual(q.close({ immediate: true }), [], 'idempotent');
    const s = q.inspect();
    assert.equal(s.dropped, 2);
    assert.equal(s.leased, 1);
    // The reader that held `a` before the close may still hand it over; given back, it is dropped.
    q.release(2, [a]);
    assert.equal(q.inspect().dropped, 3);
    assert.equal(q.qsize(), 0);
  });

  test('close({ immediate }) after a plain close drops what was left to drain', kT, () => {
    const q = new QueueState();
    putNow(q, 1, 'a');
    q.close();
    const parked = rid();
    getNow(q, 2);
    assert.deepEqual(q.get(3, parked), [], 'the leased item may come back');
    assert.deepEqual(types(q.close({ immediate: true })), [`closed:${parked}`]);
    assert.throws(() => q.close({ immediate: 1 as unknown as boolean }), TypeError);
  });

  test('leave: a live client lets go; its parked requests are closed, its items go back unblamed', kT, () => {
    const q = new QueueState({ joinable: true });
    putNow(q, 1, 'a');
    putNow(q, 1, 'b');
    putNow(q, 1, 'c');
    const [a] = getNow(q, 2);
    q.ack(2, a);
    getNow(q, 2);
    const get = rid();
    const join = rid();
    getNow(q, 3);
    assert.deepEqual(q.get(2, get), []);
    assert.deepEqual(q.join(2, join), []);
    const events = q.leave(2);
    assert.deepEqual(events, [
      { type: 'closed', requestId: get, client: 2, request: 'get', left: true },
      { type: 'closed', requestId: join, client: 2, request: 'join', left: true },
    ]);
    assert.equal(q.qsize(), 2, 'its acked and leased items are back');
    assert.equal(getNow(q, 4)[1], 'a', 'in put order, at the front');
    assert.equal(q.inspect().clients.find((c) => c.client === 2), undefined);
    // Many leaves while holding the same item blame no one: a leave is no death.
    for (let client = 10; client < 10 + kQuarantineAfterDeaths + 1; client++) {
      const [id] = getNow(q, client);
      assert.ok(id !== '');
      q.leave(client);
    }
    assert.equal(q.inspect().quarantined, 0);
  });
});

describe('QueueState JoinableQueue', () => {
  test('items stay unfinished after ack until taskDone; join waits for all', kT, () => {
    const q = new QueueState({ joinable: true });
    assert.equal(q.join(9, rid())[0]?.type, 'joined', 'nothing unfinished: at once');
    const ids = ['a', 'b'].map((v) => putNow(q, 1, v));
    const joinRequest = rid();
    assert.deepEqual(q.join(9, joinRequest), []);
    getNow(q, 2);
    getNow(q, 2);
    q.ack(2, ids[1]!);
    q.ack(2, ids[0]!);
    assert.equal(q.unfinished(), 2);
    assert.equal(q.qsize(), 0);
    assert.deepEqual(q.taskDone(2), [], 'no id: the one acked first (b)');
    assert.throws(() => q.taskDone(2, ids[1]), isInvalid('not-unfinished'));
    assert.deepEqual(types(q.taskDone(3, ids[0])), [`joined:${joinRequest}`], 'with an id, any client may finish it');
    assert.throws(() => q.taskDone(2), { message: /taskDone\(\) called more times/ });
    assert.equal(q.inspect().consumed, 2);
  });

  test('a dead reader\'s acked-but-not-done items are delivered again with the same id; join waits', kT, () => {
    const q = new QueueState({ joinable: true, maxsize: 3 });
    const ids = ['a', 'b', 'c'].map((v) => putNow(q, 1, v));
    const joinRequest = rid();
    q.join(9, joinRequest);
    const [a] = getNow(q, 2);
    const [b] = getNow(q, 2);
    const [c] = getNow(q, 3);
    q.ack(2, a);
    q.ack(2, b);
    q.taskDone(2, a);
    q.ack(3, c);
    q.taskDone(3);
    assert.deepEqual(q.disconnect(2), [], 'b was owed: back in the queue, join still waits');
    assert.equal(q.qsize(), 1);
    assert.equal(q.unfinished(), 1);
    const again = q.get(4, rid())[0];
    assert.ok(again?.type === 'delivered');
    assert.equal(again.entry.id, ids[1]);
    assert.equal((again.entry.item as Buffer).toString(), 'b');
    assert.equal(again.entry.deliveries, 2);
    q.ack(4, ids[1]!);
    assert.deepEqual(types(q.taskDone(4)), [`joined:${joinRequest}`]);
  });

  test('redelivered acked items may exceed maxsize; nothing is dropped and puts park until below', kT, () => {
    const q = new QueueState({ joinable: true, maxsize: 1 });
    putNow(q, 1, 'a');
    const [a] = getNow(q, 2);
    q.ack(2, a);
    assert.ok(!q.full(), 'acked items take no slot, as in Python');
    putNow(q, 1, 'b');
    q.disconnect(2);
    assert.equal(q.qsize(), 2);
    assert.ok(q.full());
    const parked = rid();
    assert.deepEqual(q.put(1, parked, buf('c')), []);
    const [first] = getNow(q, 3);
    assert.equal(first, a, 'the owed item comes first');
    q.ack(3, first);
    assert.deepEqual(q.taskDone(3), [], 'b alone still fills the queue');
    const [second] = getNow(q, 3);
    assert.deepEqual(types(q.ack(3, second)), [`put-accepted:${parked}`]);
  });

  test('inspect is a plain snapshot', kT, () => {
    const q = new QueueState({ joinable: true, maxsize: 5, queueId: 'j' });
    putNow(q, 1, 'a');
    putNow(q, 1, 'b');
    const [a] = getNow(q, 2);
    q.ack(2, a);
    getNow(q, 3);
    q.join(4, 77_000);
    const snapshot = q.inspect();
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    assert.deepEqual(snapshot, {
      kind: 'joinable-queue', maxsize: 5, closed: false, qsize: 0, leased: 1, acked: 1, unfinished: 2, full: false,
      accepted: 2, consumed: 0, redeliveries: 0, quarantined: 0, untold: 0, dropped: 0,
      clients: [{ client: 2, leased: 0, acked: 1 }, { client: 3, leased: 1, acked: 0 }],
      puts: [], gets: [], joins: [{ client: 4, requestId: 77_000 }],
    });
  });
});

/** Readers that each take the front item (and acks it, for `acked`), then die: `deaths` times. */
function killReaders(q: QueueState, deaths: number, acked: boolean, first: ClientId): void {
  for (let client = first; client < first + deaths; client++) {
    const [id] = getNow(q, client);
    if (acked) q.ack(client, id);
    q.disconnect(client);
  }
}

describe('QueueState quarantine', () => {
  test(`an item ${kQuarantineAfterDeaths} readers died holding is quarantined; the next get is told once, then gets the next item`,
    kT, () => {
    const q = new QueueState({ queueId: 'p', maxsize: 2 });
    const [poison, a] = ['poison', 'a'].map((v) => putNow(q, 1, v));
    const parkedPut = rid();
    assert.deepEqual(q.put(1, parkedPut, buf('c')), [], 'full');
    killReaders(q, kQuarantineAfterDeaths - 1, false, 10);
    assert.equal(q.qsize(), 2, `${kQuarantineAfterDeaths - 1} deaths: still queued`);
    assert.equal(getNow(q, 20)[0], poison);
    assert.equal(q.inspect().redeliveries, kQuarantineAfterDeaths - 1);
    assert.deepEqual(types(q.disconnect(20)), [`put-accepted:${parkedPut}`], 'the last death: it goes, and its place is free');
    assert.equal(q.qsize(), 2, 'qsize no longer counts it: a and c');
    assert.deepEqual(q.inspect().clients, []);
    const told = rid();
    assert.deepEqual(q.get(21, told), [{ type: 'quarantined', requestId: told, client: 21, id: poison, deaths: kQuarantineAfterDeaths }]);
    assert.deepEqual(getNow(q, 21), [a, 'a'], 'once: then the next item');
    const s = q.inspect();
    assert.deepEqual([s.quarantined, s.untold, s.consumed, s.accepted, s.unfinished], [1, 0, 0, 3, 2]);
  });

  test('releases do not count; a parked get is told at once', kT, () => {
    const q = new QueueState();
    const [poison] = ['poison', 'b'].map((v) => putNow(q, 1, v));
    for (let i = 0; i < 3 * kQuarantineAfterDeaths; i++) {
      const [id] = getNow(q, 2);
      q.release(2, [id]);
    }
    killReaders(q, kQuarantineAfterDeaths - 1, false, 10);
    assert.equal(q.inspect().quarantined, 0, 'only deaths count');
    assert.equal(getNow(q, 30)[0], poison);
    getNow(q, 31);
    const parked = rid();
    assert.deepEqual(q.get(32, parked), [], 'nothing queued');
    assert.deepEqual(q.disconnect(30),
      [{ type: 'quarantined', requestId: parked, client: 32, id: poison, deaths: kQuarantineAfterDeaths }]);
    assert.equal(q.inspect().redeliveries, 3 * kQuarantineAfterDeaths + kQuarantineAfterDeaths - 1);
  });

  test('a dead reader is blamed for the item it was reading, not its read-ahead behind it', kT, () => {
    const q = new QueueState();
    const [poison, a, b] = ['poison', 'a', 'b'].map((v) => putNow(q, 1, v));
    // Read-ahead of three, dying while reading the first: only the first is blamed.
    for (let client = 10; client < 10 + kQuarantineAfterDeaths; client++) {
      assert.deepEqual([getNow(q, client), getNow(q, client), getNow(q, client)].map(([id]) => id), [poison, a, b]);
      q.disconnect(client);
    }
    assert.equal(q.inspect().quarantined, 1, 'the poison alone');
    assert.equal(q.get(20, rid())[0]?.type, 'quarantined');
    const next = q.get(20, rid())[0];
    assert.ok(next?.type === 'delivered' && next.entry.id === a, 'a rode along every time and is still delivered');
    assert.equal(next.entry.deliveries, kQuarantineAfterDeaths + 1);
  });

  test('a JoinableQueue reader dying in user code is blamed for its unfinished items, not its read-ahead; ' +
    'join counts the quarantined item as finished', kT, () => {
    const q = new QueueState({ joinable: true });
    const [poison, a] = ['poison', 'a'].map((v) => putNow(q, 1, v)) as [string, string];
    const join = rid();
    assert.deepEqual(q.join(9, join), []);
    for (let client = 10; client < 10 + kQuarantineAfterDeaths; client++) {
      assert.deepEqual([getNow(q, client)[0], getNow(q, client)[0]], [poison, a]);
      q.ack(client, poison);
      assert.deepEqual(q.disconnect(client), []);
    }
    const s = q.inspect();
    assert.deepEqual([s.quarantined, s.qsize, s.unfinished, s.acked, s.leased], [1, 1, 1, 0, 0]);
    assert.equal(q.get(20, rid())[0]?.type, 'quarantined');
    assert.deepEqual(getNow(q, 20), [a, 'a']);
    q.ack(20, a);
    assert.deepEqual(types(q.taskDone(20, a)), [`joined:${join}`], 'join: everything else finished');
    assert.equal(q.inspect().consumed, 1);
  });

  test('several quarantined at once are told one per get, in the order they were handed out', kT, () => {
    const q = new QueueState({ joinable: true });
    const ids = ['x', 'y', 'z'].map((v) => putNow(q, 1, v));
    for (let client = 10; client < 10 + kQuarantineAfterDeaths; client++) {
      const got = [getNow(q, client)[0], getNow(q, client)[0]];
      q.ack(client, got[1]!);
      q.ack(client, got[0]!);
      q.disconnect(client);
    }
    const told = [q.get(20, rid())[0], q.get(20, rid())[0]].map((e) => (e?.type === 'quarantined' ? e.id : e?.type));
    assert.deepEqual(told, [ids[1], ids[0]]);
    assert.deepEqual(getNow(q, 20), [ids[2], 'z']);
  });

  test('a closed queue tells of a quarantined item before it answers closed', kT, () => {
    const q = new QueueState();
    putNow(q, 1, 'poison');
    q.close();
    killReaders(q, kQuarantineAfterDeaths, false, 10);
    assert.equal(q.get(20, rid())[0]?.type, 'quarantined');
    assert.equal(q.get(20, rid())[0]?.type, 'closed');
  });
});

/**
 * The model: the order the queue must hold, what each client owes, and how many
 * times each id may reach user code. Every event is checked against it.
 */
interface Model {
  readonly queue: string[];
  readonly leased: Map<ClientId, string[]>;
  readonly acked: Map<ClientId, string[]>;
  readonly puts: Map<number, { client: ClientId; payload: string }>;
  readonly gets: Map<number, ClientId>;
  readonly joins: Map<number, ClientId>;
  readonly payloadOf: Map<string, string>;
  /** Times each id was handed to user code, and times it may be (1 + deaths while it was acked). */
  readonly handed: Map<string, number>;
  readonly allowed: Map<string, number>;
  readonly consumed: Set<string>;
  /** Reader deaths each id was blamed for; quarantined ids, and those no get was told of yet. */
  readonly deaths: Map<string, number>;
  readonly quarantined: Set<string>;
  readonly untold: string[];
  /** Items an immediate close let go of unread. */
  readonly dropped: Set<string>;
  closed: boolean;
  immediate: boolean;
}

const seqOf = (id: string): number => Number(id.slice(id.indexOf(':') + 1));
const total = (m: Map<ClientId, string[]>): number => [...m.values()].reduce((n, ids) => n + ids.length, 0);

function apply(q: QueueState, m: Model, events: readonly QueueEvent[], where: string): void {
  for (const e of events) {
    switch (e.type) {
      case 'put-accepted': {
        assert.equal([...m.puts.keys()][0], e.requestId, `${where}: puts accepted in FIFO order`);
        m.payloadOf.set(e.id, m.puts.get(e.requestId)!.payload);
        m.puts.delete(e.requestId);
        m.queue.push(e.id);
        m.allowed.set(e.id, 1);
        break;
      }
      case 'delivered': {
        assert.equal([...m.gets.keys()][0], e.requestId, `${where}: gets served in FIFO order`);
        assert.equal(m.gets.get(e.requestId), e.client);
        m.gets.delete(e.requestId);
        assert.equal(e.entry.id, m.queue.shift(), `${where}: the front item is delivered`);
        assert.equal((e.entry.item as Buffer).toString(), m.payloadOf.get(e.entry.id), `${where}: the payload of that id`);
        assert.ok(!m.consumed.has(e.entry.id), `${where}: a consumed item is never delivered`);
        assert.equal(m.untold.length, 0, `${where}: every get is told of quarantined items before it gets an item`);
        m.leased.set(e.client, [...(m.leased.get(e.client) ?? []), e.entry.id]);
        break;
      }
      case 'closed':
        assert.ok(m.closed, `${where}: closed only after close`);
        if (e.request === 'put') {
          assert.ok(m.puts.delete(e.requestId));
        } else {
          assert.ok(m.gets.delete(e.requestId));
          if (!m.immediate) {
            assert.equal(m.queue.length + total(m.leased) + m.untold.length, 0, `${where}: gets close only when drained and told`);
          }
        }
        break;
      case 'joined':
        assert.ok(m.joins.delete(e.requestId));
        assert.equal(q.unfinished(), 0, `${where}: joined only when nothing is unfinished`);
        break;
      case 'cancelled':
        assert.ok(m.puts.delete(e.requestId) || m.gets.delete(e.requestId) || m.joins.delete(e.requestId));
        break;
      case 'quarantined':
        assert.equal([...m.gets.keys()][0], e.requestId, `${where}: gets are told in FIFO order`);
        assert.ok(m.gets.delete(e.requestId));
        assert.equal(e.id, m.untold.shift(), `${where}: told of the oldest quarantined item, once`);
        assert.equal(e.deaths, kQuarantineAfterDeaths);
        break;
    }
  }
}

/** Returned items go to the front of the model queue in put order; after an immediate close they are dropped. */
function requeue(m: Model, ids: string[]): void {
  if (m.immediate) for (const id of ids) m.dropped.add(id);
  else m.queue.unshift(...[...ids].sort((a, b) => seqOf(a) - seqOf(b)));
}

function checkInvariants(q: QueueState, m: Model, maxsize: number, where: string): void {
  const s = q.inspect();
  const leased = total(m.leased);
  const acked = total(m.acked);
  assert.equal(s.qsize, m.queue.length, `${where}: qsize`);
  assert.equal(s.leased, leased, `${where}: leased`);
  assert.equal(s.acked, acked, `${where}: acked`);
  assert.equal(s.unfinished, s.accepted - s.consumed - s.quarantined - s.dropped,
    `${where}: every accepted item is consumed, quarantined, dropped or held`);
  assert.equal(s.dropped, m.dropped.size, `${where}: dropped`);
  assert.equal(s.quarantined, m.quarantined.size, `${where}: quarantined`);
  assert.equal(s.untold, m.untold.length, `${where}: untold`);
  assert.equal(s.unfinished, m.queue.length + leased + acked, `${where}: unfinished`);
  assert.equal(s.consumed, m.consumed.size, `${where}: consumed`);
  assert.equal(q.full(), maxsize > 0 && m.queue.length + leased >= maxsize, `${where}: full`);
  assert.equal(q.empty(), m.queue.length === 0);
  assert.deepEqual(s.puts.map((w) => w.requestId), [...m.puts.keys()], `${where}: parked puts`);
  assert.deepEqual(s.gets.map((w) => w.requestId), [...m.gets.keys()], `${where}: parked gets`);
  assert.deepEqual(s.joins.map((w) => w.requestId), [...m.joins.keys()], `${where}: parked joins`);
  if (s.puts.length > 0) assert.ok(!s.closed && s.full, `${where}: a put parks only while open and full`);
  if (s.gets.length > 0) {
    assert.ok(s.qsize === 0 && s.untold === 0 && !(s.closed && s.leased === 0), `${where}: a get parks only while empty and not drained`);
    assert.ok(!m.immediate, `${where}: no get parks after an immediate close`);
  }
  if (s.joins.length > 0) assert.ok(s.unfinished > 0, `${where}: a join parks only while something is unfinished`);
  if (maxsize > 0 && !q.joinable) assert.ok(m.queue.length + leased <= maxsize, `${where}: a Queue never holds more than maxsize`);
}

function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[Math.floor(random() * items.length)];
}

/** Returns how many items it quarantined. */
function randomRun(seed: number, options: { maxsize: number; joinable: boolean }, steps: number, immediate = false): number {
  const random = prng(seed);
  const q = new QueueState(options);
  const m: Model = {
    queue: [], leased: new Map(), acked: new Map(), puts: new Map(), gets: new Map(), joins: new Map(),
    payloadOf: new Map(), handed: new Map(), allowed: new Map(), consumed: new Set(),
    deaths: new Map(), quarantined: new Set(), untold: [], dropped: new Set(), closed: false, immediate: false,
  };
  let clients: ClientId[] = [1, 2, 3, 4, 5];
  let nextClient = 6;
  let payload = 0;
  const closeAt = seed % 2 === 0 || immediate ? Math.floor(steps * 0.8) : -1;
  const consume = (id: string, where: string): void => {
    assert.ok(!m.consumed.has(id), `${where}: consumed once`);
    m.consumed.add(id);
  };
  const handToUser = (id: string, where: string): void => {
    const times = (m.handed.get(id) ?? 0) + 1;
    m.handed.set(id, times);
    assert.ok(times <= m.allowed.get(id)!, `${where}: ${id} reached user code ${times} times; only a death allows a repeat`);
  };

  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} ${JSON.stringify(options)} step ${step}`;
    const client = pick(random, clients)!;
    const r = random();
    if (step === closeAt) {
      m.closed = true;
      if (immediate) {
        // Waiting items are dropped, quarantined ones need no telling; leased and acked ones stay with their readers.
        m.immediate = true;
        for (const id of m.queue.splice(0)) m.dropped.add(id);
        m.untold.splice(0);
      }
      apply(q, m, q.close({ immediate }), where);
    } else if (r < 0.28) {
      const requestId = rid();
      const text = `v${payload++}`;
      m.puts.set(requestId, { client, payload: text });
      apply(q, m, q.put(client, requestId, buf(text)), where);
      // A third are putNowait: not accepted at once means cancelled.
      if (random() < 0.33 && m.puts.has(requestId)) apply(q, m, q.cancel(requestId), where);
    } else if (r < 0.55) {
      const requestId = rid();
      m.gets.set(requestId, client);
      apply(q, m, q.get(client, requestId), where);
      if (random() < 0.33 && m.gets.has(requestId)) apply(q, m, q.cancel(requestId), where);
    } else if (r < 0.75) {
      const id = pick(random, m.leased.get(client) ?? []);
      if (id === undefined) continue;
      m.leased.set(client, m.leased.get(client)!.filter((x) => x !== id));
      handToUser(id, where);
      if (options.joinable) m.acked.set(client, [...(m.acked.get(client) ?? []), id]);
      else consume(id, where);
      apply(q, m, q.ack(client, id), where);
    } else if (r < 0.82) {
      const mine = m.leased.get(client) ?? [];
      const back = mine.filter(() => random() < 0.5);
      m.leased.set(client, mine.filter((x) => !back.includes(x)));
      requeue(m, back);
      apply(q, m, q.release(client, back), where);
    } else if (r < 0.9 && options.joinable) {
      const mine = m.acked.get(client) ?? [];
      if (mine.length === 0) {
        assert.throws(() => q.taskDone(client), InvalidQueueRequest);
        continue;
      }
      const byId = random() < 0.5;
      const id = byId ? pick(random, mine)! : mine[0]!;
      m.acked.set(client, mine.filter((x) => x !== id));
      consume(id, where);
      apply(q, m, byId ? q.taskDone(client, id) : q.taskDone(client), where);
    } else if (r < 0.93) {
      const requestId = pick(random, [...m.puts.keys(), ...m.gets.keys(), ...m.joins.keys()]);
      if (requestId !== undefined) apply(q, m, q.cancel(requestId), where);
    } else if (r < 0.95) {
      const requestId = rid();
      m.joins.set(requestId, client);
      apply(q, m, q.join(client, requestId), where);
    } else if (r < 0.965) {
      // A death: everything it owed goes back, its parked requests vanish, and a new process takes its place;
      // what it was reading or processing is blamed, and quarantined at the bound.
      let owed = [...(m.leased.get(client) ?? []), ...(m.acked.get(client) ?? [])];
      for (const id of m.acked.get(client) ?? []) m.allowed.set(id, m.allowed.get(id)! + 1);
      const acked = m.acked.get(client) ?? [];
      for (const id of acked.length > 0 ? acked : (m.leased.get(client) ?? []).slice(0, 1)) {
        const deaths = (m.deaths.get(id) ?? 0) + 1;
        m.deaths.set(id, deaths);
        if (deaths < kQuarantineAfterDeaths) continue;
        m.quarantined.add(id);
        m.untold.push(id);
        owed = owed.filter((x) => x !== id);
      }
      m.leased.delete(client);
      m.acked.delete(client);
      for (const waiters of [m.gets, m.joins]) for (const [k, c] of waiters) if (c === client) waiters.delete(k);
      for (const [k, p] of m.puts) if (p.client === client) m.puts.delete(k);
      requeue(m, owed);
      if (m.immediate) m.untold.splice(0);
      apply(q, m, q.disconnect(client), where);
      clients = [...clients.filter((c) => c !== client), nextClient++];
    } else {
      // Misuse is refused and changes nothing.
      const id = pick(random, m.leased.get(client) ?? []);
      const other = clients.find((c) => c !== client)!;
      if (id !== undefined) assert.throws(() => q.ack(other, id), InvalidQueueRequest);
    }
    checkInvariants(q, m, options.maxsize, where);
  }

  // Drain: every live client gives back what it leased and finishes what it acked; a fresh reader takes the rest.
  for (const client of clients) {
    for (const requestId of [...m.puts.keys(), ...m.gets.keys(), ...m.joins.keys()]) {
      const owner = m.puts.get(requestId)?.client ?? m.gets.get(requestId) ?? m.joins.get(requestId);
      if (owner === client) apply(q, m, q.cancel(requestId), 'drain');
    }
    const back = m.leased.get(client) ?? [];
    m.leased.delete(client);
    requeue(m, back);
    apply(q, m, q.release(client, back), 'drain');
    for (const id of m.acked.get(client) ?? []) { consume(id, 'drain'); apply(q, m, q.taskDone(client, id), 'drain'); }
    m.acked.delete(client);
    assert.deepEqual(q.disconnect(client), [], 'drain: a client that owes nothing leaves nothing behind');
  }
  const reader = nextClient++;
  while (m.untold.length > 0) {
    const requestId = rid();
    m.gets.set(requestId, reader);
    apply(q, m, q.get(reader, requestId), 'drain');
  }
  while (!q.empty()) {
    const requestId = rid();
    m.gets.set(requestId, reader);
    apply(q, m, q.get(reader, requestId), 'drain');
    const [id] = m.leased.get(reader)!.splice(0);
    handToUser(id!, 'drain');
    consume(id!, 'drain');
    apply(q, m, q.ack(reader, id!), 'drain');
    if (options.joinable) apply(q, m, q.taskDone(reader), 'drain');
    checkInvariants(q, m, options.maxsize, 'drain');
  }
  const s = q.inspect();
  assert.equal(s.unfinished, 0);
  assert.deepEqual(new Set(m.payloadOf.keys()), new Set([...m.consumed, ...m.quarantined, ...m.dropped]),
    'every accepted item was consumed, quarantined or dropped, none lost');
  assert.equal(m.consumed.size + m.quarantined.size + m.dropped.size, m.payloadOf.size, 'never two of them');
  if (immediate) assert.ok(m.dropped.size > 0, 'the immediate close dropped items');
  assert.ok(s.accepted > 500, `the run accepted a meaningful number of items (${s.accepted})`);
  assert.ok(s.redeliveries > 0, 'the run exercised redelivery');
  return s.quarantined;
}

describe('QueueState against a model', () => {
  for (const options of [
    { maxsize: 0, joinable: false }, { maxsize: 3, joinable: false },
    { maxsize: 0, joinable: true }, { maxsize: 4, joinable: true },
  ]) {
    test(`20k random operations with deaths: ${JSON.stringify(options)}`, { timeout: 60_000 }, () => {
      let quarantined = 0;
      for (const seed of [1, 2]) quarantined += randomRun(seed, options, 20_000);
      quarantined += randomRun(3, options, 10_000, true);
      // A plain Queue's readers hold items too briefly here to be blamed 5 times; the tests above cover it.
      if (options.joinable) assert.ok(quarantined > 0, 'the runs exercised quarantine');
    });
  }
});
