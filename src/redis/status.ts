/**
 * What `procsafe status --redis URL` reads: every procsafe queue and pool in that Redis (found by SCAN, on every
 * master of a Cluster), with their counts, a pool's hosts and the tasks they run. Read-only: nothing is taken over.
 */
import { RedisConnection, type RedisClient } from './connection.js';

export interface RedisQueueStatus {
  readonly name: string;
  readonly kind: string;
  readonly size: number;
  readonly leased: number;
  readonly unfinished: number;
  readonly maxsize: number;
  readonly closed: string;
}

export interface RedisHostStatus {
  readonly token: string;
  readonly host: string;
  readonly pid: number | null;
  readonly workers: number | null;
  /** ms since its lease was last renewed; negative past its expiry means it is overdue (dead or cut off). */
  readonly renewedMsAgo: number | null;
  readonly expired: boolean;
  readonly tasks: readonly { readonly id: string; readonly fn: string; readonly ageMs: number }[];
}

export interface RedisPoolStatus {
  readonly name: string;
  readonly queued: number;
  readonly hosts: readonly RedisHostStatus[];
}

export interface RedisStatus {
  readonly queues: RedisQueueStatus[];
  readonly pools: RedisPoolStatus[];
}

export async function readRedisStatus(url: string, redisTimeoutMs = 5000): Promise<RedisStatus> {
  const connection = RedisConnection.for(url, redisTimeoutMs, 'status');
  try {
    return await connection.run(async (client) => {
      const keys = await scanAll(client);
      const queueNames = new Set<string>();
      const poolNames = new Set<string>();
      for (const key of keys) {
        const match = /^procsafe:\{(.+)\}:(meta|tasks|hosts|info|held:.*|res:.*)$/.exec(key);
        if (match === null) continue;
        if (match[2] === 'meta') queueNames.add(match[1] as string);
        else poolNames.add(match[1] as string);
      }
      const [seconds, micros] = await client.call('TIME') as [string, string];
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const queues = await Promise.all([...queueNames].sort().map((name) => readQueue(client, name)));
      const pools = await Promise.all([...poolNames].sort().map((name) => readPool(client, name, now)));
      return { queues, pools };
    });
  } finally {
    connection.release();
  }
}

async function scanAll(client: RedisClient): Promise<string[]> {
  const keys: string[] = [];
  for (const node of client.nodes?.('master') ?? [client]) {
    let cursor = '0';
    do {
      const [next, found] = await node.call('SCAN', cursor, 'MATCH', 'procsafe:{*', 'COUNT', 1000) as [string, string[]];
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}

async function readQueue(client: RedisClient, name: string): Promise<RedisQueueStatus> {
  const prefix = `procsafe:{${name}}:`;
  const [meta, size, leased] = await Promise.all([
    client.call('HMGET', `${prefix}meta`, 'kind', 'maxsize', 'closed', 'unfinished') as Promise<(string | null)[]>,
    client.call('LLEN', `${prefix}ready`), client.call('ZCARD', `${prefix}leases`),
  ]);
  return {
    name, kind: meta[0] ?? 'queue', size: Number(size), leased: Number(leased), maxsize: Number(meta[1] ?? 0),
    closed: meta[2] ?? '', unfinished: Number(meta[3] ?? 0),
  };
}

async function readPool(client: RedisClient, name: string, now: number): Promise<RedisPoolStatus> {
  const prefix = `procsafe:{${name}}:`;
  const [queued, leases, info] = await Promise.all([
    client.call('LLEN', `${prefix}tasks`), client.call('ZRANGE', `${prefix}hosts`, 0, -1, 'WITHSCORES') as Promise<string[]>,
    client.call('HGETALL', `${prefix}info`) as Promise<string[]>,
  ]);
  const infos = new Map<string, Record<string, unknown>>();
  for (let i = 0; i + 1 < info.length; i += 2) {
    try {
      infos.set(info[i] as string, JSON.parse(info[i + 1] as string) as Record<string, unknown>);
    } catch {
      // Not ours to explain: shown without its description.
    }
  }
  const hosts: RedisHostStatus[] = [];
  for (let i = 0; i + 1 < leases.length; i += 2) {
    const token = leases[i] as string;
    const expiry = Number(leases[i + 1]);
    const described = infos.get(token) ?? {};
    const leaseMs = typeof described['leaseMs'] === 'number' ? described['leaseMs'] : undefined;
    const held = await client.call('HVALS', `${prefix}held:${token}`) as string[];
    hosts.push({
      token,
      host: typeof described['host'] === 'string' ? described['host'] : token,
      pid: typeof described['pid'] === 'number' ? described['pid'] : null,
      workers: typeof described['workers'] === 'number' ? described['workers'] : null,
      renewedMsAgo: leaseMs === undefined ? null : now - (expiry - leaseMs),
      expired: expiry < now,
      tasks: held.map((value) => {
        const [takenAt, id, , , , fn] = value.split(' ', 6);
        return { id: id ?? '?', fn: safeDecode(fn ?? '?'), ageMs: now - Number.parseInt(takenAt ?? '0', 10) };
      }),
    });
  }
  return { name, queued: Number(queued), hosts };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
