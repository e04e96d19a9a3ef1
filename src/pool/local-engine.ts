// The engine of a Pool whose workers are this process's children (or threads): a queue, a dispatcher and a
// supervisor around one ledger. Every accepted task is settled exactly once, whatever dies when.
import type { PassThrough } from 'node:stream';
import { PoolClosed } from '../errors.js';
import { encodeBare } from '../transport/frame.js';
import { kToChild } from '../child/protocol.js';
import { Dispatcher } from './dispatcher.js';
import type { PoolEngine } from './engine.js';
import type { ResolvedPoolOptions } from './options.js';
import { Ledger } from './settlement.js';
import type { PoolStats, WorkerInfo } from './stats.js';
import { defaultHostFactory, type HostFactory, Supervisor } from './supervisor.js';
import type { Task } from './task.js';
import { FifoTaskQueue, type TaskQueue } from './task-queue.js';
import type { WorkerSlot } from './worker-slot.js';

export type { HostFactory } from './supervisor.js';

export class LocalEngine implements PoolEngine {
  readonly #ledger = new Ledger();
  readonly #queue: TaskQueue;
  readonly #dispatcher: Dispatcher;
  readonly #supervisor: Supervisor;

  constructor(options: ResolvedPoolOptions, sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined },
    hostFactory: HostFactory = defaultHostFactory, now?: () => number) {
    this.#queue = new FifoTaskQueue(options.maxQueue);
    this.#dispatcher = new Dispatcher(options, this.#queue, this.#ledger, () => this.#supervisor, now);
    const dispatcher = this.#dispatcher;
    this.#supervisor = new Supervisor(options, sinks, this.#ledger, this.#queue, {
      answer: (slot, frame) => dispatcher.answer(slot, frame),
      changed: () => dispatcher.schedule(),
      flush: (slot) => dispatcher.flush(slot),
    }, hostFactory);
    this.#supervisor.start();
  }

  get closed(): boolean { return this.#supervisor.mode !== 'open'; }

  /** Tasks each worker's pipe may hold now (the dispatcher's window): a Redis worker host takes this many per worker. */
  get window(): number { return this.#dispatcher.window; }

  stats(): PoolStats {
    let workers = 0;
    let busy = 0;
    for (const slot of this.#supervisor.slots) {
      workers++;
      if (slot.inflight.length > 0) busy++;
    }
    return { workers, busy, queued: this.#queue.size, ...this.#ledger.counts };
  }

  workers(): WorkerInfo[] {
    return this.#supervisor.workers();
  }

  moduleExports(): Promise<readonly string[]> {
    return this.#supervisor.moduleExports();
  }

  submit(task: Task): void {
    if (this.#supervisor.mode === 'stopping') {
      task.state = 'settled';
      task.cleanup?.();
      task.done(false, new PoolClosed('the pool is terminated and accepts no new tasks; create a new Pool'));
      return;
    }
    this.#ledger.accept();
    this.#queue.add(task);
    this.#dispatcher.schedule();
  }

  cancel(task: Task, error: Error): void {
    if (task.state === 'settled') {
      // A chunk split after a crash: the cancel reaches its items.
      for (const part of task.parts ?? []) this.cancel(part, error);
      return;
    }
    if (task.state === 'queued') {
      this.#queue.remove(task);
      this.#ledger.settle(task, false, error);
      this.#dispatcher.schedule();
      return;
    }
    const slot = task.slot as WorkerSlot;
    this.#ledger.settle(task, false, error);
    if (slot.inflight.peek() === task) {
      this.#supervisor.killFor(slot, task);
    } else {
      slot.queueRaw(encodeBare(kToChild.Cancel, task.id));
      this.#dispatcher.flush(slot);
    }
  }

  async drain(): Promise<void> {
    if (this.#supervisor.mode === 'open') this.#supervisor.mode = 'draining';
    await this.#ledger.idle();
  }

  async shutdown(graceful: boolean): Promise<void> {
    this.#supervisor.mode = 'stopping';
    this.#ledger.hold();
    const error = new PoolClosed('the pool was terminated before this task finished; nothing more will run');
    for (const task of this.#queue.clear()) this.#ledger.settle(task, false, error);
    for (const slot of this.#supervisor.slots) {
      for (const task of slot.inflight) if (task.state !== 'settled') this.#ledger.settle(task, false, error);
    }
    await this.#supervisor.stopAll(graceful);
    this.#ledger.release();
    this.#ledger.dispose();
  }
}
