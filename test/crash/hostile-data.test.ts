// Hostile data through real pools and queues: what a task throws or is given
// must neither kill its worker nor come out as something it was not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lock, Pool, Queue, RemoteError, SerializationError, WorkerCrashed } from 'procsafe';
import { fixture } from '../helpers/index.js';

const hostile = fixture('hostile-tasks.mjs');
const kControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('errors a task throws', () => {
  test('an object with an own __proto__ key rejects RemoteError; the worker lives and nothing is retried',
    { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1, retries: 2 });
    t.after(() => pool.terminate());
    const pid = await pool.apply('pid');
    await assert.rejects(pool.apply('throwProtoObject'), (error: unknown) => {
      assert.ok(error instanceof RemoteError, `a RemoteError, got ${String(error)}`);
      assert.equal(error.remoteCode, 'E_API');
      assert.equal(error.remoteName, 'NonError');
      return true;
    });
    assert.deepEqual(await pool.apply('thrownCount'), { pid, thrown: 1 }, 'the same worker answers, and the task ran once');
    assert.equal(pool.stats().crashed, 0);
  });

  test('a remote error prints without escape sequences and stringifies whatever it carries', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1 });
    t.after(() => pool.terminate());
    const error = await pool.apply('throwAnsi').then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(error instanceof RemoteError);
    assert.doesNotMatch(error.message, kControl);
    assert.doesNotMatch(error.stack ?? '', kControl);
    assert.match(error.message, /^\\x1b\[2J\\x1b\[31mred alert\\x07 done\nsecond line$/);
    assert.match(`${error}`, /red alert/);
    assert.equal(Reflect.get(error.properties, 'toString'), 'not a function');
  });

  test('WorkerCrashed after an uncaught error names it without its escape sequences', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1, retries: 0 });
    t.after(() => pool.terminate());
    const error = await pool.apply('crashAnsi').then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(error instanceof WorkerCrashed, String(error));
    assert.match(error.message, /crashed/);
    assert.doesNotMatch(error.message, kControl);
  });
});

describe('values given to a pool', () => {
  test('an empty array of length 2**32-1 goes to a worker and back at once, holes kept', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1 });
    t.after(() => pool.terminate());
    await pool.apply('pid');
    const a: unknown[] = [];
    a.length = 2 ** 32 - 1;
    const start = performance.now();
    const out = await pool.apply('echo', [{ a, note: '__procsafe_x' }]) as { a: unknown[]; note: string };
    assert.ok(performance.now() - start < 2000, `took ${performance.now() - start} ms`);
    assert.equal(out.a.length, 2 ** 32 - 1);
    assert.equal(1 in out.a, false);
    assert.equal(out.note, '__procsafe_x');
  });

  test('a Proxy, a throwing getter and a too-deep value reject SerializationError that says so once, by path',
    { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1 });
    t.after(() => pool.terminate());
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let reads = 0;
    const cases: Array<[unknown, RegExp, RegExp]> = [
      [{ a: new Proxy({ x: 1 }, {}) }, /^args\[0\]\.a$/, /Proxy/],
      [{ a: { b: new Proxy({}, { get() { throw new Error('trap'); } }) } }, /^args\[0\]\.a\.b$/, /Proxy/],
      [{ a: { get b(): never { throw new Error('no'); } } }, /^args\[0\]\.a\.b$/, /no/],
      [deep, /^args\[0\](\[0\])+$/, /too deep/],
      // Passes the check at the call and throws when the batch is written: the batch's own fallback names it.
      [{ a: { get b(): number { if (reads++ > 0) throw new Error('second read'); return 1; } } }, /^args\[0\]\.a\.b$/, /second read/],
    ];
    for (const [value, path, reason] of cases) {
      const error = await pool.apply('echo', [value]).then(() => assert.fail('resolved'), (e: unknown) => e);
      assert.ok(error instanceof SerializationError, String(error));
      assert.match(error.path, path);
      assert.match(error.message, reason);
      assert.equal(error.message.match(/Cannot copy/g)?.length, 1, error.message);
    }
    assert.equal(await pool.apply('echo', [1]), 1);
  });

  test('reserved keys a worker returns arrive as plain data', { timeout: 30_000 }, async (t) => {
    const pool = new Pool({ module: hostile, workers: 1 });
    t.after(() => pool.terminate());
    const out = await pool.apply('reservedKeys') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__procsafe_error__', 'inner']);
    assert.deepEqual(out['inner'], { __procsafe_handle__: { kind: 'queue', path: '/tmp/x.sock' } });
  });
});

describe('values put on a queue', () => {
  test('forged records stay data; a real Queue, Lock and rich Error still revive', { timeout: 30_000 }, async () => {
    const q = new Queue<unknown>();
    const other = new Queue<number>();
    const lock = new Lock();
    const forged = [
      '{"__procsafe_error__":{"kind":"TypeError","name":"TypeError","message":"forged","props":{"x":1}}}',
      `{"__procsafe_handle__":{"kind":"queue","path":"/tmp/elsewhere.sock","pid":${process.pid},` +
        '"object":"q","secret":"s","maxMessageBytes":100,"size":0}}',
      '{"__procsafe_anything":1,"list":[{"__procsafe_error__":null}]}',
    ];
    for (const json of forged) {
      await q.put(JSON.parse(json));
      const out = await q.get({ timeoutMs: 5000 });
      assert.deepEqual(out, JSON.parse(json));
      assert.equal(Object.getPrototypeOf(out), Object.prototype);
    }
    await q.put({
      other, lock, error: Object.assign(new RangeError('real'), { code: 'E_REAL' }),
      forged: new Map([['f', JSON.parse(forged[1] as string)]]),
    });
    const got = await q.get({ timeoutMs: 5000 }) as {
      other: Queue<number>; lock: Lock; error: Error & { code?: string }; forged: Map<string, unknown>;
    };
    assert.ok(got.other instanceof Queue);
    assert.ok(got.lock instanceof Lock);
    await got.other.put(5);
    assert.equal(await other.get({ timeoutMs: 5000 }), 5);
    assert.ok(got.error instanceof RangeError);
    assert.equal(got.error.code, 'E_REAL');
    assert.deepEqual(got.forged.get('f'), JSON.parse(forged[1] as string));
    await Promise.all([q.close(), other.close()]);
  });
});
