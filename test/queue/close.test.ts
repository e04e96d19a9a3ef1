// close({ immediate }), disconnect() and SimpleQueue within one process (other processes: test/crash/queue-close.test.ts).
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { JoinableQueue, Queue, QueueClosed, SimpleQueue } from 'procsafe';

const kT = { timeout: 10_000 };

describe('close({ immediate })', () => {
  test('drops waiting items: qsize 0, gets and puts reject QueueClosed at once', kT, async () => {
    const q = new Queue<number>();
    await q.putMany([1, 2, 3]);
    await q.close({ immediate: true });
    assert.equal(await q.qsize(), 0);
    assert.equal(await q.empty(), true);
    await assert.rejects(q.get(), QueueClosed);
    await assert.rejects(q.put(4), QueueClosed);
    await q.close();
    await q.close({ immediate: true });
  });

  test('a plain close still drains; an immediate one after it drops the rest', kT, async () => {
    const q = new Queue<number>();
    await q.putMany([1, 2, 3]);
    await q.close();
    assert.equal(await q.get(), 1);
    await q.close({ immediate: true });
    await assert.rejects(q.get(), QueueClosed);
    assert.equal((await q.inspect()).dropped, 2);
  });

  test('a JoinableQueue\'s dropped items count as done: join resolves', kT, async () => {
    const jq = new JoinableQueue<number>();
    await jq.putMany([1, 2, 3]);
    const join = jq.join();
    await jq.close({ immediate: true });
    await join;
  });

  test('options are checked', kT, async () => {
    const q = new Queue();
    await assert.rejects(q.close({ immediate: 'yes' as unknown as boolean }), TypeError);
    await assert.rejects(q.close({ immedate: true } as never), /Unknown option `immedate`/);
    await q.close({ immediate: false });
    assert.equal((await q.inspect()).closed, true);
  });
});

describe('disconnect()', () => {
  test('a waiting get and later calls reject QueueClosed, saying this process disconnected', kT, async () => {
    const q = new Queue<number>();
    const get = q.get();
    await q.disconnect();
    await assert.rejects(get, { name: 'QueueClosed', message: /this process disconnected/ });
    await assert.rejects(q.put(1), { name: 'QueueClosed', message: /this process disconnected/ });
    await assert.rejects(q.qsize(), QueueClosed);
    await assert.rejects(q.close(), QueueClosed);
    await q.disconnect();
  });

  test('a JoinableQueue: items not yet taskDone go back, and taskDone() throws QueueClosed', kT, async () => {
    const jq = new JoinableQueue<number>();
    await jq.put(1);
    assert.equal(await jq.get(), 1);
    await jq.disconnect();
    assert.throws(() => jq.taskDone(), QueueClosed);
    await assert.rejects(jq.join(), QueueClosed);
  });

  test('an iterator\'s window ends: read-ahead items are not handed out', kT, async () => {
    const q = new Queue<number>();
    await q.putMany([1, 2, 3]);
    const it = q.iterate({ prefetch: 4 })[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    await q.disconnect();
    await assert.rejects(it.next(), QueueClosed);
    await it.return?.();
  });
});

describe('SimpleQueue', () => {
  test('put, get, empty, close: FIFO, no maxsize, gets drain then QueueClosed', kT, async () => {
    const sq = new SimpleQueue<{ n: number }>();
    assert.equal(await sq.empty(), true);
    for (let i = 0; i < 100; i++) await sq.put({ n: i });
    assert.equal(await sq.empty(), false);
    assert.deepEqual(await sq.get(), { n: 0 });
    await sq.close();
    await assert.rejects(sq.put({ n: -1 }), QueueClosed);
    for (let i = 1; i < 100; i++) assert.deepEqual(await sq.get(), { n: i });
    await assert.rejects(sq.get(), QueueClosed);
    assert.equal(await sq.empty(), true);
  });

  test('only its own methods; travels as one handle; a waiting get is woken by a put', kT, async () => {
    const sq = new SimpleQueue<string>();
    assert.equal('putNowait' in sq, false);
    assert.deepEqual(Object.keys(sq), ['__procsafe_handle__']);
    assert.match(inspect(sq), /^SimpleQueue \{ simple-queue \d+ of pid \d+ \}$/);
    const got = sq.get();
    await sq.put('x');
    assert.equal(await got, 'x');
    assert.throws(() => new SimpleQueue({ maxsize: 1 } as never), /Unknown option `maxsize`/);
  });
});
