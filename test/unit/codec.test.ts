/** Values: what can cross to another process, and the exact path named when something cannot. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync } from 'node:fs';
import v8 from 'node:v8';
import { SerializationError } from 'procsafe';
import { assertCopyable, deserialize, findUncopyable, serializeAfter } from '../../dist/codec/v8.js';
import { describeError, toRemoteError } from '../../dist/codec/remote-error.js';
import { RemoteError } from '../../dist/errors.js';

const kT = { timeout: 5_000 };

/** Serializes after a 3-byte prefix, checks the prefix is intact, and returns the value read back. */
function roundTrip(value: unknown): unknown {
  const prefix = Buffer.from([1, 2, 3]);
  const buffer = Buffer.concat(serializeAfter(prefix, value, 'value', 'a test value'));
  assert.deepEqual([...buffer.subarray(0, 3)], [1, 2, 3], 'the prefix comes first, untouched');
  return deserialize(buffer.subarray(3));
}

function copyableSamples(): Array<[string, unknown]> {
  const cyclic: Record<string, unknown> = { name: 'root' };
  cyclic['self'] = cyclic;
  const list: unknown[] = [1];
  list.push(list);
  const shared = { n: 1 };
  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto['a'] = 1;
  return [
    ['string', 'hello'], ['empty string', ''], ['number', 3.5], ['NaN', NaN], ['-0', -0], ['Infinity', Infinity],
    ['true', true], ['false', false], ['null', null], ['undefined', undefined], ['bigint', 12345678901234567890n],
    ['plain object', { a: 1, b: { c: [1, 'two', null] } }], ['null-prototype object', nullProto],
    ['array', [1, 'a', [2, [3]]]], ['sparse array', [1, , 3]], ['Map', new Map<unknown, unknown>([['a', 1], [{ k: 1 }, [2]]])],
    ['Set', new Set([1, 'a', { b: 2 }])], ['Date', new Date(1_700_000_000_000)], ['RegExp', /ab+c/gi],
    ['Uint8Array', new Uint8Array([1, 2, 3])], ['Float64Array', new Float64Array([1.5, -2])],
    ['BigInt64Array', new BigInt64Array([1n, -2n])], ['DataView', new DataView(new ArrayBuffer(4))],
    ['ArrayBuffer', new Uint8Array([9, 8]).buffer], ['Buffer', Buffer.from('bytes')],
    ['Error', new Error('boom')], ['TypeError', new TypeError('bad type')], ['RangeError', new RangeError('out')],
    ['Error with cause', new Error('outer', { cause: new Error('inner') })],
    ['boxed primitives', [Object(1), Object('s'), Object(true), Object(2n)]],
    ['cyclic object', cyclic], ['cyclic array', list], ['shared reference', { a: shared, b: shared }],
    ['non-identifier keys', { 'a-b': 1, '0': 2, 'with space': 3 }],
  ];
}

describe('findUncopyable / assertCopyable accept', () => {
  for (const [label, value] of copyableSamples()) {
    test(label, kT, () => {
      assert.equal(findUncopyable(value, 'args'), undefined);
      assert.doesNotThrow(() => assertCopyable(value, 'args', 'the arguments'));
      assert.doesNotThrow(() => roundTrip(value));
    });
  }
});

describe('serializeAfter round trips', () => {
  test('values come back equal', kT, () => {
    const value = {
      s: 'x', n: 1, big: 2n, list: [1, [2]], map: new Map([['k', new Set([1, 2])]]), date: new Date(0), re: /x/g,
      bytes: new Uint8Array([1, 2]), f64: new Float64Array([0.5]), buffer: new Uint8Array([7]).buffer, nil: null, undef: undefined,
    };
    assert.deepEqual(roundTrip(value), value);
  });

  test('a Buffer comes back as a Buffer', kT, () => {
    const back = roundTrip(Buffer.from('hi'));
    assert.ok(Buffer.isBuffer(back));
    assert.equal(back.toString(), 'hi');
  });

  test('cycles survive', kT, () => {
    const a: Record<string, unknown> = { x: 1 };
    a['self'] = a;
    const back = roundTrip(a) as Record<string, unknown>;
    assert.equal(back['self'], back);
  });

  test('an Error keeps its class, message and cause', kT, () => {
    const back = roundTrip(new RangeError('out', { cause: new TypeError('why') }));
    assert.ok(back instanceof RangeError);
    assert.equal(back.message, 'out');
    assert.ok(back.cause instanceof TypeError);
  });

  test('an empty prefix works; the payload is u32 v8 length, plain v8 bytes, then the out-of-band table', kT, () => {
    const buffer = Buffer.concat(serializeAfter(Buffer.alloc(0), [1, 'two'], 'value', 'x'));
    const v8Length = buffer.readUInt32BE(0);
    assert.deepEqual(v8.deserialize(buffer.subarray(4, 4 + v8Length)), [1, 'two']);
    assert.equal(buffer.readUInt32BE(4 + v8Length), 0, 'no out-of-band views');
    assert.deepEqual(deserialize(buffer), [1, 'two']);
  });
});

