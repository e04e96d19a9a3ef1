// An owner that is stopped (SIGSTOP) is alive: clients connecting meanwhile wait
// for it, and a waiting call's timeout or abort settles on time on the client's
// side; what the owner grants late is handed back (an item to the queue, a lease
// released), never lost. An owner really killed is still BrokerLost within 1 s.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, BrokerLost, type Event, type Lock, LockTimeout, Queue, QueueEmpty } from 'procsafe';
import { startChild } from '../helpers/index.js';

/** SIGSTOPs `pid` and returns what resumes it (SIGCONT), safe to call twice. */
/** Whether every thread of `pid` is stopped (state T), read from /proc. */
function allStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
    });
  } catch {
    return true; // gone: nothing of it runs
  }
}

function stop(pid: number): () => void {
  process.kill(pid, 'SIGSTOP');
  // Every thread stopped (the broker thread too), not merely signalled: one still running could answer a call sent now.
  for (const deadline = Date.now() + 5_000; !allStopped(pid);) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not stop within 5 s`);
  }
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    try { process.kill(pid, 'SIGCONT'); } catch { /* already gone */ }
  };
}

/** How a call ended and after how many ms. */
async function timed<T>(call: Promise<T>, from: number): Promise<{ ms: number; value?: T; error?: Error }> {
  try {
    const value = await call;
    return { ms: Date.now() - from, value };
  } catch (error) {
    return { ms: Date.now() - from, error: error as Error };
  }
}

/** Waits (bounded) until `read()` gives `want`. */
async function until<T>(read: () => Promise<T>, want: T, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = await read();
  while (last !== want) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${String(last)}, wanted ${String(want)}`);
    await sleep(10);
    last = await read();
  }
}

test('owner stopped: get, acquire, wait with timeoutMs 1000 and an aborted get settle on time; the late grants are handed back',
  { timeout: 60_000 }, async (t) => {
  const meta = new Queue<[Queue<string>, Lock, Event]>();
  const owner = await startChild(t, 'ownObjects', [meta]);
  const [q, lock, ev] = await meta.get({ timeoutMs: 20_000 });
  await q.put('late');
  await ev.set();
  assert.equal(await lock.locked(), false); // every link is up and every object answers
  const resume = stop(owner.pid as number);
  t.after(resume);
  const from = Date.now();
  const abort = new AbortController();
  setTimeout(() => abort.abort(new Error('enough')), 300);
  const calls = Promise.all([
    timed(q.get({ timeoutMs: 1000 }), from),
    timed(lock.acquire({ timeoutMs: 1000 }), from),
    timed(ev.wait({ timeoutMs: 1000 }), from),
    timed(q.get({ signal: abort.signal }), from),
  ]);
  // The owner stays stopped well past every deadline: only the client can settle them.
  const [got, acquired, waited, aborted] = await Promise.race([calls, sleep(3000).then(() => undefined)]) ?? [];
  resume();
  assert.ok(got !== undefined && acquired !== undefined && waited !== undefined && aborted !== undefined,
    'the calls waited for the stopped owner');
  assert.ok(got.error instanceof QueueEmpty, String(got.error));
  assert.ok(got.ms < 1500, `get settled after ${got.ms} ms`);
  assert.ok(acquired.error instanceof LockTimeout, String(acquired.error));
  assert.ok(acquired.ms < 1500, `acquire settled after ${acquired.ms} ms`);
  assert.equal(waited.value, false);
  assert.ok(waited.ms < 1500, `wait settled after ${waited.ms} ms`);
  assert.ok(aborted.error instanceof AbortError, String(aborted.error));
  assert.ok(aborted.ms < 800, `the aborted get settled after ${aborted.ms} ms`);

  // Resumed, the owner answered the first get with the item and granted the lock:
  // the client gives both back, so nothing is lost or held.
  await until(() => q.qsize(), 1, 'the late-delivered item back in the queue');
  const ready = new Queue<number>();
  const out = new Queue<{ ok: boolean; value?: string }>();
  await startChild(t, 'getAndReport', [q, ready, out]);
  assert.deepEqual(await out.get({ timeoutMs: 10_000 }), { pid: await ready.get(), ok: true, value: 'late' });
  assert.equal(await q.qsize(), 0);
  const snapshot = await q.inspect();
  assert.deepEqual(snapshot.gets, [], 'no get left parked at the owner');
  const lease = await lock.acquire({ timeoutMs: 5000 });
  assert.equal(lease.previousOwnerDied, false);
  lease.release();
  assert.equal(await ev.wait({ timeoutMs: 1000 }), true);
});

