/**
 * The reading side of `procsafe status`: every registered owner of this user,
 * alive or dead, with its pools (the owner's last pushed snapshot, dated) and
 * its queues and locks (read live from its broker thread, with a deadline).
 * A dead owner's file (and socket) is removed after it has been reported once.
 */
import { connect } from '../transport/client.js';
import { encodeHead } from '../transport/frame.js';
import { kAnswer, kRequest } from '../broker/protocol.js';
import type { Connection } from '../transport/connection.js';
import { forgetOwner, readOwners } from './registry.js';
import { kStatusObject } from './serve.js';
import type { PoolSnapshot, WorkerSnapshot } from './snapshot.js';

export interface PoolStatus extends Omit<PoolSnapshot, 'workers'> {
  readonly workers: (WorkerSnapshot & { readonly runningMs: number | null })[];
}

export interface OwnerStatus {
  readonly pid: number;
  readonly threadId: number | null;
  readonly alive: boolean;
  /** 'pool', 'queue', 'lock', … : what it created. */
  readonly kinds: string[];
  readonly argv: string[];
  readonly startedAt: number;
  /** Pools with each worker's running task (`runningMs`), as of `poolsAgeMs` ago. */
  readonly pools: PoolStatus[];
  readonly poolsAgeMs: number;
  /** Every queue, lock, semaphore, event and barrier, live from the broker; clients named by `pid`. */
  readonly objects: unknown[] | null;
  /** Why `objects` could not be read, if so. */
  readonly error: string | null;
}

export async function readStatus(options: { timeoutMs?: number } = {}): Promise<OwnerStatus[]> {
  const now = Date.now();
  const owners = await Promise.all(readOwners().map(async (owner): Promise<OwnerStatus> => {
    const { record, alive } = owner;
    const base = {
      pid: record.pid, threadId: record.threadId ?? null, alive, kinds: record.kinds, argv: record.argv, startedAt: record.startedAt,
      poolsAgeMs: now - record.poolsAt,
      pools: record.pools.map((pool) => ({
        ...pool,
        workers: pool.workers.map((w) => ({ ...w, runningMs: w.task === null ? null : Math.max(0, now - w.task.startedAt) })),
      })),
    };
    if (!alive) {
      // Shown dead this once, then forgotten: its file and its socket go.
      forgetOwner(owner);
      return { ...base, objects: null, error: null };
    }
    if (record.broker === null) return { ...base, objects: null, error: null };
    try {
      const objects = await inspectBroker(record.broker.path, record.broker.secret, options.timeoutMs ?? 2_000);
      return { ...base, objects, error: null };
    } catch (error) {
      return { ...base, objects: null, error: (error as Error).message };
    }
  }));
  return owners;
}

/** One kInspect to the owner's broker thread, proving its status secret. */
async function inspectBroker(path: string, secret: string, timeoutMs: number): Promise<unknown[]> {
  const started = Date.now();
  const { connection } = await connect(path, kStatusObject, secret, 256 * 1024 * 1024, timeoutMs);
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  try {
    return await new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the broker did not answer within ${timeoutMs} ms`)), left);
      (connection as Connection).listen({
        frame: (frame) => {
          clearTimeout(timer);
          if (frame.type !== kAnswer.Value) return reject(new Error(`unexpected answer type ${frame.type}`));
          resolve((JSON.parse(frame.payload.toString('utf8')) as { objects: unknown[] }).objects);
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
