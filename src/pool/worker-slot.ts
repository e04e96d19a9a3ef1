// One worker as the pool sees it: its host, the tasks sent to it in order (the oldest is running: the child runs
// them one at a time and answers in order), and the running task's timer.
import { Fifo } from '../internal/fifo.js';
import type { WorkerHost } from './host.js';
import type { Task } from './task.js';

/** starting: loading the module; ready: takes tasks; retiring: finishing its last tasks; dead: exited. */
export type SlotState = 'starting' | 'ready' | 'retiring' | 'dead';

export class WorkerSlot {
  readonly id: number;
  host!: WorkerHost;
  state: SlotState = 'starting';
  /** The pool asked it to exit (close, recycling, idleness): its exit is no crash. */
  stopping = false;
  /** Its process is gone, though its exit is not settled yet (output draining): the dispatcher skips it. */
  gone = false;
  /** It exited for idleness (idleTimeoutMs): nothing to replace. */
  idleStopped = false;
  /** Runs out while it has nothing to do; cleared when it is given a task. */
  idleTimer: NodeJS.Timeout | undefined;
  /** What it said when it failed to start. */
  bootError: Error | undefined;
  readonly inflight = new Fifo<Task>();
  /** Tasks sent over this worker's life, for maxTasksPerWorker. */
  sent = 0;
  /** When the task now at the head became the head: its start, as near as the parent can tell. */
  headSince = 0;
  headTimer: NodeJS.Timeout | undefined;
  /** Why the pool killed it, if it did: the error already given to the running task. */
  killedFor: Task | undefined;
  /** The uncaught error the worker reported just before dying. */
  fatal: Error | undefined;
  /** Resolves when the worker has exited and everything it sent was read. */
  readonly exited: Promise<void>;
  readonly markExited: () => void;
  /** What to send at the next flush, in order: tasks (serialized together) and ready frames. */
  outbox: (Task | Buffer)[] = [];

  constructor(id: number) {
    this.id = id;
    let resolve!: () => void;
    this.exited = new Promise<void>((r) => { resolve = r; });
    this.markExited = resolve;
  }

  get pid(): number | undefined { return this.host.pid; }

  queue(task: Task): void {
    task.state = 'sent';
    task.slot = this;
    clearTimeout(this.idleTimer);
    this.inflight.push(task);
    this.sent++;
    this.outbox.push(task);
  }

  queueRaw(frame: Buffer): void {
    this.outbox.push(frame);
  }
}
