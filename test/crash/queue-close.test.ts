// close({ immediate }) and disconnect() with real processes: readers blocked elsewhere, a reader killed holding an item.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinableQueue, Process, Queue, SimpleQueue } from 'procsafe';
import { fixture, startChild } from '../helpers/index.js';

const kT = { timeout: 30_000 };

function closeTasks(t: { after: (fn: () => void) => void }, fn: string, args: unknown[]): Promise<Process> {
  const p = new Process({ module: fixture('queue-close-tasks.mjs'), fn, args, stdout: 'ignore', stderr: 'inherit' });
  t.after(() => { p.kill('SIGKILL'); });
  return p.start().then(() => p);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
}

interface Ended { pid: number; at: number; ok: boolean; name?: string; message?: string }

test('close({ immediate }): readers blocked in other processes reject QueueClosed at once', kT, async (t) => {
  const q = new Queue<string>();
  const ready = new Queue<number>();
  const out = new Queue<Ended>();
  const readers = [await closeTasks(t, 'getAndStamp', [q, ready, out]), await closeTasks(t, 'getAndStamp', [q, ready, out])];
  await ready.get();
  await ready.get();
  await until(async () => (await q.inspect()).gets.length === 2);
  const closedAt = Date.now();
  await q.close({ immediate: true });
  const ended = [await out.get({ timeoutMs: 5000 }), await out.get({ timeoutMs: 5000 })];
  assert.deepEqual(ended.map((e) => e.pid).sort(), readers.map((r) => r.pid).sort());
  for (const e of ended) {
    assert.equal(e.ok, false);
    assert.equal(e.name, 'QueueClosed');
    assert.ok(e.at - closedAt < 2000, `rejected ${e.at - closedAt} ms after the close`);
  }
  for (const reader of readers) assert.equal((await reader.join()).exitCode, 0);
  await assert.rejects(q.get(), { name: 'QueueClosed' });
  await assert.rejects(q.put('late'), { name: 'QueueClosed' });
});

test('close({ immediate }) on a JoinableQueue: waiting items dropped, qsize 0; join resolves once a killed reader\'s item is dropped too',
  kT, async (t) => {
  const jq = new JoinableQueue<number>();
  const ready = new Queue<{ pid: number; value: number }>();
  await jq.putMany([1, 2, 3, 4, 5]);
  const holder = await startChild(t, 'takeAndHang', [jq, ready]);
  assert.equal((await ready.get()).value, 1);
  await jq.close({ immediate: true });
  assert.equal(await jq.qsize(), 0);
  await assert.rejects(jq.getNowait(), { name: 'QueueClosed' });
  const snapshot = await jq.inspect();
  assert.equal(snapshot.dropped, 4);
  assert.equal(snapshot.unfinished, 1, 'the item handed to the reader before the close is still owed');
  let joined = false;
  const join = jq.join().then(() => { joined = true; });
  await until(async () => (await jq.inspect()).joins.length === 1);
  assert.equal(joined, false);
  // Its reader dies: the item would go back to the queue, which is closed at once: dropped, done.
  holder.kill('SIGKILL');
  await holder.join();
  await join;
  assert.equal((await jq.inspect()).dropped, 5);
  assert.equal(await jq.qsize(), 0);
});

