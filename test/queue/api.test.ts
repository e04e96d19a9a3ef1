// Queue and JoinableQueue used from the owner itself: order, capacity, timeouts,
// aborts, close, read-ahead and bad input. The same calls from other processes
// are in handles.test.ts, and deaths in test/crash/queue-*.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AbortError, JoinableQueue, Queue, QueueClosed, QueueEmpty, QueueFull, SerializationError,
} from 'procsafe';

test('put/get keep FIFO order; qsize, empty and full follow the owner', { timeout: 10_000 }, async () => {
  const q = new Queue<unknown>({ maxsize: 3 });
  assert.equal(q.maxsize, 3);
  assert.equal(await q.empty(), true);
  await q.put(1);
  await q.put({ a: [1, 2n], d: new Date(0), m: new Map([[1, 'x']]) });
  await q.put(Buffer.from('abc'));
  assert.equal(await q.qsize(), 3);
  assert.equal(await q.full(), true);
  assert.equal(await q.get(), 1);
  assert.deepEqual(await q.get(), { a: [1, 2n], d: new Date(0), m: new Map([[1, 'x']]) });
  assert.deepEqual(await q.get(), Buffer.from('abc'));
  assert.equal(await q.qsize(), 0);
  assert.equal(await q.full(), false);
});

test('putNowait and getNowait never wait; put and get time out with QueueFull and QueueEmpty', { timeout: 10_000 }, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  await assert.rejects(q.getNowait(), QueueEmpty);
  const started = Date.now();
  await assert.rejects(q.get({ timeoutMs: 50 }), QueueEmpty);
  assert.ok(Date.now() - started >= 45);
  await q.putNowait(1);
  await assert.rejects(q.putNowait(2), QueueFull);
  await assert.rejects(q.put(2, { timeoutMs: 50 }), (error: Error) => error instanceof QueueFull && /50 ms; nothing was enqueued/.test(error.message));
  assert.equal(await q.qsize(), 1, 'a put that timed out enqueued nothing');
  assert.equal(await q.getNowait(), 1);
  await assert.rejects(q.getNowait(), QueueEmpty);
});

test('a waiting put is accepted as soon as a get makes room, in FIFO order', { timeout: 10_000 }, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  await q.put(0);
  const waiting = [q.put(1), q.put(2)];
  assert.equal(await q.get(), 0);
  assert.equal(await q.get(), 1);
  assert.equal(await q.get(), 2);
  await Promise.all(waiting);
});

test('an aborted get or put rejects AbortError and leaves nothing behind', { timeout: 10_000 }, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  const controller = new AbortController();
  const get = q.get({ signal: controller.signal });
  controller.abort(new Error('enough'));
  await assert.rejects(get, (error: Error) => error instanceof AbortError && (error.cause as Error).message === 'enough');
  await q.put(1);
  const put = q.put(2, { signal: AbortSignal.timeout(30) });
  await assert.rejects(put, AbortError);
  assert.equal(await q.qsize(), 1);
  assert.equal(await q.get(), 1, 'the aborted get did not take the item');
  await assert.rejects(q.get({ signal: AbortSignal.abort() }), AbortError);
});

test('getEntry gives a stable id; ids differ per item', { timeout: 10_000 }, async () => {
  const q = new Queue<string>();
  await q.putMany(['a', 'b']);
  const a = await q.getEntry();
  const b = await q.getEntry();
  assert.equal(a.value, 'a');
  assert.equal(b.value, 'b');
  assert.equal(a.deliveries, 1);
  assert.notEqual(a.id, b.id);
  assert.equal(typeof a.id, 'string');
});

test('close(): puts reject QueueClosed, gets drain what is left, then reject QueueClosed; waiting gets are told',
  { timeout: 10_000 }, async () => {
  const q = new Queue<number>();
  const waiting = new Queue<number>();
  const parked = waiting.get();
  await waiting.close();
  await assert.rejects(parked, QueueClosed);
  await q.putMany([1, 2]);
  await q.close();
  await assert.rejects(q.put(3), QueueClosed);
  assert.equal(await q.get(), 1);
  assert.equal(await q.get(), 2);
  await assert.rejects(q.get(), (error: Error) => error instanceof QueueClosed && /closed and drained/.test(error.message));
});

