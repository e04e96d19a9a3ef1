/** A 3-master Redis Cluster on loopback ports for the cluster tests, formed with `redis-cli --cluster create`. */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchRedis, type RedisServer } from './redis-server.js';

export interface RedisCluster {
  /** A node's URL with `?cluster=yes`, as users pass it. */
  readonly url: string;
  readonly nodes: readonly RedisServer[];
  stop(): Promise<void>;
}

export async function launchCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) nodes.push(await launchRedis({ cluster: true }));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    // Every node must know every slot's owner before clients come.
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const info = spawnSync('redis-cli', ['-p', String(node.port), 'CLUSTER', 'INFO'], { encoding: 'utf8' }).stdout;
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`the cluster did not settle: ${info}`);
        await sleep(50);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${(nodes[0] as RedisServer).port}?cluster=yes`, nodes, stop };
}