/** Expects `value`, called `root`, to be refused at exactly `path`, with a reason matching `reason`. */
function expectRejected(value: unknown, root: string, path: string, reason: RegExp): void {
  const found = findUncopyable(value, root);
  assert.ok(found, `${path} should be found uncopyable`);
  assert.equal(found.path, path);
  assert.match(found.reason, reason);
  assert.throws(() => assertCopyable(value, root, 'the arguments of "f"'), (error: unknown) => {
    assert.ok(error instanceof SerializationError);
    assert.equal(error.code, 'ESERIALIZE');
    assert.equal(error.path, path);
    assert.ok(error.message.includes(path), `the message names ${path}: ${error.message}`);
    assert.match(error.message, /the arguments of "f"/);
    return true;
  });
  assert.throws(() => serializeAfter(Buffer.alloc(4), value, root, 'x'), SerializationError, 'serializeAfter checks too');
}

class Point {
  #secret = 1;
  x = 1;
  get secret(): number { return this.#secret; }
}

describe('findUncopyable / assertCopyable reject, naming the path', () => {
  test('a function, at a deep path', kT, () => {
    expectRejected([{ a: { b: [1, 2, function handler() { /* not data */ }] } }], 'args', 'args[0].a.b[2]', /function \(handler\)/);
  });
  test('an arrow function at the top', kT, () => expectRejected(() => 1, 'args', 'args', /is a function/));
  test('a method of a plain object', kT, () => expectRejected({ ok: 1, nested: { fn(): void { /* */ } } }, 'result', 'result.nested.fn', /is a function/));
  test('a symbol', kT, () => expectRejected({ s: Symbol('x') }, 'args', 'args.s', /symbol/));
  test('a class instance with private fields', kT, () => expectRejected([new Point()], 'args', 'args[0]', /instance of Point/));
  test('an anonymous class instance', kT, () => {
    const Anonymous = (() => class { y = 2; })();
    Object.defineProperty(Anonymous, 'name', { value: '' });
    expectRejected({ v: new Anonymous() }, 'args', 'args.v', /anonymous class/);
  });
  test('a Promise, with a hint to await it', kT, () => expectRejected({ p: Promise.resolve(1) }, 'args', 'args.p', /Promise.*await it first/));
  test('a WeakMap', kT, () => expectRejected([new WeakMap()], 'args', 'args[0]', /WeakMap/));
  test('a WeakSet', kT, () => expectRejected([new WeakSet()], 'args', 'args[0]', /WeakSet/));
  test('a URL instance', kT, () => expectRejected({ u: new URL('file:///x') }, 'args', 'args.u', /URL/));
  test('a Map value', kT, () => expectRejected(new Map([['k', () => 1]]), 'args', 'args.get("k")', /function/));
  test('a Map value under a number key, nested', kT, () => {
    expectRejected([new Map([[1, new Map([['k', Symbol('s')]])]])], 'args', 'args[0].get(1).get("k")', /symbol/);
  });
  test('a Map key', kT, () => expectRejected(new Map([[() => 1, 'v']]), 'args', 'args<Map key>', /function/));
  test('a Set item', kT, () => expectRejected(new Set([1, Symbol('s')]), 'args', 'args<Set item 1>', /symbol/));
  test('a non-identifier key is quoted', kT, () => expectRejected({ 'a-b': { 'c d': () => 1 } }, 'args', 'args["a-b"]["c d"]', /function/));
  test('an own property of an Error', kT, () => {
    expectRejected(Object.assign(new Error('e'), { handler: () => 1 }), 'args', 'args.handler', /function/);
  });
  test('an Error cause', kT, () => expectRejected(new Error('e', { cause: Symbol('c') }), 'args', 'args.cause', /symbol/));
  test('a getter that returns a function', kT, () => {
    expectRejected({ get fn() { return () => 1; } }, 'args', 'args.fn', /function/);
  });
  test('a cycle that hides a function', kT, () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    a['fn'] = () => 1;
    expectRejected(a, 'args', 'args.fn', /function/);
  });
  test('the first of several bad parts is named', kT, () => {
    expectRejected([1, { ok: true }, Symbol('first'), () => 'second'], 'args', 'args[2]', /symbol/);
  });
});

