// The Redis Pool on a 3-master Redis Cluster started on loopback ports: a pool's keys share one slot (its name is their
// hash tag), so its scripts, its result pops and its takeovers run as on one server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Pool, RemoteError, WorkerCrashed } from 'procsafe';
import { fixture, tempDir } from '../helpers/index.js';
import { launchCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { runsIn } from '../helpers/redis-hosts.js';
import { redisMissing } from '../helpers/redis-server.js';

const skip = redisMissing();
const tasks = fixture('redis-pool-tasks.mjs');
let cluster: RedisCluster | undefined;
before(async () => { if (skip === undefined) cluster = await launchCluster(); }, { timeout: 60_000 });
after(() => cluster?.stop());

test('a Redis pool on a cluster: results, errors, a poison task after retries + 1 attempts, two names apart',
  { timeout: 60_000, skip }, async (t) => {
    const url = (cluster as RedisCluster).url;
    const dir = tempDir(t);
    const a = new Pool({ redis: url, name: `t-${randomUUID()}`, module: tasks, workers: 1, retries: 1, leaseMs: 500 });
    const b = new Pool({ redis: url, name: `t-${randomUUID()}`, module: fixture('redis-pool-tasks-b.mjs'), workers: 1, leaseMs: 500 });
    t.after(() => Promise.all([a.terminate(), b.terminate()]));
    assert.deepEqual(await a.map('square', [1, 2, 3, 4]), [1, 4, 9, 16]);
    await assert.rejects(a.apply('fail', ['no']), RemoteError);
    const marks = join(dir, 'poison');
    await assert.rejects(a.apply('killWorker', [marks]), (error: unknown) => error instanceof WorkerCrashed && error.attempts === 2);
    assert.equal(runsIn(marks).length, 2);
    const [fromA, fromB] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => a.apply('which'))), Promise.all(Array.from({ length: 10 }, () => b.apply('which'))),
    ]);
    assert.deepEqual([...new Set(fromA), ...new Set(fromB)], ['a', 'b']);
    await Promise.all([a.close(), b.close()]);
  });
