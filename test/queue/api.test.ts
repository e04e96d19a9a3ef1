// Queue and JoinableQueue used from the owner itself, beyond the suite every backend runs (conformance.ts, run locally
// by conformance-local.test.ts): limits, bad input, handles and bundling. The same calls from other processes are in
// handles.test.ts, and deaths in test/crash/queue-*.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue, QueueEmpty, SerializationError } from 'procsafe';

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
