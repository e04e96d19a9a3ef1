// Large items through shared memory (src/queue/spill.ts): they travel as files in
// the owner's directory on /dev/shm, and no death leaves one behind or loses one.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { JoinableQueue, Process, Queue } from 'procsafe';
import { connect } from '../../dist/transport/client.js';
import { encodeHead, encodeText, type Frame } from '../../dist/transport/frame.js';
import { kAnswer, kRequest } from '../../dist/broker/protocol.js';
import { deserialize } from '../../dist/codec/v8.js';
import { spillPrefix, WriterFiles } from '../../dist/queue/spill.js';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { remainingAfter as from } from '../../dist/internal/chunks.js';
import { linkFor } from '../../dist/broker/link.js';
import { fixture, isAlive, ownerItems, startChild, waitUntil } from '../helpers/index.js';
import { watcherOf } from '../helpers/children.js';

const linux = process.platform === 'linux' && existsSync('/dev/shm');

interface RawHandle { path: string; object: string; secret: string }
const handleOf = (q: object): RawHandle => (q as Record<string, RawHandle>)['__procsafe_handle__'] as RawHandle;
const filesOf = (q: object): string[] => readdirSync(sharedDirFor(handleOf(q).path));
/**
 * The files of other processes' connections. This process writes files at its
 * own queues' owner (itself) too, and keeps the ones given back for a while.
 */
const othersFiles = (q: object): string[] => {
  const own = linkFor(handleOf(q) as never).files()?.prefix ?? 'none';
  return filesOf(q).filter((name) => !name.startsWith(`${own}-`));
};

test('items of 32 KiB and more go through files and come back byte for byte; a consumed file is deleted once its writer is gone',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const q = new Queue<Buffer>();
  for (const bytes of [32 * 1024, 100 * 1024, 10 * 1024 * 1024]) {
    const writer = await startChild(t, 'putBytes', [q, bytes, bytes % 251]);
    assert.deepEqual(await writer.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
    assert.equal(othersFiles(q).length, 1, `the ${bytes} byte item waits in one file`);
    assert.equal(statSync(join(sharedDirFor(handleOf(q).path), othersFiles(q)[0] as string)).size >= bytes, true);
    const got = await q.get();
    assert.equal(got.length, bytes);
    assert.equal(got.every((byte) => byte === bytes % 251), true, 'every byte as written');
    await waitUntil(() => othersFiles(q).length === 0, 'the consumed file to be deleted');
  }
  // A small item and a value of several binary parts, from this process (the owner uses its own socket too).
  const parts = { head: 'x', a: Buffer.alloc(50_000, 1), b: new Float64Array(10_000).fill(2.5) };
  const mixed = new Queue<unknown>();
  await mixed.putMany(['small', parts]);
  assert.equal(await mixed.get(), 'small');
  assert.deepEqual(await mixed.get(), parts);
});

test('PROCSAFE_SHM=0 in a writer: its large items go through the socket, and arrive the same', { timeout: 30_000 }, async (t) => {
  const q = new Queue<Buffer>();
  const writer = new Process({
    module: fixture('queue-tasks.mjs'), fn: 'putBytes', args: [q, 200 * 1024, 9], env: { ...process.env, PROCSAFE_SHM: '0' },
  });
  t.after(() => { writer.kill('SIGKILL'); });
  await writer.start();
  assert.deepEqual(await writer.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
  if (linux) assert.deepEqual(othersFiles(q), [], 'no file was written');
  const got = await q.get();
  assert.equal(got.length, 200 * 1024);
  assert.equal(got[200 * 1024 - 1], 9);
});

test('a writer SIGKILLed between writing a file and putting it: the owner deletes the orphan as its connection drops',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const q = new Queue<unknown>();
  const ready = new Queue<{ pid: number; written: string }>();
  const writer = await startChild(t, 'spillAndDie', [q, ready]);
  const { written } = await ready.get({ timeoutMs: 10_000 });
  const name = written.split(' ')[0] as string;
  assert.deepEqual(othersFiles(q), [name], 'the file was written and never put');
  writer.kill('SIGKILL');
  await writer.join();
  await waitUntil(() => othersFiles(q).length === 0, 'the orphaned file to be deleted');
  assert.equal(await q.get(), 'link is up');
  assert.equal(await q.qsize(), 0, 'nothing half-put was accepted');
});

test('a reader SIGKILLed holding items in files (read ahead, JoinableQueue owed): another reader gets each one whole',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const q = new JoinableQueue<Buffer>();
  const ready = new Queue<{ pid: number; seen: Buffer[] }>();
  await q.putMany(Array.from({ length: 6 }, (_, i) => Buffer.alloc(64 * 1024, i)));
  const reader = await startChild(t, 'readAheadAndHang', [q, ready, 1, 4]);
  const { seen } = await ready.get({ timeoutMs: 10_000 });
  assert.deepEqual(seen.map((item) => item[0]), [0, 1]);
  reader.kill('SIGKILL');
  await reader.join();
  // Its exit reaches this thread before, or after, its closed socket reaches the owner's broker thread.
  for (const deadline = Date.now() + 10_000; (await q.qsize()) < 6 && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const again: number[] = [];
  for (let i = 0; i < 6; i++) {
    const { id, value } = await q.getEntry({ timeoutMs: 5_000 });
    assert.equal(value.length, 64 * 1024);
    assert.equal(value.every((byte) => byte === value[0]), true);
    again.push(value[0] as number);
    q.taskDone(id);
  }
  assert.deepEqual(again, [0, 1, 2, 3, 4, 5], 'the owed and the read-ahead items, in put order');
  await q.join();
  await waitUntil(() => othersFiles(q).length === 0, 'every consumed file to be deleted');
});

