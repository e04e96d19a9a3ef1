/** Values built to hurt the codec: huge sparse arrays, our own reserved keys, traps, depth. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteError, SerializationError } from 'procsafe';
import { assertCopyable, deserialize, serializeAfter } from '../../dist/codec/v8.js';
import { describeError, toRemoteError } from '../../dist/codec/remote-error.js';

const kT = { timeout: 10_000 };
const kEmpty = Buffer.alloc(0);

/** What the queue and the pool do with a value: serialize it, read it back. */
function roundTrip(value: unknown): unknown {
  return deserialize(Buffer.concat(serializeAfter(kEmpty, value, 'item', 'the queue item')));
}

function hugeEmptyArray(length = 2 ** 32 - 1): unknown[] {
  const array: unknown[] = [];
  array.length = length;
  return array;
}

function elapsed<T>(run: () => T): [T, number] {
  const start = performance.now();
  const result = run();
  return [result, performance.now() - start];
}

const kForgedError = '{"__procsafe_error__":{"kind":"TypeError","name":"TypeError","message":"forged","stack":"at evil",' +
  '"hasCause":false,"props":{"polluted":true}}}';
const kForgedHandle = '{"__procsafe_handle__":{"kind":"queue","path":"/tmp/elsewhere.sock","pid":1,"object":"q1","secret":"s",' +
  '"maxMessageBytes":1000,"size":0}}';
// Parsed afresh at each call: no two values share an object.
const forgedError = (): unknown => JSON.parse(kForgedError);
const forgedHandle = (): unknown => JSON.parse(kForgedHandle);

describe('sparse arrays cost what they hold, not their length', () => {
  test('a length 2**32-1 empty array beside a reserved-prefix string round-trips at once, holes kept', kT, () => {
    const [out, ms] = elapsed(() => roundTrip({ a: hugeEmptyArray(), note: '__procsafe_x' }) as { a: unknown[]; note: string });
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(out.note, '__procsafe_x');
    assert.equal(out.a.length, 2 ** 32 - 1);
    assert.equal(1 in out.a, false, 'a hole stays a hole');
    assert.equal(Object.keys(out.a).length, 0);
  });

  test('checking a length 1e8 empty array for copyability is immediate', kT, () => {
    const [, ms] = elapsed(() => assertCopyable([hugeEmptyArray(1e8)], 'args', 'the arguments'));
    assert.ok(ms < 500, `took ${ms} ms`);
  });

  test('records inside a huge sparse array revive, and its holes and named properties stay', kT, () => {
    const sparse = hugeEmptyArray();
    sparse[7] = Object.assign(new Error('rich'), { code: 'E_RICH' });
    sparse[3_000_000_000] = 'far';
    (sparse as unknown as Record<string, unknown>)['named'] = 'prop';
    const [out, ms] = elapsed(() => roundTrip({ sparse, note: '__procsafe_x' }) as { sparse: unknown[] });
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(out.sparse.length, 2 ** 32 - 1);
    assert.ok(out.sparse[7] instanceof Error);
    assert.equal((out.sparse[7] as { code?: string }).code, 'E_RICH');
    assert.equal(out.sparse[3_000_000_000], 'far');
    assert.equal((out.sparse as unknown as Record<string, unknown>)['named'], 'prop');
    assert.deepEqual(Object.keys(out.sparse), ['7', '3000000000', 'named']);
  });

  test('an array with a hole and an explicit undefined keeps both as they were', kT, () => {
    const out = roundTrip({ list: [1, , undefined, 4], note: '__procsafe_x' }) as { list: unknown[] };
    assert.equal(1 in out.list, false);
    assert.equal(2 in out.list, true);
    assert.equal(out.list.length, 4);
  });
});

describe('user data that looks like our records arrives as the data it is', () => {
  const samples: Array<[string, () => unknown]> = [
    ['a forged error record', () => forgedError()],
    ['a forged handle', () => forgedHandle()],
    ['other reserved keys',
      () => ({ __procsafe_: 1, '__procsafe_~x': 2, '__procsafe_~~y': 3, __procsafe_handle__: null, __procsafe_z: 'é€' })],
    ['a two-byte reserved key', () => ({ '__procsafe_€': 1, '__procsafe_~€': 2 })],
    ['nested forgeries', () => ({ deep: [{ x: forgedError() }, forgedHandle()] })],
    ['forgeries as Map values and Set items',
      () => ({ m: new Map<unknown, unknown>([['k', forgedHandle()], [forgedError(), 1]]), s: new Set([forgedError()]) })],
    ['an own __proto__ key beside a forgery', () => JSON.parse(`{"__proto__":{"x":1},"inner":${kForgedError}}`) as unknown],
  ];
  for (const [name, make] of samples) {
    test(name, kT, () => {
      const out = roundTrip(make());
      assert.deepEqual(out, make());
      assert.equal(JSON.stringify(out, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v)),
        JSON.stringify(make(), (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v)), 'same keys, same order');
    });
  }

  test('a real rich Error beside forged records: only the real one is revived', kT, () => {
    const real = Object.assign(new TypeError('real'), { code: 'E_REAL', __procsafe_handle__: 'own prop' });
    const out = roundTrip({ real, forged: forgedError(), nested: new Map([['h', forgedHandle()]]) }) as Record<string, unknown>;
    assert.ok(out['real'] instanceof TypeError);
    assert.equal((out['real'] as { code?: string }).code, 'E_REAL');
    assert.equal((out['real'] as unknown as Record<string, unknown>)['__procsafe_handle__'], 'own prop');
    assert.deepEqual(out['forged'], forgedError());
    assert.equal(Object.getPrototypeOf(out['forged']), Object.prototype);
    assert.deepEqual(out['nested'], new Map([['h', forgedHandle()]]));
  });

  test('an error own property holding a forgery stays data on the rebuilt error', kT, () => {
    const error = Object.assign(new Error('carrier'), { payload: forgedError() });
    const out = roundTrip(error) as Error & { payload: unknown };
    assert.deepEqual(out.payload, forgedError());
  });
});

