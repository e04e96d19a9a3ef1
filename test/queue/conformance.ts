// The queue API tests every backend must pass, written once: the local owner (queue/conformance-local.test.ts) and
// Redis (redis/queue-conformance.test.ts) each run them with a factory of their own, as BullMQ swaps a backend factory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, JoinableQueue, Queue, QueueClosed, QueueEmpty, QueueFull, SerializationError } from 'procsafe';

export interface QueueFactory {
  /** A new queue (a fresh name, on Redis), let go of when the test ends. */
  queue<T>(options?: { maxsize?: number; maxMessageBytes?: number }): Queue<T>;
  joinable<T>(options?: { maxsize?: number }): JoinableQueue<T>;
}

type Body = (make: QueueFactory) => Promise<void>;

/** Registers the suite; `factory(t)` is called per test (it registers the cleanup), `skip` a reason not to run. */
export function queueConformance(backend: string, factory: (t: { after: (fn: () => Promise<void> | void) => void }) => QueueFactory,
  skip?: string): void {
  const each = (name: string, body: Body): void => {
    test(`${backend}: ${name}`, { timeout: 20_000, skip }, async (t) => body(factory(t)));
  };

  each('put/get keep FIFO order; qsize, empty and full follow the state', async (make) => {
    const q = make.queue<unknown>({ maxsize: 3 });
    assert.equal(await q.empty(), true);
    assert.equal(q.maxsize, 3);
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

  each('putNowait and getNowait never wait; put and get time out with QueueFull and QueueEmpty', async (make) => {
    const q = make.queue<number>({ maxsize: 1 });
    await assert.rejects(q.getNowait(), QueueEmpty);
    await assert.rejects(q.get({ timeoutMs: 50 }), QueueEmpty);
    await q.putNowait(1);
    await assert.rejects(q.putNowait(2), QueueFull);
    await assert.rejects(q.put(2, { timeoutMs: 50 }), (error: Error) => error instanceof QueueFull && /50 ms; nothing was enqueued/.test(error.message));
    assert.equal(await q.qsize(), 1, 'a put that timed out enqueued nothing');
    assert.equal(await q.getNowait(), 1);
    await assert.rejects(q.getNowait(), QueueEmpty);
  });

  each('a waiting put is accepted as soon as a get makes room, in FIFO order', async (make) => {
    const q = make.queue<number>({ maxsize: 1 });
    await q.put(0);
    const waiting = [q.put(1), q.put(2)];
    assert.equal(await q.get(), 0);
    assert.equal(await q.get(), 1);
    assert.equal(await q.get(), 2);
    await Promise.all(waiting);
  });

  each('an aborted get or put rejects AbortError and leaves nothing behind', async (make) => {
    const q = make.queue<number>({ maxsize: 1 });
    const controller = new AbortController();
    const get = q.get({ signal: controller.signal });
    controller.abort(new Error('enough'));
    await assert.rejects(get, (error: Error) => error instanceof AbortError && (error.cause as Error).message === 'enough');
    await q.put(1);
    await assert.rejects(q.put(2, { signal: AbortSignal.timeout(30) }), AbortError);
    assert.equal(await q.qsize(), 1);
    assert.equal(await q.get(), 1, 'the aborted get did not take the item');
    await assert.rejects(q.get({ signal: AbortSignal.abort() }), AbortError);
  });

  each('getEntry gives a stable id; ids differ per item', async (make) => {
    const q = make.queue<string>();
    await q.putMany(['a', 'b']);
    const a = await q.getEntry();
    const b = await q.getEntry();
    assert.deepEqual([a.value, b.value, a.deliveries], ['a', 'b', 1]);
    assert.notEqual(a.id, b.id);
    assert.equal(typeof a.id, 'string');
  });

  each('close(): puts reject QueueClosed, gets drain what is left, then reject QueueClosed; waiting gets are told', async (make) => {
    const q = make.queue<number>();
    const waiting = make.queue<number>();
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

  each('close({ immediate }) drops waiting items: gets reject at once, join() resolves', async (make) => {
    const q = make.joinable<number>();
    await q.putMany([1, 2, 3]);
    await q.get();
    q.taskDone();
    await q.close({ immediate: true });
    await assert.rejects(q.get(), QueueClosed);
    await q.join();
  });

  each('after close({ immediate }), read-ahead items given back are dropped: join() resolves', async (make) => {
    const q = make.joinable<number>();
    await q.putMany([1, 2, 3, 4]);
    for await (const value of q.iterate({ prefetch: 4 })) {
      assert.equal(value, 1);
      await q.close({ immediate: true });
      break;
    }
    q.taskDone();
    await q.join();
    assert.equal(await q.qsize(), 0);
  });

  each('for await reads everything until closed and drained; break gives read-ahead items back', async (make) => {
    const q = make.queue<number>();
    const n = 200;
    await q.putMany(Array.from({ length: n }, (_, i) => i));
    const seen: number[] = [];
    for await (const value of q.iterate({ prefetch: 8 })) {
      seen.push(value);
      if (seen.length === 10) break;
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(await q.qsize(), n - 10, 'read-ahead items not handed out went back');
    await q.close();
    const rest: number[] = [];
    for await (const value of q) rest.push(value);
    assert.deepEqual(rest, Array.from({ length: n - 10 }, (_, i) => i + 10));
  });

  each('putMany resolves once all are held; a timeout says how many went in', async (make) => {
    const q = make.queue<number>({ maxsize: 5 });
    await q.putMany([0, 1, 2]);
    assert.equal(await q.qsize(), 3);
    await assert.rejects(q.putMany([3, 4, 5, 6], { timeoutMs: 50 }), (error: Error) =>
      error instanceof QueueFull && /^2 of 4 items were put; items\[\d\]/.test(error.message));
    assert.equal(await q.qsize(), 5);
  });

  each('an item that cannot be copied rejects SerializationError naming its path; nothing is enqueued', async (make) => {
    const q = make.queue<unknown>();
    await q.put('kept');
    await assert.rejects(q.put({ ok: 1, bad: () => 1 }), (error: Error) =>
      error instanceof SerializationError && error.path === 'item.bad' && /function/.test(error.message));
    await assert.rejects(q.putMany([1, 2, { s: Symbol('x') }]),
      (error: Error) => error instanceof SerializationError && error.path === 'items[2].s');
    assert.equal(await q.qsize(), 1, 'nothing of the failed putMany went in');
    assert.equal(await q.get(), 'kept');
  });

  each('JoinableQueue: join waits for taskDone of every item; taskDone with no id finishes the oldest', async (make) => {
    const q = make.joinable<number>();
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

  each('disconnect(): this handle\'s calls reject QueueClosed, its held items go back, the queue lives on', async (make) => {
    const q = make.joinable<number>();
    await q.putMany([1, 2]);
    const held = await q.getEntry();
    const parked = assert.rejects(q.join(), QueueClosed);
    await q.disconnect();
    await parked;
    await assert.rejects(q.put(3), QueueClosed);
    await assert.rejects(q.get(), QueueClosed);
    assert.equal(held.value, 1);
  });
}
