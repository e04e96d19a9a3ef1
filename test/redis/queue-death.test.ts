// The queue guarantees on Redis, each proved by a real death: readers and writers SIGKILLed or stopped, and the
// redis-server itself SIGKILLed and restarted. Every test has its own redis-server and queue name.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerLost, ItemQuarantined, JoinableQueue, Queue, QueueEmpty, QueueFull } from 'procsafe';
import { reap } from '../helpers/children.js';
import { fixture, waitUntil } from '../helpers/index.js';
import { redisMissing, startRedis } from '../helpers/redis-server.js';

const skip = redisMissing();
const kLeaseMs = 400;

interface Child {
  readonly process: ChildProcess;
  /** The next JSON line the child prints. */
  next<T>(): Promise<T>;
  stderr(): string;
}

function child(t: { after: (fn: () => void) => void }, url: string, name: string, mode: string, leaseMs = kLeaseMs): Child {
  const proc = spawn(process.execPath, [fixture('redis-queue-child.mjs').pathname, url, name, mode, String(leaseMs)],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  reap(t, proc);
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffered = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at !== -1; at = buffered.indexOf('\n')) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(line);
      else lines.push(line);
    }
  });
  return {
    process: proc,
    next: <T>() => new Promise<T>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line) as T);
      const onExit = (): void => reject(new Error(`the child (${mode}) exited before printing a line: ${err}`));
      proc.once('exit', onExit);
      waiters.push((text) => {
        proc.off('exit', onExit);
        resolve(JSON.parse(text) as T);
      });
      return undefined;
    }),
    stderr: () => err,
  };
}

async function kill(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const exited = once(proc, 'exit');
  proc.kill(signal);
  await exited;
}

const fresh = (): string => `t-${randomUUID()}`;

test('a reader SIGKILLed between getEntry and taskDone: the item is redelivered with the same id, and join() resolves',
  { timeout: 30_000, skip }, async (t) => {
    const server = await startRedis(t);
    const name = fresh();
    const q = new JoinableQueue<string>({ redis: server.url, name, leaseMs: kLeaseMs });
    t.after(() => q.disconnect());
    await q.put('job');
    const reader = child(t, server.url, name, 'read-and-hang');
    const first = await reader.next<{ id: string; value: string }>();
    assert.equal(first.value, 'job');
    await kill(reader.process);
    const again = await q.getEntry({ timeoutMs: 20 * kLeaseMs });
    assert.deepEqual([again.id, again.value, again.deliveries], [first.id, 'job', 2]);
    q.taskDone(again.id);
    await q.join();
    assert.equal((await q.inspect()).unfinished, 0);
  });

test('a writer SIGKILLed while waiting for space leaks no capacity', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const name = fresh();
  const q = new Queue<string>({ redis: server.url, name, maxsize: 1, leaseMs: kLeaseMs });
  t.after(() => q.disconnect());
  await q.put('first');
  const writer = child(t, server.url, name, 'put-and-wait');
  await writer.next();
  // It waits once it subscribed to the queue's wake-ups, after its first try found the queue full.
  const channel = `procsafe:{${name}}:wake`;
  await waitUntil(() => {
    const out = spawnSync('redis-cli', ['-p', String(server.port), 'PUBSUB', 'NUMSUB', channel], { encoding: 'utf8' });
    return Number(out.stdout.trim().split('\n')[1]) >= 1;
  }, 'the writer waits for space');
  await kill(writer.process);
  assert.equal(await q.qsize(), 1);
  assert.equal(await q.full(), true);
  assert.equal(await q.get(), 'first');
  assert.equal(await q.full(), false);
  await q.putNowait('second');
  await assert.rejects(q.putNowait('third'), QueueFull);
  assert.equal(await q.get(), 'second');
  await assert.rejects(q.getNowait(), QueueEmpty, 'the dead writer\'s item never went in');
});

