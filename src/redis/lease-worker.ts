/**
 * The lease-renewing thread (started by lease-thread.ts). Its own event loop and its own Redis connection per URL, so
 * nothing the user's code does on the main thread delays a renewal. One script call per sorted set per tick renews all
 * of that set's leases (they share a hash slot, so this works on Redis Cluster too).
 */
import { parentPort } from 'node:worker_threads';
import { RedisConnection } from './connection.js';
import type { LeaseMessage, LeaseReport } from './lease-thread.js';

interface Held {
  readonly connection: RedisConnection;
  /** member → leaseMs */
  readonly members: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  periodMs: number;
  renewing: boolean;
}

const port = parentPort;
if (port === null) throw new Error('procsafe: lease-worker.js runs only as a worker thread (lease-thread.ts starts it)');
const sets = new Map<string, Held>();

port.on('message', (message: LeaseMessage) => {
  if (message.type === 'warm') {
    const connection = RedisConnection.for(message.url, message.redisTimeoutMs, 'lease');
    void connection.run((client) => client.call('PING')).catch(() => {}).finally(() => connection.release());
  } else if (message.type === 'add') {
    const { url, redisTimeoutMs, key, member, leaseMs } = message.lease;
    let held = sets.get(key);
    if (held === undefined) {
      const connection = RedisConnection.for(url, redisTimeoutMs, 'lease');
      held = { connection, members: new Map(), timer: undefined, periodMs: 0, renewing: false };
      sets.set(key, held);
    }
    held.members.set(member, leaseMs);
    schedule(key, held);
  } else {
    const held = sets.get(message.key);
    if (held === undefined) return;
    held.members.delete(message.member);
    if (held.members.size === 0) {
      clearInterval(held.timer);
      sets.delete(message.key);
      held.connection.release();
    }
  }
});

/** Renews every leaseMs / 3 (of the shortest lease in the set): two renewals can fail before a lease lapses. */
function schedule(key: string, held: Held): void {
  const periodMs = Math.max(10, Math.floor(Math.min(...held.members.values()) / 3));
  if (held.timer !== undefined && periodMs >= held.periodMs) return;
  clearInterval(held.timer);
  held.periodMs = periodMs;
  held.timer = setInterval(() => void renew(key, held), periodMs);
}

async function renew(key: string, held: Held): Promise<void> {
  // A renewal still waiting on an unreachable server: the next one would only queue behind it.
  if (held.renewing || held.members.size === 0) return;
  held.renewing = true;
  try {
    const args: (string | number)[] = [];
    for (const [member, leaseMs] of held.members) args.push(member, leaseMs);
    const lost = await held.connection.script<string[]>('renew', [key], args);
    for (const member of lost) {
      if (!held.members.delete(member)) continue;
      const report: LeaseReport = { type: 'lost', key, member };
      port?.postMessage(report);
    }
  } catch {
    // Unreachable past redisTimeoutMs: the leases may lapse; the holders' own calls report BrokerLost.
  } finally {
    held.renewing = false;
  }
}
