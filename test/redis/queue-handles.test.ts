// Redis queue handles: options checked, settings agreed between handles, handles that travel (in items, to processes),
// local objects refused inside Redis items, and idle handles that never keep a process alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { JoinableQueue, Process, Queue, SerializationError } from 'procsafe';
import { runNode } from '../helpers/children.js';
import { fixture, repoRoot } from '../helpers/index.js';
import { redisMissing, startRedis } from '../helpers/redis-server.js';

const skip = redisMissing();
const tasks = fixture('redis-queue-tasks.mjs');
const fresh = (): string => `t-${randomUUID()}`;

test('bad Redis options are refused with the option named', () => {
  assert.throws(() => new Queue({ redis: 'http://h', name: 'a' }), /redis:\/\/ or rediss:\/\/ URL, got the protocol http:/);
  assert.throws(() => new Queue({ redis: 'redis://h' }), /Expected `name` \(needed with `redis`\)/);
  assert.throws(() => new Queue({ redis: 'redis://h', name: 'a{b}' }), /without braces/);
  assert.throws(() => new Queue({ redis: 'redis://h', name: 'a', leaseMs: 0 }), /Expected `leaseMs` to be an integer/);
  assert.throws(() => new Queue({ leaseMs: 100 }), /are options of a Redis queue: give `redis` and `name` too/);
});

test('a handle that disagrees on maxsize or kind is refused, naming both', { timeout: 20_000, skip }, async (t) => {
  const server = await startRedis(t);
  const name = fresh();
  const first = new Queue({ redis: server.url, name, maxsize: 5 });
  t.after(() => first.disconnect());
  await first.qsize();
  const taker = new Queue({ redis: server.url, name });
  t.after(() => taker.disconnect());
  await taker.qsize();
  assert.equal(taker.maxsize, 5, 'a handle without maxsize takes the queue\'s');
  const other = new Queue({ redis: server.url, name, maxsize: 7 });
  t.after(() => other.disconnect());
  await assert.rejects(other.put(1), { name: 'RangeError', message: /exists with maxsize 5, but this handle asked for maxsize 7/ });
  const joinable = new JoinableQueue({ redis: server.url, name });
  t.after(() => joinable.disconnect());
  await assert.rejects(joinable.qsize(), { name: 'TypeError', message: /exists as a queue, not a joinable-queue/ });
});

test('a Redis queue travels inside a Redis item and to another process, and works there', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  const outer = new Queue<{ inner: Queue<string> }>({ redis: server.url, name: fresh() });
  const inner = new Queue<string>({ redis: server.url, name: fresh(), maxsize: 3, leaseMs: 500 });
  t.after(() => outer.disconnect());
  t.after(() => inner.disconnect());
  await outer.put({ inner });
  const got = (await outer.get()).inner;
  assert.equal(got, inner, 'the same object in this process');
  const p = new Process({ module: tasks, fn: 'putInto', args: [inner, 'from a child'] });
  await p.start();
  assert.equal((await p.join()).exitCode, 0);
  assert.equal(await inner.get(), 'from a child');
});

test('a local object inside a Redis item is refused with SerializationError naming its path', { timeout: 20_000, skip }, async (t) => {
  const server = await startRedis(t);
  const q = new Queue<unknown>({ redis: server.url, name: fresh() });
  const local = new Queue<string>();
  t.after(() => q.disconnect());
  t.after(() => local.close());
  await assert.rejects(q.put({ reply: [local] }), (error: unknown) =>
    error instanceof SerializationError && error.path === 'item.reply[0]' && /no other machine could use/.test(error.message));
  assert.equal(await q.qsize(), 0);
});

test('an idle Redis handle never keeps a process alive', { timeout: 30_000, skip }, async (t) => {
  const server = await startRedis(t);
  // A plain node process (not a Process, whose runtime exits when its function returns).
  const ran = await runNode(t, [fixture('redis-queue-child.mjs').pathname, server.url, fresh(), 'use-and-leave', '500'],
    { cwd: repoRoot });
  assert.equal(ran.stderr, '');
  assert.deepEqual([ran.code, ran.stdout], [0, '{"idle":true}\n']);
});

test('the README\'s least-privilege ACL user can use a queue, and nothing it runs is refused', { timeout: 20_000, skip }, async (t) => {
  const server = await startRedis(t);
  const acl = 'ACL SETUSER jobs on >secret ~procsafe:* &procsafe:* +@read +@write +@scripting +@pubsub +@connection +time -@dangerous';
  assert.equal(spawnSync('redis-cli', ['-p', String(server.port), ...acl.split(' ')], { encoding: 'utf8' }).stdout.trim(), 'OK');
  const q = new JoinableQueue<number>({ redis: `redis://jobs:secret@127.0.0.1:${server.port}`, name: fresh(), leaseMs: 300 });
  t.after(() => q.disconnect());
  await q.putMany([1, 2]);
  const entry = await q.getEntry();
  q.taskDone(entry.id);
  await q.get();
  q.taskDone();
  await q.join();
  await q.close({ immediate: true });
  assert.equal(spawnSync('redis-cli', ['-p', String(server.port), 'ACL', 'LOG'], { encoding: 'utf8' }).stdout.trim(), '');
});

test('consumed items leave nothing behind in Redis: only the queue\'s settings and each client\'s expiring retry list',
  { timeout: 20_000, skip }, async (t) => {
    const server = await startRedis(t);
    const name = fresh();
    const q = new JoinableQueue<number>({ redis: server.url, name, maxsize: 50, leaseMs: 300 });
    t.after(() => q.disconnect());
    const consumer = (async () => {
      for (let i = 0; i < 200; i++) {
        await q.get();
        q.taskDone();
      }
    })();
    for (let i = 0; i < 200; i += 20) await q.putMany(Array.from({ length: 20 }, (_, k) => i + k));
    await consumer;
    await q.join();
    const keys = spawnSync('redis-cli', ['-p', String(server.port), '--scan', '--pattern', `procsafe:{${name}}:*`], { encoding: 'utf8' })
      .stdout.trim().split('\n').sort();
    assert.deepEqual(keys.map((key) => key.replace(/recent:.*$/, 'recent:*')), [`procsafe:{${name}}:meta`, `procsafe:{${name}}:recent:*`]);
    const ttl = Number(spawnSync('redis-cli', ['-p', String(server.port), 'PTTL', keys[1] as string], { encoding: 'utf8' }).stdout);
    assert.ok(ttl > 0, 'the retry list expires');
  });