test('the owner SIGKILLed with items in files: its directory goes with it, and a writer closes its descriptors on those files',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const meta = new Queue<Queue<Buffer>>();
  const owner = await startChild(t, 'ownLargeItems', [meta]);
  const q = await meta.get({ timeoutMs: 10_000 });
  const dir = sharedDirFor(handleOf(q).path);
  assert.equal(ownerItems(dir).length, 1, 'the 1 MiB item waits in a file of the owner');
  // This process writes one too, and keeps that file open for reuse (WriterFiles).
  await q.put(Buffer.alloc(100 * 1024, 1));
  const openHere = (): string[] => readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)].filter((target) => target.startsWith(dir));
    } catch {
      return []; // closed meanwhile (the readdir's own descriptor)
    }
  });
  // The connection's lane bells (lane-*.o, lane-*.c) are open too, while it lasts.
  assert.equal(openHere().filter((path) => !basename(path).startsWith('lane-')).length, 1, 'the file of the put is still open here');
  owner.kill('SIGKILL');
  await owner.join();
  await assert.rejects(q.put(Buffer.alloc(100 * 1024, 2)), { name: 'BrokerLost' });
  assert.deepEqual(openHere(), [], 'no descriptor keeps a file of the dead owner (nor its memory)');
  await waitUntil(() => !existsSync(dir), "the dead owner's directory to be removed");
});


test('the watcher ignores the signals sent to a whole group (TERM, HUP, INT) and still removes the directory when its owner dies',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const meta = new Queue<Queue<Buffer>>();
  const owner = await startChild(t, 'ownLargeItems', [meta]);
  const dir = sharedDirFor(handleOf(await meta.get({ timeoutMs: 10_000 })).path);
  const watcher = watcherOf(dir);
  assert.ok(watcher !== undefined, 'a watcher runs for the owner');
  // The kernel's own record: SIGHUP (1), SIGINT (2) and SIGTERM (15) are ignored.
  const ignored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${watcher}/status`, 'utf8'))?.[1] ?? '0'}`);
  for (const signal of [1n, 2n, 15n]) assert.equal((ignored >> (signal - 1n)) & 1n, 1n, `signal ${signal} is ignored`);
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.kill(watcher, signal);
  // Only the watcher can remove the directory of an owner killed this way: it outlived the signals.
  owner.kill('SIGKILL');
  await owner.join();
  await waitUntil(() => !existsSync(dir), "the dead owner's directory to be removed");
  await waitUntil(() => !isAlive(watcher), 'the watcher to exit');
});

test('an owner and its watcher both SIGKILLed: the next owner to start removes the dead owner\'s directory',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async (t) => {
  const meta = new Queue<Queue<Buffer>>();
  const owner = await startChild(t, 'ownLargeItems', [meta]);
  const dir = sharedDirFor(handleOf(await meta.get({ timeoutMs: 10_000 })).path);
  const watcher = watcherOf(dir) as number;
  process.kill(watcher, 'SIGKILL');
  await waitUntil(() => !isAlive(watcher), 'the watcher to die');
  owner.kill('SIGKILL');
  await owner.join();
  assert.equal(ownerItems(dir).length, 1, 'nobody cleaned up: the 1 MiB item is still there');
  // Any new owner of a queue sweeps the directories of owners that are gone.
  const next = new Queue<Queue<Buffer>>();
  const successor = await startChild(t, 'ownLargeItems', [next]);
  await next.get({ timeoutMs: 10_000 });
  await waitUntil(() => !existsSync(dir), "the dead owner's directory to be removed by the next owner");
  successor.kill('SIGKILL');
  await successor.join();
});

test('a put by file that lies (its size, another connection\'s file, a path) cuts that peer off; the queue goes on',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async () => {
  const q = new Queue<unknown>();
  const handle = handleOf(q);
  const dir = sharedDirFor(handle.path);
  await q.put('queued before');
  const peer = async (): Promise<{ send: (text: string) => void; closed: Promise<void>; file: string; destroy: () => void }> => {
    const { connection, nonce } = await connect(handle.path, handle.object, handle.secret, 1 << 20);
    const closed = new Promise<void>((resolve) => { connection.listen({ frame: () => {}, close: () => resolve() }); });
    // A file of the peer's own, 100 bytes long.
    const file = `${spillPrefix(nonce)}-0`;
    writeFileSync(join(dir, file), Buffer.alloc(100));
    return {
      send: (text) => connection.send([encodeText(kRequest.PutFile, 1, handle.object, text)]),
      closed, file, destroy: () => connection.destroy(),
    };
  };
  const bystander = await peer();
  for (const lie of ['OWN 5', `${bystander.file} 100`, '../../etc/passwd 10', 'garbage']) {
    const liar = await peer();
    liar.send(lie.replace('OWN', liar.file));
    await liar.closed;
    await waitUntil(() => !existsSync(join(dir, liar.file)), "the cut-off peer's file to be swept");
  }
  assert.equal(existsSync(join(dir, bystander.file)), true, "another connection's file is untouched");
  bystander.destroy();
  await bystander.closed;
  assert.equal(await q.qsize(), 1, 'no lie was accepted');
  assert.equal(await q.get(), 'queued before');
  await q.put('still serving');
  assert.equal(await q.get(), 'still serving');
});

