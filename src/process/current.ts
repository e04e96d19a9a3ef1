// Python's current_process(), parent_process() and cpu_count(), from what the parent told this process when it
// started it (internal/identity.ts).
import { availableParallelism } from 'node:os';
import { ownIdentity } from '../internal/identity.js';
import { processAlive } from '../internal/proc.js';

/** This process as `currentProcess()` describes it. */
export interface CurrentProcessInfo {
  /** 'MainProcess', a Process's `name`, or a pool worker's (`'worker-3'`: the pool's `name`, a dash, the worker's id). */
  readonly name: string;
  /** `process.pid`: in a thread-isolation pool worker, that of the process the pool runs in. */
  readonly pid: number;
  /** A Process's `daemon`; true in a pool worker (it stops with its pool), false in the main process. */
  readonly daemon: boolean;
}

/** The process that started this one, as `parentProcess()` describes it. */
export interface ParentProcessInfo {
  readonly name: string;
  readonly pid: number;
  /** Checked at each read: the pid exists, is no zombie, and (on Linux) started when the parent did, so a reused pid is not it. */
  readonly isAlive: boolean;
}

/** This process: the main one, a Process child, or a pool worker. */
export function currentProcess(): CurrentProcessInfo {
  const identity = ownIdentity();
  return Object.freeze({ name: identity?.name ?? 'MainProcess', pid: process.pid, daemon: identity?.daemon ?? false });
}

/** The process that started this one (a Process's parent, or the process running a worker's pool); null in the main process. */
export function parentProcess(): ParentProcessInfo | null {
  const parent = ownIdentity()?.parent;
  if (parent === undefined) return null;
  const { name, pid, startTime } = parent;
  // An own enumerable getter: a copy (a task's result, a queue item) carries the value it had when copied.
  return Object.freeze({ name, pid, get isAlive() { return processAlive(pid, startTime); } });
}

/** The CPUs this process may use: `os.availableParallelism()` (Python 3.13's `process_cpu_count()`). */
export function cpuCount(): number {
  return availableParallelism();
}
