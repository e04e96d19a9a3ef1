/** What an owner publishes of its pools for `procsafe status`: JSON, with absolute times so an unchanged pool costs no write. */
import type { PoolReporter } from '../status/registry.js';
import type { PoolStats, WorkerInfo } from './stats.js';

export interface WorkerSnapshot {
  /** The pool's number for the worker (1, 2, …; a replacement gets a new one). */
  readonly id: number;
  readonly pid: number | null;
  readonly state: string;
  /** The task at the head of its pipeline, running as far as the pool can tell. */
  readonly task: { readonly id: number; readonly fn: string; readonly items: number | null; readonly startedAt: number } | null;
  /** Tasks sent to it behind the running one. */
  readonly pipelined: number;
}

export interface PoolSnapshot {
  readonly name: string;
  readonly module: string;
  readonly stats: PoolStats;
  readonly workers: WorkerSnapshot[];
}

/** What a Pool hands the registry: read only by its throttled timer. */
export interface PoolSource {
  readonly name: string;
  readonly module: string;
  stats(): PoolStats;
  workers(): WorkerInfo[];
}

export function snapshotPool(source: PoolSource): PoolSnapshot {
  return {
    name: source.name,
    module: source.module,
    stats: source.stats(),
    workers: source.workers().map((w) => ({
      id: w.id,
      pid: w.pid ?? null,
      state: w.state,
      // performance.now() → wall clock through the constant timeOrigin: the same task gives the same
      // number on every tick (Date.now() - performance.now() wobbles by a millisecond), so no rewrite.
      task: w.task === undefined
        ? null
        : { id: w.task.id, fn: w.task.fn, items: w.task.items ?? null, startedAt: Math.round(performance.timeOrigin + w.task.since) },
      pipelined: w.pipelined,
    })),
  };
}

/** How the registry reads `source`: rewritten each second while a task runs or waits, so its "as of" time stays true. */
export function poolReporter(source: PoolSource): PoolReporter {
  return () => {
    const snapshot = snapshotPool(source);
    return { snapshot, busy: snapshot.workers.some((w) => w.task !== null) || snapshot.stats.queued > 0 };
  };
}
