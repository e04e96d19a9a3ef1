// Queues over lanes (transport/lanes/) across real processes that are stopped, killed at random points, or both at
// random for seconds: a stopped participant is not declared dead and loses nothing; a killed reader's items go to
// another (a plain Queue hands each item to user code at most once; a JoinableQueue's unfinished ones come again);
// and a run of kills and stalls ends, which it would not after a lost wake-up.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { JoinableQueue, Process, Queue, SharedArray } from 'procsafe';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { serializeAfter } from '../../dist/codec/v8.js';
import { loadNative } from '../../dist/native/load.js';
import { fixture, waitUntil } from '../helpers/index.js';
import { prng } from '../helpers/prng.js';

/** These tests are about the shared-memory path: where it is off, the socket path's own tests cover the same deaths. */
const kOff = loadNative() === undefined ? 'the shared-memory path is off here (PROCSAFE_NATIVE=0, or no native addon)' : false;

const laneTasks = fixture('lane-tasks.mjs');
const queueTasks = fixture('queue-tasks.mjs');

interface After { after: (fn: () => void) => void }

/** A started child running `fn` of `module`; SIGKILLed when the test ends (stopped or not), whatever happened. */
async function child(t: After, fn: string, args: unknown[], module = laneTasks): Promise<Process> {
  const p = new Process({ module, fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  await p.start();
  return p;
}

/** Collects the owner's logs: a peer it cut off (declared dead for garbage or unread answers) says so there. */
function watchCutOffs(t: After): string[] {
  const cut: string[] = [];
  const onWarning = (warning: Error): void => { if (/cut off peer/.test(warning.message)) cut.push(warning.message); };
  process.on('warning', onWarning);
  t.after(() => { process.off('warning', onWarning); });
  return cut;
}

/** `promise`, or a failure saying `what` after `ms`: a hang fails the test with a reason rather than by its timeout. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms); });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** No lane file of a connection is left in the owner's directory (this process's) once its peers are gone. */
function noLaneFiles(q: object): void {
  const dir = sharedDirFor((q as { __procsafe_handle__: { path: string } }).__procsafe_handle__.path);
  assert.deepEqual(readdirSync(dir).filter((name) => name.startsWith('lane-')), [], `lane files left in ${dir}`);
}

for (const [what, n, pad, prefetch] of [['8 B', 30_000, 0, 64], ['4 KiB', 8000, 4096, 128]] as const) {
  test(`a reader and then a writer SIGSTOPped for 3 s mid-stream of ${what} items: not declared dead, every item once and in order`,
    { timeout: 60_000, skip: kOff }, async (t) => {
    const cut = watchCutOffs(t);
    const q = new Queue<number>({ maxsize: 256 });
    const out = new Queue<{ last: number; bad: number }>();
    // [0]: items the reader took, [1]: puts that resolved.
    const progress = new SharedArray(Int32Array, 2);
    // 4 KiB items: the reader's read-ahead (512 KiB) and the writer's puts in flight (1 MiB) are more than a lane holds,
    // so each side waits for room in its lane while the other is stopped.
    const reader = await child(t, 'streamConsumer', [q, progress, n, out, prefetch]);
    const writer = await child(t, 'streamProducer', [q, progress, n, pad]);
    await waitUntil(() => Atomics.load(progress.array, 0) >= n / 3, 'a third of the stream to be read', 30_000);
    reader.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The writer filled the queue meanwhile and waits for room.
    assert.equal(await q.full(), true, 'the writer went on until the queue was full');
    reader.kill('SIGCONT');
    await waitUntil(() => Atomics.load(progress.array, 0) >= (2 * n) / 3, 'two thirds of the stream to be read', 30_000);
    writer.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    writer.kill('SIGCONT');
    assert.deepEqual(await out.get({ timeoutMs: 30_000 }), { pid: reader.pid, last: n, bad: 0 });
    assert.deepEqual(await writer.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
    assert.deepEqual(await reader.join({ timeoutMs: 10_000 }), { exitCode: 0, signal: null });
    const snapshot = await q.inspect();
    assert.equal(snapshot.accepted, n);
    assert.equal(snapshot.qsize, 0);
    assert.deepEqual(cut, [], 'nobody was cut off');
    noLaneFiles(q);
  });
}

test('writers SIGKILLed at random points of a stream of 24 KiB items copied into their lanes: nothing half-written, no slot leaked',
  { timeout: 60_000, skip: kOff }, async (t) => {
  const cut = watchCutOffs(t);
  const q = new Queue<{ i: number; pad: Buffer }>({ maxsize: 16 });
  const got: { i: number; pad: Buffer }[] = [];
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      try {
        got.push(await q.get({ timeoutMs: 100 }));
      } catch {
        // nothing this moment
      }
    }
  })();
  const random = prng(99);
  const accepted: number[] = [];
  try {
    for (let round = 0; round < 8; round++) {
      const progress = new SharedArray(Int32Array, 2);
      const from = round * 100_000;
      const writer = await child(t, 'streamProducer', [q, progress, 100_000, 24 * 1024, from]);
      const take = 1 + Math.floor(random() * 200);
      await waitUntil(() => Atomics.load(progress.array, 1) >= take, `writer ${round} to have ${take} puts accepted`);
      writer.kill('SIGKILL');
      await writer.join();
      // Puts resolve in order: the first that many were accepted (more may have been, unknown to the dead writer).
      for (let i = 0; i < Atomics.load(progress.array, 1); i++) accepted.push(from + i);
    }
    const deadline = Date.now() + 30_000;
    for (let snapshot = await q.inspect(); snapshot.qsize > 0 || snapshot.leased > 0; snapshot = await q.inspect()) {
      assert.ok(Date.now() < deadline, `the reader did not read the rest: ${JSON.stringify(snapshot)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    stop = true;
    await reader;
  }
  const damaged = got.filter(({ i, pad }) => pad.length !== 24 * 1024 || !pad.every((byte) => byte === i % 251)).map(({ i }) => i);
  assert.deepEqual(damaged, [], 'items that came out damaged');
  const ids = got.map(({ i }) => i);
  assert.equal(new Set(ids).size, ids.length, 'an item came out twice');
  const seen = new Set(ids);
  assert.deepEqual(accepted.filter((i) => !seen.has(i)), [], 'accepted items that never came out');
  const snapshot = await q.inspect();
  assert.equal(snapshot.accepted, got.length, 'every item the owner accepted came out, and nothing else');
  // No slot leaked by a writer killed mid-put: all 16 are free.
  for (let i = 0; i < 16; i++) await q.putNowait({ i: -1, pad: Buffer.alloc(0) });
  assert.equal(await q.full(), true);
  // A frame larger than the room in the lane is published in parts: a writer killed between them leaves a part, which is
  // dropped (logged, as a socket's half frame is); bytes copied and not yet published are never seen at all.
  assert.deepEqual(cut.filter((line) => !/went away in the middle of a frame/.test(line)), [], 'nothing else was reported');
  noLaneFiles(q);
});

test('plain Queue readers SIGKILLed at random points and right after a get: no item handed to user code twice',
  { timeout: 60_000, skip: kOff },
  async (t) => {
  const n = 4000;
  const q = new Queue<number>();
  await q.putMany(Array.from({ length: n }, (_, i) => i));
  // seen[item]: how many times a reader's user code got it (shared memory: a killed reader's marks stay).
  const seen = new SharedArray(Int32Array, n);
  const ready = new Queue<number>();
  const marked = (): number => seen.array.reduce((sum, v) => sum + v, 0);
  const random = prng(77);
  let killedFromOutside = 0;
  for (let round = 0; round < 16; round++) {
    const before = marked();
    if (round % 2 === 0) {
      // Dies by its own hand right after its get resolved and it marked the item: its ack is in its lane, unread.
      const reader = await child(t, 'markingReader', [q, seen, ready, 1 + Math.floor(random() * 50)]);
      await ready.get({ timeoutMs: 10_000 });
      assert.equal((await reader.join({ timeoutMs: 10_000 })).signal, 'SIGKILL');
    } else {
      const reader = await child(t, 'markingReader', [q, seen, ready]);
      await ready.get({ timeoutMs: 10_000 });
      const take = 1 + Math.floor(random() * 300);
      await waitUntil(() => marked() >= before + take, `the reader to mark ${take} items`);
      reader.kill('SIGKILL');
      await reader.join();
      killedFromOutside++;
    }
  }
  const last = await child(t, 'markingReader', [q, seen, ready]);
  await ready.get({ timeoutMs: 10_000 });
  // Settled: nothing queued, nothing handed out and unacknowledged.
  const deadline = Date.now() + 30_000;
  for (let snapshot = await q.inspect(); snapshot.qsize > 0 || snapshot.leased > 0; snapshot = await q.inspect()) {
    assert.ok(Date.now() < deadline, `the last reader did not read the rest: ${JSON.stringify(snapshot)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  last.kill('SIGKILL');
  const twice = [...seen.array.keys()].filter((i) => (seen.array[i] as number) > 1);
  assert.deepEqual(twice, [], 'items handed to user code twice');
  const never = [...seen.array.keys()].filter((i) => seen.array[i] === 0);
  // A reader killed from outside may die between its get resolving and its first statement: at most one item each.
  assert.ok(never.length <= killedFromOutside, `${never.length} items never reached user code, with ${killedFromOutside} kills`);
  const snapshot = await q.inspect();
  assert.equal(snapshot.accepted, n);
  assert.equal(snapshot.consumed, n);
});

test('a reader killed right after handing out an item whose ack the owner was not rung for: the owner reads it at the close',
  { timeout: 60_000, skip: kOff }, async (t) => {
  for (let round = 0; round < 3; round++) {
    const n = 10;
    const q = new Queue<number>();
    await q.putMany(Array.from({ length: n }, (_, i) => i));
    const seen = new SharedArray(Int32Array, n);
    const reader = await child(t, 'ackUnrungThenDie', [Buffer.concat(serializeAfter(Buffer.alloc(0), [q, seen], 'args', 'the args'))]);
    assert.deepEqual(await reader.join({ timeoutMs: 20_000 }), { exitCode: null, signal: 'SIGKILL' });
    for (let got = await q.getNowait().catch(() => undefined); got !== undefined; got = await q.getNowait().catch(() => undefined)) {
      Atomics.add(seen.array, got, 1);
    }
    assert.deepEqual([...seen.array], Array.from({ length: n }, () => 1), `round ${round}: every item reached user code once`);
    const snapshot = await q.inspect();
    assert.equal(snapshot.consumed, n);
  }
});

test('JoinableQueue readers SIGKILLed at random points: every item finished at least once, join() resolves',
  { timeout: 60_000, skip: kOff },
  async (t) => {
  const n = 3000;
  const jq = new JoinableQueue<{ n: number; writer: number }>();
  await jq.putMany(Array.from({ length: n }, (_, i) => ({ n: i, writer: 0 })));
  const done = new Queue<{ id: string; n: number; reader: number }>();
  const records: { id: string; n: number; reader: number }[] = [];
  let stop = false;
  const collector = (async () => {
    while (!stop) {
      try {
        records.push(await done.get({ timeoutMs: 100 }));
      } catch {
        // nothing this moment
      }
    }
  })();
  const random = prng(5);
  const killed = new Set<number>();
  try {
    for (let round = 0; round < 8; round++) {
      const reader = await child(t, 'chaosReader', [jq, done], queueTasks);
      const take = records.length + 1 + Math.floor(random() * 300);
      await waitUntil(() => records.length >= take, `reader ${round} to finish items`);
      reader.kill('SIGKILL');
      killed.add(reader.pid as number);
      await reader.join();
    }
    const last = await child(t, 'chaosReader', [jq, done], queueTasks);
    await within(jq.join(), 30_000, 'join() did not resolve (a lost item or wake-up)');
    // Every record put before its taskDone is on its way: take them all.
    await waitUntil(() => new Set(records.map((r) => r.n)).size === n || records.length > 2 * n, 'the last records', 10_000);
    last.kill('SIGKILL');
  } finally {
    stop = true;
    await collector;
  }
  assert.equal(new Set(records.map((r) => r.n)).size, n, 'every item was finished');
  const byId = new Map<string, number[]>();
  for (const r of records) byId.set(r.id, [...(byId.get(r.id) ?? []), r.reader]);
  for (const [id, readers] of byId) {
    for (const reader of readers.slice(0, -1)) assert.ok(killed.has(reader), `entry ${id} came again although reader ${reader} lived`);
  }
  assert.equal(await jq.qsize(), 0);
  noLaneFiles(jq);
});

test('chaos for ~10 s: writers and readers killed and stalled at random; it ends, with every item and no unexplained duplicate',
  { timeout: 90_000, skip: kOff }, async (t) => {
  const cut = watchCutOffs(t);
  const random = prng(2024);
  const q = new JoinableQueue<{ n: number; writer: number }>({ maxsize: 32 });
  const assign = new JoinableQueue<number>();
  const done = new Queue<{ id: string; n: number; writer: number; reader: number }>();
  const live = new Map<number, { role: 'writer' | 'reader'; process: Process }>();
  const stopped = new Set<number>();
  const killed = new Set<number>();
  const all: Process[] = [];
  const spawn = async (role: 'writer' | 'reader'): Promise<void> => {
    const p = await child(t, role === 'writer' ? 'chaosWriter' : 'chaosReader', role === 'writer' ? [q, assign, 0] : [q, done], queueTasks);
    all.push(p);
    live.set(p.pid as number, { role, process: p });
  };
  const records: { id: string; n: number; writer: number; reader: number }[] = [];
  let stop = false;
  let assigned = 0;
  const started = Date.now();
  const chaosMs = 9000;
  try {
    await Promise.all([spawn('writer'), spawn('writer'), spawn('writer'), spawn('reader'), spawn('reader'), spawn('reader')]);
    const collector = (async () => {
      while (!stop) {
        try {
          records.push(await done.get({ timeoutMs: 100 }));
        } catch {
          // nothing this moment
        }
      }
    })();
    const feeder = (async () => {
      while (Date.now() - started < chaosMs) {
        if ((await assign.qsize()) < 200) {
          await assign.putMany(Array.from({ length: 100 }, (_, i) => assigned + i));
          assigned += 100;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const pick = (): { pid: number; role: 'writer' | 'reader'; process: Process } | undefined => {
      const pids = [...live.keys()];
      if (pids.length === 0) return undefined;
      const pid = pids[Math.floor(random() * pids.length)] as number;
      return { pid, ...(live.get(pid) as { role: 'writer' | 'reader'; process: Process }) };
    };
    const killer = (async () => {
      while (Date.now() - started < chaosMs) {
        await new Promise((resolve) => setTimeout(resolve, 200 + random() * 400));
        const victim = pick();
        if (victim === undefined) continue;
        live.delete(victim.pid);
        stopped.delete(victim.pid);
        killed.add(victim.pid);
        victim.process.kill('SIGKILL');
        await spawn(victim.role);
      }
    })();
    const staller = (async () => {
      while (Date.now() - started < chaosMs) {
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 300));
        const victim = pick();
        if (victim === undefined || stopped.has(victim.pid)) continue;
        stopped.add(victim.pid);
        victim.process.kill('SIGSTOP');
        setTimeout(() => {
          if (stopped.delete(victim.pid)) victim.process.kill('SIGCONT');
        }, 50 + random() * 1500);
      }
    })();
    await Promise.all([feeder, killer, staller]);
    // The chaos is over: whoever is still stopped goes on, and everything must settle.
    for (const pid of stopped) live.get(pid)?.process.kill('SIGCONT');
    stopped.clear();
    await within((async () => { await assign.join(); await q.join(); })(), 30_000, 'the run did not settle (a lost wake-up?)');
    await waitUntil(() => new Set(records.map((r) => r.n)).size === assigned || records.length > 3 * assigned, 'the last records');
    stop = true;
    await collector;
  } finally {
    stop = true;
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => p.join({ timeoutMs: 5000 }).catch(() => undefined)));
  }
  t.diagnostic(`${assigned} items, ${records.length} processed, ${killed.size} kills, in ${Date.now() - started} ms`);
  assert.ok(assigned >= 100, `only ${assigned} items in ${chaosMs} ms`);
  assert.ok(killed.size >= 3, `only ${killed.size} kills`);
  assert.equal(new Set(records.map((r) => r.n)).size, assigned, 'every item was processed');
  const byItem = new Map<number, typeof records>();
  for (const r of records) byItem.set(r.n, [...(byItem.get(r.n) ?? []), r]);
  for (const [n, list] of byItem) {
    const ids = new Map<string, typeof records>();
    for (const r of list) ids.set(r.id, [...(ids.get(r.id) ?? []), r]);
    // Put twice: every writer but one of them died before finishing its assignment (a stalled one never counts).
    const writersKilled = [...ids.values()].filter((rs) => killed.has((rs[0] as (typeof records)[0]).writer)).length;
    assert.ok(writersKilled >= ids.size - 1, `item ${n} was put ${ids.size} times, but only ${writersKilled} of its writers died`);
    for (const [id, rs] of ids) {
      for (const r of rs.slice(0, -1)) assert.ok(killed.has(r.reader), `entry ${id} came again although reader ${r.reader} lived`);
    }
  }
  assert.equal(await q.qsize(), 0);
  assert.deepEqual(cut, [], 'nobody stalled was cut off');
  noLaneFiles(q);
});
