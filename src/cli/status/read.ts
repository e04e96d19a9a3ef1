/**
 * The reading side of `procsafe status`: every registered owner of this user that still runs, with its pools (its last
 * pushed snapshot, dated) and its queues and locks (live from its broker thread, with a deadline). Entries of owners that
 * ended without removing them (killed, or by a signal that skips exit handlers) go, with their sockets, into `cleaned`.
 */
import { connect } from '../../transport/client.js';
import { encodeHead } from '../../transport/frame.js';
import { kAnswer, kRequest } from '../../broker/protocol.js';
import { forgetOwner, forgetStaleSockets, type OwnerRecord, readOwners } from '../../status/registry.js';
import { type ClientPaths, kStatusObject } from '../../broker/status-server.js';
import type { PoolSnapshot, WorkerSnapshot } from '../../pool/snapshot.js';

export interface PoolStatus extends Omit<PoolSnapshot, 'workers'> {
  readonly workers: (WorkerSnapshot & { readonly runningMs: number | null })[];
}

/** Who an owner is: its pid, thread, Process name (null when not a named Process) and command line. */
export interface OwnerIdentity {
  readonly pid: number;
  readonly threadId: number | null;
  readonly name: string | null;
  /** 'pool', 'queue', 'lock', … : what it created. */
  readonly kinds: string[];
  readonly argv: string[];
  readonly startedAt: number;
}

export interface OwnerStatus extends OwnerIdentity {
  /** Pools with each worker's running task (`runningMs`), as of `poolsAgeMs` ago. */
  readonly pools: PoolStatus[];
  readonly poolsAgeMs: number;
  /** Every queue, lock, semaphore, event and barrier, live from the broker; clients named by `pid`. */
  readonly objects: unknown[] | null;
  /** How its clients reach it (null when unread): lanes in shared memory, or the socket alone. */
  readonly paths: ClientPaths | null;
  /** Why `objects` could not be read, if so. */
  readonly error: string | null;
}

export interface StatusReport {
  /** The owners that run, by pid then thread (the main thread first). */
  readonly owners: OwnerStatus[];
  /** Owners found gone, whose entries (and sockets) were just removed. */
  readonly cleaned: OwnerIdentity[];
  /** Sockets of gone processes that no entry named any more, just removed. */
  readonly staleSockets: number;
}

export async function readStatus(options: { timeoutMs?: number } = {}): Promise<StatusReport> {
  const now = Date.now();
  const all = readOwners().sort((a, b) => byPidThenThread(a.record, b.record));
  const cleaned: OwnerIdentity[] = [];
  for (const owner of all) {
    if (owner.alive) continue;
    forgetOwner(owner);
    cleaned.push(identity(owner.record));
  }
  const live = all.filter((owner) => owner.alive);
  const named = new Set(live.flatMap((owner) => (owner.record.broker === null ? [] : [owner.record.broker.path])));
  const staleSockets = forgetStaleSockets(named);
  const owners = await Promise.all(live.map(async ({ record }): Promise<OwnerStatus> => {
    const base = {
      ...identity(record),
      poolsAgeMs: now - record.poolsAt,
      pools: (record.pools as PoolSnapshot[]).map((pool) => ({
        ...pool,
        workers: pool.workers.map((w) => ({ ...w, runningMs: w.task === null ? null : Math.max(0, now - w.task.startedAt) })),
      })),
    };
    if (record.broker === null) return { ...base, objects: null, paths: null, error: null };
    try {
      const { objects, paths } = await inspectBroker(record.broker.path, record.broker.secret, options.timeoutMs ?? 2_000);
      return { ...base, objects, paths, error: null };
    } catch (error) {
      return { ...base, objects: null, paths: null, error: (error as Error).message };
    }
  }));
  return { owners, cleaned, staleSockets };
}

function identity(record: OwnerRecord): OwnerIdentity {
  return {
    pid: record.pid, threadId: record.threadId ?? null, name: typeof record.name === 'string' ? record.name : null,
    kinds: record.kinds, argv: record.argv, startedAt: record.startedAt,
  };
}

/** Numbers as numbers: the file names they come from sort "10" before "9". */
function byPidThenThread(a: OwnerRecord, b: OwnerRecord): number {
  return a.pid - b.pid || (a.threadId ?? -1) - (b.threadId ?? -1);
}

/** One kInspect to the owner's broker thread, proving its status secret. */
async function inspectBroker(
  path: string, secret: string, timeoutMs: number,
): Promise<{ objects: unknown[]; paths: ClientPaths | null }> {
  const started = Date.now();
  const { connection } = await connect(path, kStatusObject, secret, 256 * 1024 * 1024, timeoutMs);
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the broker did not answer within ${timeoutMs} ms`)), left);
      connection.listen({
        frame: (frame) => {
          clearTimeout(timer);
          if (frame.type !== kAnswer.Value) return reject(new Error(`unexpected answer type ${frame.type}`));
          const answer = JSON.parse(frame.payload.toString('utf8')) as { objects: unknown[]; paths?: ClientPaths };
          resolve({ objects: answer.objects, paths: answer.paths ?? null });
        },
        close: (reason) => {
          clearTimeout(timer);
          reject(new Error(reason?.message ?? 'the broker closed the connection'));
        },
      });
      connection.send([encodeHead(kRequest.Inspect, 1, kStatusObject, 0)]);
    });
  } finally {
    connection.destroy();
  }
}
