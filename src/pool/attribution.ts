// Who pays for a worker's death: the running task is charged an attempt (retried while `retries` lasts, else
// WorkerCrashed); a chunk is split to find the guilty item; everything else it held goes back uncharged.
import { WorkerCrashed } from '../errors.js';
import type { HostExit } from './host.js';
import { describeExit, describeWorker } from './crash-report.js';
import type { Ledger } from './settlement.js';
import { nextTaskId, type Outcome, type Task } from './task.js';
import type { WorkerSlot } from './worker-slot.js';

export interface AttributionOptions {
  readonly retries: number;
  readonly maxMemoryMb: number | undefined;
}

/** Settles or hands back every task `slot` held when it exited; returns the ones to run again, first in line, in order. */
export function attributeExit(slot: WorkerSlot, info: HostExit, options: AttributionOptions, ledger: Ledger): Task[] {
  const tasks = slot.inflight.clear();
  // The running task is the oldest unanswered, unless the host knows better (a thread marks each start in shared
  // memory): then the ones before it finished but their answers were lost.
  let running = 0;
  if (info.runningTaskId !== undefined) {
    running = tasks.findIndex((task) => task.id === info.runningTaskId);
    if (running === -1) running = tasks.length;
  }
  const requeue: Task[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as Task;
    if (task.state !== 'sent') continue;
    // When the pool killed the worker (timeout, abort), nothing still owed is to blame: the task it gave up on
    // may have been answered a moment before, its answer unread.
    if (i === running && slot.killedFor === undefined) crashed(slot, task, info, options, ledger, requeue);
    else requeue.push(task);
  }
  for (const task of requeue) {
    task.state = 'queued';
    task.slot = undefined;
  }
  return requeue;
}

/** The running task took its worker down: retry it, narrow a chunk down, or report the crash. */
function crashed(slot: WorkerSlot, head: Task, info: HostExit, options: AttributionOptions, ledger: Ledger, requeue: Task[]): void {
  if (head.chunk) {
    // Which item of the chunk killed it is unknown: re-run the items one by one, uncharged.
    requeue.push(...split(head, ledger));
    return;
  }
  head.attempts++;
  const retries = options.retries;
  if (head.attempts <= retries) {
    ledger.counts.retried++;
    requeue.push(head);
    return;
  }
  const left = Math.max(0, retries - (head.attempts - 1));
  let why = '';
  if (info.outOfMemory) {
    const limit = options.maxMemoryMb === undefined ? "V8's default limit" : `maxMemoryMb = ${options.maxMemoryMb}`;
    why = ` (out of memory: its heap passed ${limit})`;
  } else if (slot.fatal !== undefined) {
    why = ` after an uncaught ${(slot.fatal as { remoteName?: string }).remoteName ?? 'error'}: ${slot.fatal.message}`;
  } else if (info.error !== undefined) {
    why = ` after ${info.error.name}: ${info.error.message}`;
  }
  ledger.settle(head, false, new WorkerCrashed(
    `${describeWorker(slot)} ${describeExit(info)} while running task ${head.id} ("${head.fn}")${why}; ` +
    `${left} of ${retries} retries left`,
    {
      workerId: slot.id, pid: slot.pid, exitCode: info.exitCode, signal: info.signal, taskId: head.id, fn: head.fn,
      attempts: head.attempts, retries,
    },
    { cause: slot.fatal ?? info.error }));
}

/** Turns a chunk into one task per item; the chunk settles when they all have. */
function split(chunk: Task, ledger: Ledger): Task[] {
  const items = chunk.args;
  const outcomes = new Array<Outcome>(items.length);
  let left = items.length;
  const parts = items.map((item, i): Task => {
    ledger.accept();
    return {
      id: nextTaskId(), fn: chunk.fn, args: [item], chunk: false, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined,
      done: (ok, value) => {
        outcomes[i] = ok ? { ok: true, value } : { ok: false, error: value as Error };
        if (--left === 0) {
          chunk.cleanup?.();
          chunk.done(true, outcomes);
        }
      },
    };
  });
  // The parts are owed before the chunk stops being: the pool never looks idle in between.
  ledger.replaced(chunk);
  chunk.parts = parts;
  return parts;
}
