// SharedArray (SPEC "Shared state"): zero-filled memory every holder maps, a typed array over it in each process,
// a Lock for compound updates, and Atomics that stay exact across processes. Needs the native addon (Linux).
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { Lock, Pool, ProcsafeError, Process, SharedArray } from 'procsafe';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { fixture, ownerItems } from '../helpers/index.js';

const linux = process.platform === 'linux' && existsSync('/dev/shm');
const shared = fixture('shared-tasks.mjs');

interface RawHandle { path: string; object: string }
const fileOf = (arr: object): string => {
  const handle = (arr as Record<string, RawHandle>)['__procsafe_handle__'] as RawHandle;
  return join(sharedDirFor(handle.path), handle.object);
};

/** Runs `fn` of the fixtures in a fresh child and waits for it to exit 0. */
async function runChild(fn: string, args: unknown[], env?: Record<string, string>): Promise<void> {
  const p = new Process({ module: shared, fn, args, stdout: 'ignore', stderr: 'inherit', ...(env === undefined ? {} : { env }) });
  try {
    await p.start();
    assert.deepEqual(await p.join({ timeoutMs: 60_000 }), { exitCode: 0, signal: null });
  } finally {
    p.kill('SIGKILL');
  }
}

test('every element type: a zero-filled typed array of that type and length, in a 0600 file of the owner\'s directory',
  { timeout: 10_000, skip: !linux && 'no /dev/shm' }, () => {
  const types = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;
  for (const type of types) {
    const arr = new SharedArray(type, 17);
    assert.ok(arr.array instanceof type, type.name);
    assert.equal(arr.array.length, 17);
    assert.equal(arr.length, 17);
    assert.equal([...arr.array].every((v) => v === 0 || v === 0n), true, `${type.name} is zero-filled`);
    assert.equal(arr.array, arr.array, 'one typed array, not a new one per read');
    const stat = statSync(fileOf(arr));
    assert.equal(stat.size, 17 * type.BYTES_PER_ELEMENT);
    assert.equal(stat.mode & 0o777, 0o600);
    assert.ok(arr.lock instanceof Lock);
  }
  // Typed by its element type: `array` is a Float64Array here, with no cast.
  const big = new SharedArray(Float64Array, 1_000_000);
  const typed: Float64Array = big.array;
  assert.equal(typed, big.array);
  assert.equal(big.array.length, 1_000_000);
  assert.equal(big.array.every((v) => v === 0), true);
  assert.equal(new SharedArray(Uint8Array, 0).array.length, 0);
  assert.match(inspect(big), /^SharedArray \{ shared-array array-[0-9a-f]{16} of pid \d+, Float64Array\(1000000\) \}$/);
});

test('misuse: a type that is not a typed array constructor, a bad length, extra arguments', { timeout: 10_000 }, () => {
  assert.throws(() => new SharedArray(Array as never, 3), { name: 'TypeError', message: /type must be one of Int8Array, .*got Array/ });
  assert.throws(() => new SharedArray(DataView as never, 3), TypeError);
  assert.throws(() => new SharedArray(Float64Array, -1), RangeError);
  assert.throws(() => new SharedArray(Float64Array, 1.5), TypeError);
  assert.throws(() => new SharedArray(Float64Array, '3' as never), TypeError);
  assert.throws(() => new SharedArray(Float64Array, 2 ** 53), RangeError);
  assert.throws(() => Reflect.construct(SharedArray, [Float64Array, 3, {}]), { name: 'TypeError', message: /takes two arguments/ });
});

test('/dev/shm without room for it: ProcsafeError saying so, and no file left behind',
  { timeout: 10_000, skip: !linux && 'no /dev/shm' }, () => {
  const dir = dirname(fileOf(new SharedArray(Uint8Array, 1)));
  const before = ownerItems(dir);
  assert.throws(() => new SharedArray(Float64Array, 2 ** 49), (error: Error) => {
    assert.ok(error instanceof ProcsafeError);
    assert.match(error.message, /\/dev\/shm has no room for 562949953421312 Float64Array elements .*--shm-size/);
    return true;
  });
  assert.deepEqual(ownerItems(dir), before);
});

test('the handle travels to a Process: it sees what the creator wrote, and the creator sees what it writes',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async () => {
  const arr = new SharedArray(Float64Array, 1000);
  arr.array[10] = 2.5;
  // Written by the child into the same memory: no copy travels back.
  await runChild('write', [arr, [0, 999], 1.25]);
  assert.equal(arr.array[0], 1.25);
  assert.equal(arr.array[999], 1.25);
  assert.equal(arr.array[10], 2.5);
});

for (const isolation of ['process', 'thread'] as const) {
  test(`the handle travels to a pool task (${isolation}): the same memory there, and the same Lock`,
    { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async () => {
    const arr = new SharedArray(Int32Array, 4);
    arr.array[3] = 42;
    await using pool = new Pool({ module: shared, workers: 2, isolation });
    assert.deepEqual(await pool.apply('describe', [arr, [3]]), { type: 'Int32Array', length: 4, own: 4, at: [42] });
    assert.equal(await pool.apply('write', [arr, [1], 8]), 50, 'the task read 42 + 8');
    assert.equal(arr.array[1], 8);
    // Compound updates under arr.lock from both workers at once: none lost, element 1 always twice element 0.
    const counts = await Promise.all([pool.apply('lockedAdd', [arr, 200]), pool.apply('lockedAdd', [arr, 200])]);
    assert.deepEqual(counts, [200, 200]);
    assert.equal(arr.array[0], 400);
    assert.equal(arr.array[1], 800);
    assert.equal(await arr.lock.locked(), false);
  });
}

test('Atomics.add from two processes, 1e6 times each, on an Int32Array SharedArray: exactly 2e6',
  { timeout: 60_000, skip: !linux && 'no /dev/shm' }, async () => {
  const arr = new SharedArray(Int32Array, 1);
  await Promise.all([runChild('atomicAdd', [arr, 1e6]), runChild('atomicAdd', [arr, 1e6])]);
  assert.equal(arr.array[0], 2e6);
  assert.equal(Atomics.load(arr.array, 0), 2e6);
});

test('PROCSAFE_NATIVE=0: new SharedArray throws a ProcsafeError saying why (one warning), and queues and locks work',
  { timeout: 30_000 }, async () => {
  await using pool = new Pool({ module: shared, workers: 1, env: { ...process.env, PROCSAFE_NATIVE: '0' } });
  const got = await pool.apply('withoutNative', []) as {
    errors: { name: string; code: string; message: string }[]; warnings: string[]; item: string;
  };
  assert.equal(got.errors.length, 2, 'each construction throws');
  for (const error of got.errors) {
    assert.equal(error.name, 'ProcsafeError');
    assert.equal(error.code, 'EPROCSAFE');
    assert.equal(error.message, 'SharedArray needs procsafe\'s native addon, which did not load: PROCSAFE_NATIVE=0 turns it off');
  }
  assert.deepEqual(got.warnings, ['procsafe: the native addon is not in use: PROCSAFE_NATIVE=0 turns it off'], 'one line, once');
  assert.equal(got.item, 'still works');
});