test('for await reads everything until closed and drained; break gives read-ahead items back', { timeout: 10_000 }, async () => {
  const q = new Queue<number>();
  const n = 1000;
  await q.putMany(Array.from({ length: n }, (_, i) => i));
  const seen: number[] = [];
  for await (const value of q.iterate({ prefetch: 32 })) {
    seen.push(value);
    if (seen.length === 10) break;
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Read-ahead items not handed out went back, in order, at the front.
  assert.equal(await q.qsize(), n - 10);
  await q.close();
  const rest: number[] = [];
  for await (const value of q) rest.push(value);
  assert.deepEqual(rest, Array.from({ length: n - 10 }, (_, i) => i + 10));
});

test('putMany sends everything together and resolves once all are held; a timeout says how many went in', { timeout: 10_000 }, async () => {
  const q = new Queue<number>({ maxsize: 5 });
  await q.putMany([0, 1, 2]);
  assert.equal(await q.qsize(), 3);
  await assert.rejects(q.putMany([3, 4, 5, 6], { timeoutMs: 50 }), (error: Error) =>
    error instanceof QueueFull && /^2 of 4 items were put; items\[2\]/.test(error.message));
  assert.equal(await q.qsize(), 5);
});

test('an item that cannot be copied rejects SerializationError naming its path; nothing is enqueued', { timeout: 10_000 }, async () => {
  const q = new Queue<unknown>();
  await q.put('kept');
  await assert.rejects(q.put({ ok: 1, bad: () => 1 }), (error: Error) =>
    error instanceof SerializationError && error.path === 'item.bad' && /function/.test(error.message));
  await assert.rejects(q.putMany([1, 2, { s: Symbol('x') }]),
    (error: Error) => error instanceof SerializationError && error.path === 'items[2].s');
  assert.equal(await q.qsize(), 1, 'nothing of the failed putMany went in');
  assert.equal(await q.get(), 'kept');
});

test('an item over maxMessageBytes is refused with SerializationError; the queue carries on', { timeout: 10_000 }, async () => {
  const q = new Queue<Buffer>({ maxMessageBytes: 64 * 1024 });
  await assert.rejects(q.put(Buffer.alloc(100 * 1024)), (error: Error) =>
    error instanceof SerializationError && /over this queue's maxMessageBytes \(65536\)/.test(error.message));
  await q.put(Buffer.alloc(1000, 3));
  assert.equal((await q.get()).length, 1000);
});

test('bad options are refused with the option named', { timeout: 10_000 }, async () => {
  assert.throws(() => new Queue({ maxsize: -1 }), /Expected `maxsize` to be an integer between 0 and \d+, got -1/);
  assert.throws(() => new Queue({ maxsize: 1.5 }), /Expected `maxsize` to be an integer/);
  assert.throws(() => new Queue({ maxsize: '3' as unknown as number }), /Expected `maxsize` to be an integer/);
  assert.throws(() => new Queue({ maxSize: 3 } as never), /Unknown option `maxSize`/);
  const q = new Queue();
  await assert.rejects(q.get({ timeoutMs: Number.NaN }), { name: 'TypeError', message: /Expected `timeoutMs` to be a number of milliseconds/ });
  await assert.rejects(q.put(1, { signal: 'no' as never }), /Expected `signal` to be an AbortSignal/);
  // A typo must not turn a timed get into one that waits for ever.
  await assert.rejects(q.get({ timeout: 100 } as never), /Unknown option `timeout` in the options of get\(\); the options are: timeoutMs, signal/);
  await assert.rejects(q.get(5 as never), /Expected `the options of get\(\)` to be an object, got/);
  assert.throws(() => q.iterate({ prefetch: 0 }), /Expected `prefetch` to be an integer between 1 and/);
});

test('JoinableQueue: join waits for taskDone of every item; taskDone with no id finishes the oldest', { timeout: 10_000 }, async () => {
  const q = new JoinableQueue<number>();
  await q.join();
  await q.putMany([1, 2, 3]);
  let joined = false;
  const join = q.join().then(() => { joined = true; });
  const a = await q.getEntry();
  const b = await q.getEntry();
  const c = await q.getEntry();
  assert.deepEqual([a.value, b.value, c.value], [1, 2, 3]);
  q.taskDone();
  q.taskDone(c.id);
  assert.equal((await q.inspect()).unfinished, 1);
  assert.equal(joined, false);
  q.taskDone();
  await join;
  assert.equal((await q.inspect()).unfinished, 0);
  assert.throws(() => q.taskDone(), { code: 'ETASKDONE', message: /taskDone\(\) called more times than this process got items/ });
});

test('a queue travels inside a queue item and comes back as the same object', { timeout: 10_000 }, async () => {
  const outer = new Queue<{ inner: Queue<string> }>();
  const inner = new Queue<string>();
  await outer.put({ inner });
  const got = await outer.get();
  assert.equal(got.inner, inner);
  await got.inner.put('through');
  assert.equal(await inner.get(), 'through');
});

test('large items of every layout come back byte for byte and in order (the owner forwards them in the pieces they arrived in)',
  { timeout: 30_000 }, async () => {
  const q = new Queue<unknown>();
  const pattern = (n: number, seed: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };
  const items: unknown[] = [
    pattern(100 * 1024, 1),
    pattern(10 * 1024 * 1024 + 3, 2),
    // Its v8 part alone spans many socket chunks: the owner joins it to check it.
    Array.from({ length: 20_000 }, (_, i) => `string number ${i}`),
    { name: 'mixed', bytes: pattern(300 * 1024, 3), floats: new Float64Array(70_000).fill(1.5) },
    'small after large',
  ];
  await Promise.all(items.map((item) => q.put(item)));
  for (const item of items) assert.deepEqual(await q.get({ timeoutMs: 10_000 }), item);
  assert.equal(await q.qsize(), 0);
});

test('a link first opened for a queue with a small maxMessageBytes still takes large items of a queue opened later',
  { timeout: 10_000 }, async () => {
  // The link to an owner is shared by all its objects: its frame limit must grow with the largest of them.
  const small = new Queue<string>({ maxMessageBytes: 1024 });
  await small.put('x');
  assert.equal(await small.get(), 'x');
  const big = new Queue<Buffer>();
  const item = Buffer.alloc(16 * 1024, 7); // through the socket (files start at 32 KiB)
  await big.put(item);
  assert.deepEqual(await big.get({ timeoutMs: 5_000 }), item);
  assert.equal(await small.qsize(), 0, 'the link is still up');
});

test('many puts and gets made in one turn travel in bundles and keep their order and answers', { timeout: 20_000 }, async () => {
  const q = new Queue<number>({ maxsize: 300 });
  const n = 5_000;
  const producer = (async () => {
    for (let i = 0; i < n; i += 1_000) await Promise.all(Array.from({ length: 1_000 }, (_, j) => q.put(i + j)));
  })();
  const got: number[] = [];
  for await (const value of q.iterate({ prefetch: 512 })) {
    got.push(value);
    if (got.length === n) break;
  }
  await producer;
  assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
  // Gets that leave together are still answered alone: the first one times out, the others are served.
  const gets = [q.get({ timeoutMs: 30 }), q.get({ timeoutMs: 5_000 }), q.get({ timeoutMs: 5_000 })];
  await assert.rejects(gets[0] as Promise<number>, QueueEmpty);
  await q.putMany([1, 2]);
  assert.deepEqual(await Promise.all(gets.slice(1)), [1, 2]);
  assert.equal(await q.qsize(), 0);
});