test('a writer SIGKILLed mid-put, many puts in flight, leaks no capacity and leaves no half item', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const name = fresh();
  const maxsize = 1000;
  const q = new Queue<number>({ redis: server.url, name, maxsize, leaseMs: kLeaseMs });
  t.after(() => q.disconnect());
  await q.qsize();
  const writer = child(t, server.url, name, 'stream');
  await writer.next();
  await kill(writer.process);
  const n = await q.qsize();
  const drained: number[] = [];
  for (let i = 0; i < n; i++) drained.push(await q.getNowait());
  assert.deepEqual(drained, Array.from({ length: n }, (_, i) => i), 'every accepted item, whole and in order');
  assert.equal(await q.qsize(), 0);
  await q.putMany(Array.from({ length: maxsize }, (_, i) => i), { timeoutMs: 0 });
  assert.equal(await q.full(), true);
  await assert.rejects(q.putNowait(-1), QueueFull);
});

test('redis-server SIGKILLed and restarted (appendonly, appendfsync always) mid-run: the run completes, nothing accepted is lost',
  { timeout: 60_000, skip }, async (t) => {
    const server = await startRedis(t, { appendonly: true, appendfsync: 'always' });
    const name = fresh();
    // Leases outlive the restart, so the reader keeps what it holds across it.
    const options = { redis: server.url, name, leaseMs: 3000 };
    const producer = new Queue<number>(options);
    const consumer = new Queue<number>(options);
    t.after(() => producer.disconnect());
    t.after(() => consumer.disconnect());
    const total = 400;
    const received = new Set<number>();
    let restarted: Promise<void> | undefined;
    const consume = (async () => {
      while (received.size < total) {
        received.add(await consumer.get());
        if (received.size === 100 && restarted === undefined) {
          restarted = server.kill('SIGKILL').then(() => server.restart());
        }
      }
    })();
    for (let i = 0; i < total; i += 10) await producer.putMany(Array.from({ length: 10 }, (_, k) => i + k));
    await consume;
    await restarted;
    assert.equal(received.size, total);
  });

test('a reader whose main thread is CPU-bound for 3 x leaseMs keeps its item: it is never taken over',
  { timeout: 30_000, skip }, async (t) => {
    const server = await startRedis(t);
    const name = fresh();
    const q = new JoinableQueue<string>({ redis: server.url, name, leaseMs: kLeaseMs });
    t.after(() => q.disconnect());
    await q.put('long job');
    const reader = child(t, server.url, name, 'cpu-bound-reader');
    await reader.next();
    let done = false;
    const finished = reader.next().then(() => { done = true; });
    while (!done) {
      await assert.rejects(q.getNowait(), QueueEmpty, 'the busy reader\'s item was taken over');
      await sleep(25);
    }
    await finished;
    await q.join();
    assert.equal((await q.inspect()).unfinished, 0);
  });

test('a reader stopped past its lease: its item goes to another reader, and its late taskDone is refused', { timeout: 30_000, skip },
  async (t) => {
    const server = await startRedis(t);
    const name = fresh();
    const q = new JoinableQueue<string>({ redis: server.url, name, leaseMs: kLeaseMs });
    t.after(() => q.disconnect());
    await q.put('job');
    const late = child(t, server.url, name, 'late-task-done');
    const first = await late.next<{ id: string }>();
    late.process.kill('SIGSTOP');
    t.after(() => late.process.kill('SIGCONT'));
    const again = await q.getEntry({ timeoutMs: 20 * kLeaseMs });
    assert.equal(again.id, first.id);
    late.process.kill('SIGCONT');
    late.process.stdin?.write('go\n');
    const { warning } = await late.next<{ warning: string }>();
    assert.match(warning, /was refused: the item is not held under a live lease/);
    assert.equal((await q.inspect()).unfinished, 1, 'the late taskDone did not count');
    q.taskDone(again.id);
    await q.join();
  });

