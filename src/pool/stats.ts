/**
 * What a pool engine reports of itself. Kept apart so that the status reader
 * (cli/status/read.ts, through pool/snapshot.ts) imports the pool's types, not its engine.
 */

export interface PoolStats {
  /** Workers alive (starting, ready or finishing their last tasks). */
  readonly workers: number;
  /** Workers with a task. */
  readonly busy: number;
  /**
   * Tasks in the pool's queue, not yet sent to a worker: never more than `maxQueue`.
   * Calls beyond it are still waiting to be accepted and are not counted.
   */
  readonly queued: number;
  /** Tasks settled with a value; each item of a map is a task. */
  readonly completed: number;
  /** Tasks settled with an error; each item of a map is a task. */
  readonly failed: number;
  /** Workers that died without being asked to. */
  readonly crashed: number;
  /** Task re-runs after a crash (`retries`). */
  readonly retried: number;
  /** Workers started to replace one that died, timed out or was recycled (not those started on demand, `minWorkers`). */
  readonly restarts: number;
}

/** One worker and the task at its head, as an engine reports it (`since` is performance.now()). */
export interface WorkerInfo {
  readonly id: number;
  readonly pid: number | undefined;
  readonly state: string;
  readonly task: { readonly id: number; readonly fn: string; readonly items: number | undefined; readonly since: number } | undefined;
  readonly pipelined: number;
}