test("owner stopped: a late grant of a dead holder's lock is handed back still marked, so the next holder is told previousOwnerDied",
  { timeout: 60_000 }, async (t) => {
  const meta = new Queue<[Queue<string>, Lock, Event]>();
  const owner = await startChild(t, 'ownObjects', [meta]);
  const [, lock] = await meta.get({ timeoutMs: 20_000 });
  const ready = new Queue<{ pid: number }>();
  const holder = await startChild(t, 'holdAndHang', [lock, ready]);
  await ready.get({ timeoutMs: 20_000 });
  holder.kill('SIGKILL');
  await holder.join();
  await until(async () => (await lock.inspect()).orphaned, 1, 'the dead holder\'s permit marked');
  const resume = stop(owner.pid as number);
  t.after(resume);
  await assert.rejects(lock.acquire({ timeoutMs: 300 }), LockTimeout);
  resume();
  // The owner granted that acquire, telling it of the death, after it gave up: the news must not be lost with it.
  const lease = await lock.acquire({ timeoutMs: 5000 });
  assert.equal(lease.previousOwnerDied, true);
  lease.release();
  assert.equal((await lock.inspect()).orphaned, 0);
});

test('owner stopped: a put with a timeout keeps waiting for the owner (documented), and is then accepted, never half-believed',
  { timeout: 60_000 }, async (t) => {
  const meta = new Queue<[Queue<string>, Lock, Event]>();
  const owner = await startChild(t, 'ownObjects', [meta]);
  const [q] = await meta.get({ timeoutMs: 20_000 });
  assert.equal(await q.qsize(), 0);
  const resume = stop(owner.pid as number);
  t.after(resume);
  const put = q.put('sent while stopped', { timeoutMs: 500 }).then(() => 'accepted', (error: Error) => error);
  assert.equal(await Promise.race([put, sleep(1500).then(() => 'waiting')]), 'waiting');
  resume();
  // The owner accepted it before it read the cancel: the put resolves, and the item is there.
  assert.equal(await put, 'accepted');
  assert.equal(await q.qsize(), 1);
  assert.equal(await q.get(), 'sent while stopped');
});

test('a newcomer connecting while the owner is stopped for 11 s waits, and its call completes after SIGCONT',
  { timeout: 60_000 }, async (t) => {
  const meta = new Queue<Queue<string>>();
  const owner = await startChild(t, 'ownQueue', [meta]);
  while ((await meta.qsize()) < 1) await sleep(5);
  const resume = stop(owner.pid as number);
  t.after(resume);
  // Taking the handle makes this thread's first link to that owner: it connects now, to a stopped owner.
  const q = await meta.get();
  const got = q.get().then((value) => value, (error: Error) => error);
  // Longer than any wall-clock grace procsafe had for connecting (10 s).
  assert.equal(await Promise.race([got, sleep(11_000).then(() => 'still waiting')]), 'still waiting');
  resume();
  assert.equal(await got, 'from the owner');
  await q.put('and later calls');
  assert.equal(await q.get(), 'and later calls');
});

test('owner stopped then SIGKILLed: a pending call on an established link rejects BrokerLost within 1 s',
  { timeout: 30_000 }, async (t) => {
  const meta = new Queue<Queue<string>>();
  const owner = await startChild(t, 'ownQueue', [meta]);
  const q = await meta.get({ timeoutMs: 20_000 });
  assert.equal(await q.get(), 'from the owner');
  const resume = stop(owner.pid as number);
  t.after(resume);
  const pending = q.get({ timeoutMs: 20_000 }).then(() => 'resolved', (error: Error) => error);
  await sleep(200);
  const killedAt = Date.now();
  owner.kill('SIGKILL');
  const error = await pending;
  assert.ok(error instanceof BrokerLost, String(error));
  assert.ok(Date.now() - killedAt < 1000, `BrokerLost after ${Date.now() - killedAt} ms`);
  await assert.rejects(q.put('late'), BrokerLost);
});

test('owner stopped then SIGKILLed while a newcomer connects: BrokerLost within 1 s', { timeout: 30_000 }, async (t) => {
  const meta = new Queue<Queue<string>>();
  const owner = await startChild(t, 'ownQueue', [meta]);
  while ((await meta.qsize()) < 1) await sleep(5);
  const resume = stop(owner.pid as number);
  t.after(resume);
  const q = await meta.get();
  const pending = q.get().then(() => 'resolved', (error: Error) => error);
  await sleep(300);
  const killedAt = Date.now();
  owner.kill('SIGKILL');
  const error = await pending;
  assert.ok(error instanceof BrokerLost, String(error));
  assert.match(error.message, /is gone/);
  assert.ok(Date.now() - killedAt < 1000, `BrokerLost after ${Date.now() - killedAt} ms`);
});