test('a reader that cannot see the owner\'s directory (it never said it can) is sent the bytes; its death gives the item back',
  { timeout: 30_000, skip: !linux && 'no /dev/shm' }, async () => {
  const q = new Queue<Buffer>();
  const handle = handleOf(q);
  await q.put(Buffer.alloc(48 * 1024, 4));
  const { connection } = await connect(handle.path, handle.object, handle.secret, 1 << 20);
  const answer = new Promise<Frame>((resolve) => { connection.listen({ frame: resolve, close: () => {} }); });
  connection.send([encodeHead(kRequest.Get, 1, handle.object, 0)]);
  const frame = await answer;
  assert.equal(frame.type, kAnswer.Delivered);
  const value = deserialize(frame.payload) as Buffer;
  assert.equal(value.length, 48 * 1024);
  assert.equal(value[48 * 1024 - 1], 4);
  connection.destroy();
  // It never acked: the item, still in its file, goes to the next reader whole.
  const again = await q.get({ timeoutMs: 5_000 });
  assert.equal(again.length, 48 * 1024);
  assert.equal(again[0], 4);
});

test('WriterFiles: a file given back is overwritten in place and cut to the new size; a missing directory is unusable',
  { timeout: 10_000 }, (t) => {
  const dir = mkdtempSync(join(linux ? '/dev/shm' : '/tmp', 'procsafe-writer-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nonce = Buffer.alloc(32, 0xab);
  const files = new WriterFiles(dir, nonce);
  const first = files.write([Buffer.alloc(5000, 1), Buffer.alloc(5000, 2)], 10_000);
  assert.match(first, /^abababababababab-0 10000$/);
  files.freed(first);
  const second = files.write([Buffer.alloc(3000, 3)], 3000);
  assert.equal(second, 'abababababababab-0 3000', 'the same file, reused');
  assert.equal(statSync(join(dir, 'abababababababab-0')).size, 3000, 'cut to the new size');
  files.freed('cdcdcdcdcdcdcdcd-9 10'); // not ours: ignored
  assert.equal(files.write([Buffer.alloc(10)], 10), 'abababababababab-1 10', 'a fresh name when none was given back');
  assert.deepEqual(readdirSync(dir).sort(), ['abababababababab-0', 'abababababababab-1']);
  assert.equal(new WriterFiles(join(dir, 'missing'), nonce).write([Buffer.alloc(10)], 10), 'unusable');
});

test('WriterFiles keeps at most 64 descriptors open for reuse, and closes them all (deleting the free files) once its link is gone',
  { timeout: 10_000, skip: process.platform !== 'linux' && 'no /proc/self/fd' }, (t) => {
  const dir = mkdtempSync(join(linux ? '/dev/shm' : '/tmp', 'procsafe-writer-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  const files = new WriterFiles(dir, Buffer.alloc(32, 0xcd));
  const refs = Array.from({ length: 100 }, (_, i) => files.write([Buffer.alloc(100, i)], 100));
  assert.equal(fds() - before, 64, '100 files outstanding, 64 of them still open');
  for (const ref of refs.slice(0, 10)) files.freed(ref);
  // The file comes back through its open descriptor: overwritten in place, same name, new bytes.
  const again = files.write([Buffer.alloc(40, 0xee)], 40);
  assert.match(again, /^cdcdcdcdcdcdcdcd-[0-9] 40$/);
  const name = again.split(' ')[0] as string;
  assert.deepEqual(readFileSync(join(dir, name)), Buffer.alloc(40, 0xee));
  assert.equal(fds() - before, 64, 'no descriptor opened for a file that came back');
  files.close();
  assert.equal(fds(), before, 'every descriptor closed');
  assert.equal(readdirSync(dir).length, 100 - 9, 'the nine files given back and not reused are deleted; the others are the owner\'s');
});

test('a file write the kernel cut short goes on from the first byte not written', () => {
  const chunks = [Buffer.from('head'), Buffer.from('payload'), Buffer.from('!')];
  const text = (offset: number): string => Buffer.concat(from(chunks, offset)).toString();
  assert.equal(text(0), 'headpayload!');
  assert.equal(from(chunks, 0), chunks, 'a whole write sends the chunks as they are');
  assert.equal(text(2), 'adpayload!');
  assert.equal(text(4), 'payload!');
  assert.equal(text(10), 'd!');
  assert.equal(text(11), '!');
  assert.equal(text(12), '');
});