test('two queues with different names on one Redis never see each other\'s items', { timeout: 20_000, skip }, async (t) => {
  const server = await startRedis(t);
  const a = new Queue<string>({ redis: server.url, name: fresh(), leaseMs: kLeaseMs });
  const b = new Queue<string>({ redis: server.url, name: fresh(), leaseMs: kLeaseMs });
  t.after(() => a.disconnect());
  t.after(() => b.disconnect());
  await a.putMany(['a1', 'a2']);
  await b.put('b1');
  assert.deepEqual([await a.qsize(), await b.qsize()], [2, 1]);
  assert.equal(await b.get(), 'b1');
  await assert.rejects(b.getNowait(), QueueEmpty);
  assert.deepEqual([await a.get(), await a.get()], ['a1', 'a2']);
});

test('Redis unreachable past redisTimeoutMs: a waiting get and later calls reject BrokerLost', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const q = new Queue<number>({ redis: server.url, name: fresh(), leaseMs: kLeaseMs, redisTimeoutMs: 1000 });
  t.after(() => q.disconnect());
  await q.put(1);
  assert.equal(await q.get(), 1);
  const waiting = q.get();
  await server.kill('SIGKILL');
  await assert.rejects(waiting, (error: unknown) => error instanceof BrokerLost && /unreachable for 1000 ms/.test((error as Error).message));
  await assert.rejects(q.put(2), BrokerLost);
});

test('while Redis is down, a get with a timeout rejects QueueEmpty at its timeout, not redisTimeoutMs later',
  { timeout: 20_000, skip }, async (t) => {
    const server = await startRedis(t, { appendonly: true });
    const q = new Queue<number>({ redis: server.url, name: fresh(), leaseMs: kLeaseMs });
    t.after(() => q.disconnect());
    await q.put(1);
    await server.kill('SIGKILL');
    await assert.rejects(q.get({ timeoutMs: 200 }), QueueEmpty);
    await server.restart();
    assert.equal(await q.get({ timeoutMs: 10_000 }), 1, 'the item is still there');
  });

test('an item whose readers all die (5 lapsed leases) is quarantined: one get rejects ItemQuarantined naming it, the queue ' +
  'goes on, and join() resolves', { timeout: 60_000, skip }, async (t) => {
  const server = await startRedis(t);
  const name = fresh();
  const q = new JoinableQueue<string>({ redis: server.url, name, leaseMs: kLeaseMs });
  t.after(() => q.disconnect());
  await q.put('poison');
  let id = '';
  for (let death = 1; death <= 5; death++) {
    // Each reader takes the poison (redelivered once the last one's lease lapsed) and dies holding it.
    const reader = child(t, server.url, name, 'read-and-hang');
    const got = await reader.next<{ id: string; value: string }>();
    assert.equal(got.value, 'poison', `reader ${death} got the poison`);
    id = got.id;
    await kill(reader.process);
  }
  // The last lease runs out (stats take back lapsed leases), and only then the next item: a get would take it first.
  for (const deadline = Date.now() + 20 * kLeaseMs; (await q.inspect()).quarantined === 0;) {
    assert.ok(Date.now() < deadline, 'the fifth lease ran out and the item was quarantined');
    await sleep(kLeaseMs / 4);
  }
  await q.put('after');
  const told = await q.getEntry({ timeoutMs: 20 * kLeaseMs }).then(() => undefined, (error: unknown) => error);
  assert.ok(told instanceof ItemQuarantined, `the next get is told: ${String(told)}`);
  assert.deepEqual([told.itemId, told.deaths], [id, 5]);
  const next = await q.getEntry({ timeoutMs: 20 * kLeaseMs });
  assert.equal(next.value, 'after', 'the queue goes on with the next item');
  q.taskDone(next.id);
  await q.join();
  const snapshot = await q.inspect();
  assert.deepEqual([snapshot.quarantined, snapshot.qsize, snapshot.unfinished], [1, 0, 0]);
});
