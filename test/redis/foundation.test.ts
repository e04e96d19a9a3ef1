// The pieces every Redis object stands on: the test server helper, the connection (lazy ioredis, retries, BrokerLost
// after redisTimeoutMs) and the lease thread (renewals that a CPU-bound main thread cannot stop).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { BrokerLost } from '../../dist/errors.js';
import { parseRedisUrl, RedisConnection } from '../../dist/redis/connection.js';
import { leaseThread } from '../../dist/redis/lease-thread.js';
import { repoRoot } from '../helpers/index.js';
import { redisMissing, startRedis } from '../helpers/redis-server.js';

const missing = redisMissing();

test('importing procsafe does not load ioredis', { timeout: 20_000 }, () => {
  const code = `import(${JSON.stringify(new URL('dist/index.js', repoRoot).href)}).then(() => {
    const loaded = Object.keys(require('node:module')._cache ?? {}).concat(Object.keys(require.cache ?? {}));
    process.stdout.write(String(loaded.some((path) => path.includes('ioredis'))));
  })`;
  const result = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, 'false');
});

test('redis:// and rediss:// URLs are read, anything else refused with a TypeError', () => {
  assert.deepEqual(parseRedisUrl('rediss://user:p%40ss@example.org:6380/2'), {
    url: 'rediss://user:p%40ss@example.org:6380/2', tls: true, host: 'example.org', port: 6380, db: 2,
    username: 'user', password: 'p@ss', cluster: false,
  });
  assert.equal(parseRedisUrl('redis://h').port, 6379);
  assert.equal(parseRedisUrl('redis://h:7000?cluster=yes').cluster, true);
  assert.throws(() => parseRedisUrl('http://h'), TypeError);
  assert.throws(() => parseRedisUrl(42), TypeError);
  assert.throws(() => parseRedisUrl('redis://h/x'), TypeError);
});

test('a call waits through a Redis restart, and rejects BrokerLost once Redis stays away past redisTimeoutMs',
  { timeout: 30_000, skip: missing }, async (t) => {
    const server = await startRedis(t);
    const connection = RedisConnection.for(server.url, 1500);
    t.after(() => connection.release());
    assert.equal(await connection.run((client) => client.call('PING')), 'PONG');
    await server.kill('SIGKILL');
    const during = connection.run((client) => client.call('SET', 'k', 'v'));
    await server.restart();
    assert.equal(await during, 'OK');
    await server.kill('SIGKILL');
    await assert.rejects(connection.run((client) => client.call('PING')), (error: unknown) => {
      assert.ok(error instanceof BrokerLost);
      assert.match((error as Error).message, /unreachable for 1500 ms/);
      return true;
    });
  });

test('a lease is renewed by its own thread while the main thread is CPU-bound for 3 x leaseMs',
  { timeout: 30_000, skip: missing }, async (t) => {
    const server = await startRedis(t);
    const connection = RedisConnection.for(server.url);
    t.after(() => connection.release());
    const key = `procsafe:{t-${randomUUID()}}:leases`;
    const leaseMs = 300;
    // Taken as the Queue's scripts take one: the expiry in the server's ms.
    await connection.run((client) => client.call('EVAL',
      "local t = redis.call('TIME'); return redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000) + ARGV[1], 'm')",
      1, key, leaseMs));
    const lease = { url: server.url, redisTimeoutMs: 30_000, key, member: 'm', leaseMs };
    let lost = false;
    leaseThread.add(lease, () => { lost = true; });
    const until = Date.now() + 3 * leaseMs;
    while (Date.now() < until) { /* CPU-bound: no turn of the event loop */ }
    const alive = await connection.run((client) => client.call('EVAL',
      "local t = redis.call('TIME'); return tonumber(redis.call('ZSCORE', KEYS[1], 'm')) >= t[1] * 1000 + math.floor(t[2] / 1000)",
      1, key));
    assert.equal(alive, 1);
    assert.equal(lost, false);
    leaseThread.remove(lease);
  });