describe('serializeAfter when the walk is skipped', () => {
  test('v8 refusing a value still becomes a SerializationError with the cause', kT, () => {
    assert.throws(() => serializeAfter(Buffer.alloc(4), { w: new WeakMap() }, 'args', 'the arguments', true), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      // The thorough walk after v8's refusal names the part.
      assert.equal(error.path, 'args.w');
      assert.match(error.message, /args\.w is an instance of WeakMap/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
  });
});

describe('describeError', () => {
  /** A descriptor must always be copyable, whatever was thrown. */
  function checkCopyable(info: unknown): void {
    assert.equal(findUncopyable(info, 'error'), undefined);
    assert.deepEqual(v8.deserialize(v8.serialize(info)), info);
  }

  test('an Error', kT, () => {
    const error = new Error('plain');
    const info = describeError(error);
    assert.equal(info.name, 'Error');
    assert.equal(info.message, 'plain');
    assert.equal(info.stack, error.stack);
    assert.deepEqual(info.properties, {});
    assert.equal(info.cause, undefined);
    checkCopyable(info);
  });

  test('an Error subclass with own properties', kT, () => {
    class HttpError extends Error {
      readonly status = 404;
      readonly code = 'E_HTTP';
      readonly details = { url: '/x', retry: false };
      constructor(message: string) {
        super(message);
        this.name = 'HttpError';
      }
    }
    const info = describeError(new HttpError('not found'));
    assert.equal(info.name, 'HttpError');
    assert.equal(info.message, 'not found');
    assert.match(String(info.stack), /HttpError: not found/);
    assert.deepEqual(info.properties, { status: 404, code: 'E_HTTP', details: { url: '/x', retry: false } });
    checkCopyable(info);
    const remote = toRemoteError(v8.deserialize(v8.serialize(info)) as typeof info);
    assert.ok(remote instanceof RemoteError);
    assert.equal(remote.remoteName, 'HttpError');
    assert.equal(remote.remoteCode, 'E_HTTP');
    assert.equal((remote as unknown as Record<string, unknown>)['status'], 404);
  });

  test('a thrown string', kT, () => {
    const info = describeError('just a string');
    assert.equal(info.name, 'NonError');
    assert.match(info.message, /"just a string"/);
    assert.equal(info.stack, undefined);
    assert.deepEqual(info.properties, {});
    checkCopyable(info);
  });

  test('other thrown non-Errors', kT, () => {
    for (const thrown of [undefined, null, 42, 10n, Symbol('s'), () => 1, { code: 'E_OBJ', handler: () => 1 }]) {
      const info = describeError(thrown);
      assert.equal(info.name, 'NonError');
      assert.equal(typeof info.message, 'string');
      checkCopyable(info);
    }
    const info = describeError({ code: 'E_OBJ', n: 1 });
    assert.deepEqual(info.properties, { code: 'E_OBJ', n: 1 });
  });

  test('a cause chain', kT, () => {
    const root = Object.assign(new RangeError('root'), { code: 'E_ROOT' });
    const info = describeError(new Error('outer', { cause: new TypeError('middle', { cause: root }) }));
    assert.equal(info.message, 'outer');
    assert.equal(info.cause?.name, 'TypeError');
    assert.equal(info.cause?.message, 'middle');
    assert.equal(info.cause?.cause?.name, 'RangeError');
    assert.deepEqual(info.cause?.cause?.properties, { code: 'E_ROOT' });
    assert.equal(info.cause?.cause?.cause, undefined);
    checkCopyable(info);
    const remote = toRemoteError(info);
    assert.ok(remote.cause instanceof RemoteError);
    assert.ok(remote.cause.cause instanceof RemoteError);
    assert.equal(remote.cause.cause.remoteCode, 'E_ROOT');
  });

  test('a non-Error cause', kT, () => {
    const info = describeError(new Error('outer', { cause: 'a reason' }));
    assert.equal(info.cause?.name, 'NonError');
    assert.match(String(info.cause?.message), /a reason/);
    checkCopyable(info);
  });

  test('a cyclic cause chain ends', kT, () => {
    const error = new Error('loop');
    (error as { cause?: unknown }).cause = error;
    const info = describeError(error);
    let depth = 0;
    for (let c = info.cause; c !== undefined; c = c.cause) depth++;
    assert.ok(depth > 0 && depth <= 16, `depth ${depth}`);
    checkCopyable(info);
  });

  test('an uncopyable own property is described, not dropped', kT, () => {
    const error = Object.assign(new Error('e'), {
      handler: function onData() { /* */ }, socket: new Point(), sym: Symbol('s'), fine: [1, 2],
    });
    const info = describeError(error);
    assert.deepEqual(Object.keys(info.properties).sort(), ['fine', 'handler', 'socket', 'sym']);
    assert.deepEqual(info.properties['fine'], [1, 2]);
    assert.match(String(info.properties['handler']), /^\[uncopyable: .*onData/);
    assert.match(String(info.properties['socket']), /^\[uncopyable: /);
    assert.match(String(info.properties['sym']), /^\[uncopyable: /);
    checkCopyable(info);
  });
});

describe('an array\'s named properties', () => {
  test('the everyday walk leaves them to v8; when v8 refuses, the error names the property', kT, () => {
    const list = Object.assign([1, 2], { fn: () => 1 });
    assert.equal(findUncopyable(list, 'args'), undefined, 'not listed by the everyday walk (it would cost a copy of the array)');
    assert.equal(findUncopyable(list, 'args', new Set(), true)?.path, 'args.fn');
    assert.throws(() => serializeAfter(Buffer.alloc(0), { rows: list }, 'args', 'the arguments'), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.path, 'args.rows.fn');
      assert.match(error.message, /args\.rows\.fn is a function/);
      return true;
    });
  });

  test('copyable named properties travel with the array', kT, () => {
    const back = roundTrip(Object.assign([1, 2], { label: 'x' })) as number[] & { label?: string };
    assert.deepEqual([...back], [1, 2]);
    assert.equal(back.label, 'x');
  });
});

describe('Error values keep what v8 alone drops', () => {
  test('own properties: code, errno, syscall, path of a real fs error', kT, () => {
    let thrown: NodeJS.ErrnoException | undefined;
    try {
      openSync('/nonexistent-procsafe-dir/file', 'r');
    } catch (error) {
      thrown = error as NodeJS.ErrnoException;
    }
    assert.ok(thrown !== undefined);
    assert.equal((v8.deserialize(v8.serialize(thrown)) as NodeJS.ErrnoException).code, undefined,
      'v8 alone drops code: the case this covers');
    const back = roundTrip(thrown) as NodeJS.ErrnoException;
    assert.ok(back instanceof Error);
    assert.equal(back.message, thrown.message);
    assert.equal(back.stack, thrown.stack);
    assert.equal(back.code, 'ENOENT');
    assert.equal(back.errno, thrown.errno);
    assert.equal(back.syscall, 'open');
    assert.equal(back.path, '/nonexistent-procsafe-dir/file');
    assert.deepEqual(Object.keys(back), Object.keys(thrown), 'the same own enumerable properties, in order');
  });

  test('the constructor of a standard error, a custom name, a subclass\'s name', kT, () => {
    const typed = Object.assign(new TypeError('t'), { code: 'E_T' });
    const typedBack = roundTrip(typed) as TypeError & { code?: string };
    assert.ok(typedBack instanceof TypeError);
    assert.equal(typedBack.code, 'E_T');
    const named = new Error('n');
    named.name = 'ValidationError';
    assert.equal((roundTrip(named) as Error).name, 'ValidationError');
    class ParseError extends Error {}
    ParseError.prototype.name = 'ParseError';
    const sub = roundTrip(new ParseError('p')) as Error;
    assert.equal(sub.name, 'ParseError');
    assert.equal(sub.message, 'p');
    assert.equal(String(sub), 'ParseError: p');
  });

  test('an AggregateError keeps its errors, a DOMException (an abort reason) its name', kT, () => {
    const aggregate = new AggregateError([Object.assign(new Error('a'), { code: 'E_A' }), new RangeError('b')], 'both');
    const back = roundTrip(aggregate) as AggregateError;
    assert.ok(back instanceof AggregateError);
    assert.equal(back.message, 'both');
    assert.equal(back.errors.length, 2);
    assert.equal((back.errors[0] as { code?: string }).code, 'E_A');
    assert.ok(back.errors[1] instanceof RangeError);
    const controller = new AbortController();
    controller.abort();
    assert.deepEqual(v8.deserialize(v8.serialize(controller.signal.reason)), {}, 'v8 alone turns it into {}');
    const reason = roundTrip(controller.signal.reason) as DOMException;
    assert.equal(reason.name, 'AbortError');
    assert.equal(reason.message, (controller.signal.reason as DOMException).message);
  });

  test('inside containers, through causes, shared and cyclic; the sender\'s value untouched', kT, () => {
    const inner = Object.assign(new Error('inner'), { code: 'E_IN' });
    const outer = new Error('outer', { cause: inner });
    const looped: Error & { self: unknown } = Object.assign(new Error('loop'), { self: undefined });
    looped.self = looped;
    const value = { list: [outer, inner], map: new Map([['e', inner]]), set: new Set([looped]), plain: new Error('plain') };
    const back = roundTrip(value) as typeof value;
    assert.equal(((back.list[0] as Error).cause as { code?: string }).code, 'E_IN');
    assert.equal(back.list[0]?.cause, back.list[1], 'one error referenced twice arrives as one');
    assert.equal(back.map.get('e'), back.list[1]);
    const loopBack = [...back.set][0] as Error & { self?: unknown };
    assert.equal(loopBack.self, loopBack, 'a cycle through an error property is kept');
    assert.ok(back.plain instanceof Error && back.plain.message === 'plain');
    assert.equal(value.list[0], outer, 'the sender\'s containers are not replaced');
    assert.deepEqual(Object.keys(inner), ['code'], 'the sender\'s errors are not changed');
  });

  test('an error in an array\'s named property arrives as v8 copies it: an Error, never a record', kT, () => {
    const rows = Object.assign([1], { failure: Object.assign(new Error('f'), { code: 'E_F' }) });
    const back = roundTrip({ rows, other: Object.assign(new Error('o'), { code: 'E_O' }) }) as { rows: number[] & { failure?: Error } };
    assert.ok(back.rows.failure instanceof Error);
    assert.equal(back.rows.failure.message, 'f');
  });

  test('an object that only looks like a record stays the plain object it is', kT, () => {
    const fake = { __procsafe_error__: { kind: 'Error', name: 'x' } };
    assert.deepEqual(roundTrip(fake), fake);
  });

  test('a value that holds no such error is serialized as it is', kT, () => {
    const value = { a: [1, 2, { b: new Error('plain') }], c: new Map([[1, 'x']]) };
    const bytes = Buffer.concat(serializeAfter(Buffer.alloc(0), value, 'v', 'v'));
    assert.equal(bytes.indexOf(Buffer.from('__procsafe_')), -1, 'no record key in the bytes');
    assert.deepEqual(deserialize(bytes), value);
  });
});

test('simple queue items are written in exactly the bytes v8 writes, and read back by both readers', async () => {
  const { encodeSimple, decodeSimple, kNotSimple } = await import('../../dist/codec/fast-value.js');
  const { serializeAfter, deserialize } = await import('../../dist/codec/v8.js');
  const values: unknown[] = [0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5, -0, NaN, Infinity, '', 'abc',
    'é'.repeat(300), true, false, null, undefined, Buffer.from([1, 2, 3]), Buffer.alloc(0), 'x'.repeat(200)];
  for (const value of values) {
    const simple = encodeSimple(value) as Buffer;
    assert.ok(simple !== undefined, `${String(value)} is simple`);
    assert.deepEqual(simple, serializeAfter(Buffer.alloc(0), value, 'v', 'v')[0]);
    assert.deepEqual(deserialize(simple), value);
    assert.deepEqual(decodeSimple(simple), value);
  }
  for (const value of ['€', { a: 1 }, [1], new Uint8Array(3), Buffer.alloc(70_000), 1n]) {
    assert.equal(encodeSimple(value), undefined);
    assert.equal(decodeSimple(serializeAfter(Buffer.alloc(0), value, 'v', 'v')[0] as Buffer), kNotSimple);
  }
});
