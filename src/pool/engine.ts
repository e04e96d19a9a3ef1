// What the Pool facade needs of its engine: the local one supervises child processes or threads; another (hosts
// pulling tasks from Redis) can sit behind the same facade by keeping this contract.
import type { PoolStats, WorkerInfo } from './stats.js';
import type { Task } from './task.js';

export interface PoolEngine {
  /** True once drain() or shutdown() was called: no new task may be submitted. */
  readonly closed: boolean;
  /** Accepts a task: from here on the engine settles it exactly once, through `task.done`. */
  submit(task: Task): void;
  /** The caller gave up on a task (abort, deadline): settle it with `error`, and stop whatever runs it. */
  cancel(task: Task, error: Error): void;
  stats(): PoolStats;
  /** Each worker and the task at its head, for `procsafe status`; read by a throttled timer. */
  workers(): WorkerInfo[];
  /** The worker module's exported function names, or its load error. */
  moduleExports(): Promise<readonly string[]>;
  /** Resolves once every accepted task is settled. */
  drain(): Promise<void>;
  /** Stops every worker: with `graceful`, each finishes what it was given; otherwise pending work rejects PoolClosed. */
  shutdown(graceful: boolean): Promise<void>;
}