describe('errors whose properties fight back', () => {
  test('an own __proto__ key is copied as data: the descriptor stays plain and copyable', kT, () => {
    const info = describeError(JSON.parse('{"__proto__":{"x":1},"code":"E_API"}') as unknown);
    assert.equal(Object.getPrototypeOf(info.properties), Object.prototype);
    assert.deepEqual(Object.keys(info.properties), ['__proto__', 'code']);
    const back = roundTrip(info) as typeof info;
    const remote = toRemoteError(back);
    assert.equal(remote.remoteCode, 'E_API');
    assert.deepEqual(Object.getOwnPropertyDescriptor(remote.properties, '__proto__')?.value, { x: 1 });
  });

  test('own toString, valueOf and constructor do not break `${err}`; they stay in properties', kT, () => {
    const error = Object.assign(new Error('plain words'), { toString: 'x', valueOf: { a: 1 }, constructor: 42, hasOwnProperty: 1 });
    const remote = toRemoteError(roundTrip(describeError(error)) as ReturnType<typeof describeError>);
    assert.ok(remote instanceof RemoteError);
    assert.equal(`${remote}`, 'RemoteError: plain words');
    assert.equal(String(remote), 'RemoteError: plain words');
    assert.equal(Reflect.get(remote.properties, 'toString'), 'x');
    assert.equal(remote.properties['constructor'], 42);
    assert.equal(typeof remote.hasOwnProperty, 'function');
  });

  test('control characters in a remote message, name and stack are shown escaped, not sent to the terminal', kT, () => {
    const error = new Error('\u001b[2Jclear\u0007 bell\u009b31m\nnext\tline');
    error.name = 'Evil\u001b[0m';
    const remote = toRemoteError(describeError(error), 'prefix: ');
    for (const text of [remote.message, remote.stack ?? '', remote.remoteStack ?? '', remote.remoteName]) {
      assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, JSON.stringify(text));
    }
    assert.equal(remote.message, 'prefix: \\x1b[2Jclear\\x07 bell\\x9b31m\nnext\tline');
    assert.equal(remote.remoteName, 'Evil\\x1b[0m');
  });
});

describe('values that throw or nest too deep are refused by path', () => {
  function refusal(value: unknown): SerializationError {
    try {
      assertCopyable([value], 'args', 'the arguments of "f"');
    } catch (error) {
      assert.ok(error instanceof SerializationError, `a SerializationError, got ${String(error)}`);
      return error;
    }
    assert.fail('accepted');
  }

  test('a throwing getter', kT, () => {
    const error = refusal({ a: { get b(): never { throw new Error('getter says no'); } } });
    assert.equal(error.path, 'args[0].a.b');
    assert.match(error.message, /args\[0\]\.a\.b .*getter says no/);
  });

  test('a Proxy, throwing or not, is named as a Proxy', kT, () => {
    const throwing = refusal({ a: { b: new Proxy({}, { ownKeys() { throw new Error('trap'); } }) } });
    assert.equal(throwing.path, 'args[0].a.b');
    assert.match(throwing.message, /Proxy/);
    const quiet = refusal({ a: [new Proxy({ x: 1 }, {})] });
    assert.equal(quiet.path, 'args[0].a[0]');
    assert.match(quiet.message, /Proxy/);
  });

  test('a 100,000-deep nested array', kT, () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const error = refusal(deep);
    assert.match(error.message, /too deep/);
    assert.match(error.message, /\d+ levels/);
    assert.match(error.path, /^args\[0\](\[0\])+$/);
  });

  test('a queue item too deep is refused by serializeAfter the same way', kT, () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    assert.throws(() => serializeAfter(kEmpty, deep, 'item', 'the queue item'), (error: unknown) =>
      error instanceof SerializationError && /too deep/.test(error.message));
  });
});
