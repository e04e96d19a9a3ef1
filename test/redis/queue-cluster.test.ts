// The shared queue API suite (test/queue/conformance.ts) on a 3-master Redis Cluster: every name's keys share one hash
// slot ({name}), so each script runs on the one node that owns it, through ioredis's Cluster client.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { JoinableQueue, Queue } from 'procsafe';
import { queueConformance } from '../queue/conformance.js';
import { runNode } from '../helpers/children.js';
import { fixture, repoRoot } from '../helpers/index.js';
import { launchCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { redisMissing } from '../helpers/redis-server.js';

const missing = redisMissing();
let cluster: RedisCluster | undefined;
before(async () => { if (missing === undefined) cluster = await launchCluster(); }, { timeout: 60_000 });
after(() => cluster?.stop());

queueConformance('redis cluster', (t) => {
  const options = (): { redis: string; name: string; leaseMs: number } =>
    ({ redis: (cluster as RedisCluster).url, name: `t-${randomUUID()}`, leaseMs: 500 });
  return {
    queue: <T>(more?: object) => {
      const q = new Queue<T>({ ...more, ...options() });
      t.after(() => q.disconnect());
      return q;
    },
    joinable: <T>(more?: object) => {
      const q = new JoinableQueue<T>({ ...more, ...options() });
      t.after(() => q.disconnect());
      return q;
    },
  };
}, missing);

test('an idle Redis Cluster handle never keeps a process alive (its node and pub/sub connections are unref\'ed)',
  { timeout: 30_000, skip: missing }, async (t) => {
    const ran = await runNode(t, [fixture('redis-queue-child.mjs').pathname, (cluster as RedisCluster).url, `t-${randomUUID()}`,
      'use-and-leave', '500'], { cwd: repoRoot });
    assert.equal(ran.stderr, '');
    assert.deepEqual([ran.code, ran.stdout], [0, '{"idle":true}\n']);
  });