test('close({ immediate }) with readers blocked in two processes while a read-ahead window holds the waiting items: every get ' +
  'rejects QueueClosed at once; the window\'s items stay its reader\'s, and those it leaves are dropped when it is SIGKILLed, never ' +
  'given back', kT, async (t) => {
  const q = new Queue<number | string>();
  const ready = new Queue<number>();
  const out = new Queue<{ pid: number; first?: number } & Partial<Report> & Partial<Ended>>();
  await q.putMany([1, 2, 3, 4, 5]);
  const windowed = await closeTasks(t, 'readAheadThenWaitClose', [q, out, 8]);
  assert.equal((await out.get({ timeoutMs: 10_000 })).first, 1);
  // Its window holds 2..5 (leased to it, not handed to its code) and it is blocked in a get.
  await until(async () => {
    const s = await q.inspect();
    return s.leased === 4 && s.gets.length >= 1;
  });
  const before = (await q.inspect()).gets.length;
  const blocked = await closeTasks(t, 'getAndStamp', [q, ready, out]);
  assert.equal(await ready.get({ timeoutMs: 10_000 }), blocked.pid);
  await until(async () => (await q.inspect()).gets.length === before + 1);

  const closedAt = Date.now();
  await q.close({ immediate: true });
  const reports = [await out.get({ timeoutMs: 5000 }), await out.get({ timeoutMs: 5000 })];
  const stamped = reports.find((r) => r.pid === blocked.pid) as Ended;
  assert.deepEqual([stamped.ok, stamped.name], [false, 'QueueClosed']);
  assert.ok(stamped.at - closedAt < 2000, `the blocked get rejected ${stamped.at - closedAt} ms after the close`);
  const windowReport = reports.find((r) => r.pid === windowed.pid) as Report;
  assert.deepEqual([windowReport.get.ok, windowReport.get.name], [false, 'QueueClosed']);
  assert.deepEqual([windowReport.put.ok, windowReport.put.name], [false, 'QueueClosed']);
  // As the README says of close({ immediate }): items a reader received before it (read ahead) stay its own.
  assert.deepEqual(windowReport.next, { ok: true, value: { value: 2, done: false } });
  assert.equal((await blocked.join()).exitCode, 0);
  assert.equal(await q.qsize(), 0);

  // The reader that held the window dies: its items do not come back to a closed queue.
  windowed.kill('SIGKILL');
  await windowed.join();
  await until(async () => (await q.inspect()).leased === 0);
  const s = await q.inspect();
  assert.deepEqual([s.qsize, s.leased, s.consumed, s.dropped], [0, 0, 2, 3], 'items 1 and 2 handed out, 3..5 dropped');
  await assert.rejects(q.getNowait(), { name: 'QueueClosed' });
});

interface Report {
  pid: number;
  get: { ok: boolean; name?: string; message?: string };
  next: { ok: boolean; name?: string };
  put: { ok: boolean; name?: string };
  again: { ok: boolean };
}

test('disconnect() in another process: its waiting get rejects QueueClosed, its read-ahead goes back, the queue lives on',
  kT, async (t) => {
  const q = new Queue<number | string>();
  const control = new Queue<string>();
  const out = new Queue<{ pid: number; first?: number } & Partial<Report>>();
  await q.putMany([1, 2, 3, 4, 5]);
  const child = await closeTasks(t, 'readAheadThenDisconnect', [q, control, out, 8]);
  assert.equal((await out.get()).first, 1);
  // Its window holds 2..5 and it is blocked in a get.
  await until(async () => {
    const s = await q.inspect();
    return s.leased === 4 && s.gets.length >= 2;
  });
  await control.put('go');
  const report = await out.get({ timeoutMs: 5000 }) as Report;
  assert.equal(report.get.ok, false);
  assert.equal(report.get.name, 'QueueClosed');
  assert.match(report.get.message ?? '', /this process disconnected/);
  assert.deepEqual([report.next.ok, report.next.name], [false, 'QueueClosed'], 'read-ahead items are not handed out after');
  assert.deepEqual([report.put.ok, report.put.name], [false, 'QueueClosed']);
  assert.equal(report.again.ok, true, 'disconnect() twice is fine');
  // The child is alive, and holds nothing: its items are back, in order, for the others.
  assert.equal(child.isAlive, true);
  const s = await q.inspect();
  assert.deepEqual([s.qsize, s.leased, s.gets.length, s.quarantined], [4, 0, 0, 0]);
  assert.deepEqual([await q.get(), await q.get(), await q.get(), await q.get()], [2, 3, 4, 5]);
  await q.put('still works');
  assert.equal(await q.get(), 'still works');
  await control.put('stop');
  assert.equal((await child.join()).exitCode, 0);
});

test('SimpleQueue travels to a Process and back', kT, async (t) => {
  const a = new SimpleQueue<number>();
  const b = new SimpleQueue<number>();
  await a.put(1);
  await a.put(2);
  await a.put(3);
  const p = await startChild(t, 'forward', [a, b, 3]);
  assert.deepEqual([await b.get(), await b.get(), await b.get()], [1, 2, 3]);
  assert.equal((await p.join()).exitCode, 0);
  assert.equal(await a.empty(), true);
});
