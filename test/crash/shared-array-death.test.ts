// SharedArray and deaths: a holder's death changes nothing for the others; the creator's death (however it died)
// leaves every holder its memory, refuses newcomers with a clear ProcsafeError, and leaves nothing in /dev/shm.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { BrokerLost, Pool, Process, Queue, SharedArray } from 'procsafe';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { fixture, isAlive, ownerItems, waitUntil } from '../helpers/index.js';
import { watcherOf } from '../helpers/children.js';

const linux = process.platform === 'linux' && existsSync('/dev/shm');
const skip = !linux && 'no /dev/shm';
const shared = fixture('shared-tasks.mjs');

type Arr = SharedArray<Int32ArrayConstructor>;
interface RawHandle { path: string; object: string }
const fileOf = (arr: object): string => {
  const handle = (arr as Record<string, RawHandle>)['__procsafe_handle__'] as RawHandle;
  return join(sharedDirFor(handle.path), handle.object);
};

/** A started child running `fn` of the fixtures; SIGKILLed when the test ends, whatever happened. */
async function child(t: { after: (fn: () => void) => void }, fn: string, args: unknown[]): Promise<Process> {
  const p = new Process({ module: shared, fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  return p;
}


/** This process's mapping of `file`, as the kernel lists it ("… (deleted)" once unlinked). */
const mappingOf = (file: string): string | undefined =>
  readFileSync('/proc/self/maps', 'utf8').split('\n').find((line) => line.includes(file));

test('a holder SIGKILLed (one mapping it, one holding its lock): the memory, the file and the lock go on for the others',
  { timeout: 30_000, skip }, async (t) => {
  const arr = new SharedArray(Int32Array, 8);
  arr.array[0] = 1;
  const ready = new Queue<{ pid: number; seen?: number }>();
  const holder = await child(t, 'holdAndHang', [arr, ready]);
  assert.equal((await ready.get({ timeoutMs: 10_000 })).seen, 1);
  const locker = await child(t, 'lockAndHang', [arr, ready]);
  await ready.get({ timeoutMs: 10_000 });
  for (const p of [holder, locker]) {
    p.kill('SIGKILL');
    await p.join();
  }
  assert.ok(existsSync(fileOf(arr)), 'the file stays while its creator lives');
  assert.equal(arr.array[2], 7, 'what the dead holder wrote is there');
  const lease = await arr.lock.acquire({ timeoutMs: 5_000 });
  assert.equal(lease.previousOwnerDied, true, 'the next holder learns the update may be half done');
  assert.equal(arr.array[0], -1);
  arr.array[0] = 0;
  lease.release();
  await using pool = new Pool({ module: shared, workers: 1 });
  assert.equal(await pool.apply('write', [arr, [1], 5]), 12, 'a newcomer maps it and reads 5 + 7');
});

test('the creator SIGKILLed: holders keep their memory, a newcomer gets ProcsafeError, its lock BrokerLost, and /dev/shm is clean',
  { timeout: 30_000, skip }, async (t) => {
  const out = new Queue<{ pid: number; arr: Arr }>();
  const creator = await child(t, 'createAndHang', [out, 1000]);
  const { arr } = await out.get({ timeoutMs: 10_000 });
  const file = fileOf(arr);
  assert.ok(existsSync(file));
  assert.equal(arr.array[999], 5, 'mapped here on arrival');
  const ready = new Queue<{ pid: number }>();
  const holder = await child(t, 'holdAndHang', [arr, ready]);
  await ready.get({ timeoutMs: 10_000 });
  creator.kill('SIGKILL');
  await creator.join();
  // Removed by the creator's watcher, however the creator died.
  await waitUntil(() => !existsSync(dirname(file)), "the dead creator's directory to be removed");
  assert.equal(arr.array[999], 5, 'this holder keeps its memory');
  arr.array[999] = 6;
  assert.equal(arr.array[2], 7, 'and shares it still with the other holder');
  assert.match(mappingOf(file) ?? '', / \(deleted\)$/, 'the memory now lives only in its mappings');
  await using pool = new Pool({ module: shared, workers: 1 });
  const seen = await pool.apply('tryRead', [arr]) as { ok: boolean; name: string; code: string; message: string };
  assert.equal(seen.ok, false);
  assert.equal(seen.name, 'ProcsafeError');
  assert.equal(seen.code, 'EPROCSAFE');
  assert.match(seen.message, /^SharedArray shared-array array-[0-9a-f]{16} of pid \d+ is gone: its file .* was removed when the process that created it ended/);
  await assert.rejects(arr.lock.acquire({ timeoutMs: 10_000 }), BrokerLost);
  holder.kill('SIGKILL');
  await holder.join();
  assert.equal(existsSync(file) || existsSync(dirname(file)), false, 'nothing of it is left in /dev/shm');
});

test('the creator exits normally: its directory goes at exit, and a holder keeps its memory',
  { timeout: 30_000, skip }, async (t) => {
  const out = new Queue<{ pid: number; arr: Arr }>();
  const mapped = new Queue<string>();
  const creator = await child(t, 'createAndReturn', [out, mapped, 3]);
  const { arr } = await out.get({ timeoutMs: 10_000 });
  const file = fileOf(arr);
  // Mapped on arrival: until then, the creator must live (a newcomer cannot open the file of a creator gone).
  await mapped.put('mapped');
  assert.deepEqual(await creator.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
  assert.equal(existsSync(dirname(file)), false, 'removed by the exit itself');
  assert.deepEqual([...arr.array], [3, 3, 3]);
});

test('the creator and its watcher both SIGKILLed: the next owner to start removes the directory with the array\'s file',
  { timeout: 30_000, skip }, async (t) => {
  const out = new Queue<{ pid: number; arr: Arr }>();
  const creator = await child(t, 'createAndHang', [out, 16]);
  const { arr } = await out.get({ timeoutMs: 10_000 });
  const dir = dirname(fileOf(arr));
  const watcher = watcherOf(dir);
  assert.ok(watcher !== undefined, 'a watcher runs for the creator');
  process.kill(watcher, 'SIGKILL');
  await waitUntil(() => !isAlive(watcher), 'the watcher to die');
  creator.kill('SIGKILL');
  await creator.join();
  assert.deepEqual(ownerItems(dir), [fileOf(arr).slice(dir.length + 1)], 'nobody cleaned up yet: the file is there');
  // Any process's first queue (or SharedArray) prepares its own directory and sweeps those of dead owners.
  const next = await child(t, 'ownSomething', []);
  assert.deepEqual(await next.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
  assert.equal(existsSync(dir), false, 'removed by the next owner');
  assert.equal(arr.array[15], 5, 'this holder still has its memory');
});
