// Which worker gets the next task, how many wait in each worker's pipe behind the running one, the running task's
// deadline, and the answers coming back, in order.
import { kToChild, type TaskAnswerFrame } from '../child/protocol.js';
import { encodeBatch } from '../codec/task-args.js';
import { TaskTimeout } from '../errors.js';
import { encodeBare } from '../transport/frame.js';
import type { ResolvedPoolOptions } from './options.js';
import { describeWorker } from './crash-report.js';
import { decodeAnswer } from './decode.js';
import type { Ledger } from './settlement.js';
import type { Supervisor } from './supervisor.js';
import type { Task } from './task.js';
import type { TaskQueue } from './task-queue.js';
import type { WorkerSlot } from './worker-slot.js';

/** Pipelining: how many tasks may wait in a worker's pipe behind the running one. */
const kMaxWindow = 64;
/** The window aims to keep this much work (ms) queued at each worker: enough to hide the round trip, little enough to balance. */
const kWindowTargetMs = 1;

export class Dispatcher {
  readonly #options: ResolvedPoolOptions;
  readonly #queue: TaskQueue;
  readonly #ledger: Ledger;
  readonly #supervisor: () => Supervisor;
  /** Starts at 1 (nothing known of task length); grows as short tasks are seen. */
  #window = 1;
  #serviceMs = kWindowTargetMs;
  #scheduled = false;

  readonly #now: () => number;

  /** `now` times task service for the window; tests pass a clock of their own so pipelining does not hang on load. */
  constructor(
    options: ResolvedPoolOptions, queue: TaskQueue, ledger: Ledger, supervisor: () => Supervisor,
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
    this.#options = options;
    this.#queue = queue;
    this.#ledger = ledger;
    this.#supervisor = supervisor;
  }

  /** How many tasks may wait in a worker's pipe now: 1 for tasks of a millisecond or more, more for shorter ones. */
  get window(): number { return this.#window; }

  /** Dispatches once at the end of this turn, however many tasks arrive in it. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#dispatch();
    });
  }

  /** Sends what the slot has queued: tasks in one serialized batch per run, frames as they are. */
  flush(slot: WorkerSlot): void {
    if (slot.outbox.length === 0) return;
    const out = slot.outbox;
    slot.outbox = [];
    const frames: Buffer[] = [];
    const fail = (task: Task, error: Error): void => this.#ledger.settle(task, false, error);
    let batch: Task[] = [];
    for (const item of out) {
      if (Buffer.isBuffer(item)) {
        if (batch.length > 0) frames.push(...encodeBatch(batch, this.#options.maxMessageBytes, fail));
        batch = [];
        frames.push(item);
      } else {
        batch.push(item);
      }
    }
    if (batch.length > 0) frames.push(...encodeBatch(batch, this.#options.maxMessageBytes, fail));
    slot.host.send(frames);
  }

  /** The worker answered the task at the head of its pipeline. */
  answer(slot: WorkerSlot, frame: TaskAnswerFrame): void {
    const task = slot.inflight.peek();
    if (task === undefined || task.id !== frame.id) {
      // The task stays owed: the worker's exit settles it like any crash.
      process.emitWarning(`procsafe: ${slot.host.label} answered task ${frame.id} out of order and was stopped`);
      slot.host.kill();
      return;
    }
    slot.inflight.shift();
    clearTimeout(slot.headTimer);
    const now = this.#now();
    // Service time of the task that just ended, smoothed: sets how deep worker pipelines run.
    this.#serviceMs += ((now - slot.headSince) - this.#serviceMs) * 0.1;
    this.#window = Math.max(1, Math.min(kMaxWindow, Math.floor(kWindowTargetMs / Math.max(this.#serviceMs, 1e-3))));
    if (slot.inflight.length > 0) this.#startHead(slot);
    task.slot = undefined;
    if (task.state !== 'settled') {
      const { ok, value } = decodeAnswer(task, frame);
      this.#ledger.settle(task, ok, value);
    }
    if (slot.inflight.length === 0) {
      if (slot.state === 'retiring') this.#supervisor().stop(slot);
      else if (slot.state === 'ready') this.#supervisor().idle(slot);
    }
    this.schedule();
  }

  #dispatch(): void {
    const supervisor = this.#supervisor();
    if (this.#queue.size === 0 || supervisor.mode === 'stopping') return;
    const ready: WorkerSlot[] = [];
    for (const slot of supervisor.slots) if (slot.state === 'ready' && !slot.gone) ready.push(slot);
    if (ready.length === 0) {
      supervisor.noWorkerReady();
      return;
    }
    const max = this.#options.maxTasksPerWorker;
    const touched = new Set<WorkerSlot>();
    while (this.#queue.size > 0) {
      // The least loaded worker that has room: idle workers first, then fill pipelines evenly.
      let best: WorkerSlot | undefined;
      for (const slot of ready) {
        if (slot.state !== 'ready' || slot.inflight.length >= this.#window) continue;
        if (best === undefined || slot.inflight.length < best.inflight.length) best = slot;
      }
      if (best === undefined) break;
      const task = this.#queue.next();
      if (task === undefined) break;
      if (task.onProgress !== undefined) best.queueRaw(encodeBare(kToChild.Listen, task.id));
      best.queue(task);
      touched.add(best);
      if (best.inflight.length === 1) this.#startHead(best);
      if (best.sent >= max) supervisor.retire(best);
    }
    for (const slot of touched) this.flush(slot);
    // Tasks still wait, or wait behind others in a pipeline: more workers, if the pool may have them.
    let waiting = this.#queue.size > 0;
    for (const slot of ready) if (slot.inflight.length > 1) waiting = true;
    if (waiting) supervisor.grow();
  }

  #startHead(slot: WorkerSlot): void {
    slot.headSince = this.#now();
    const head = slot.inflight.peek();
    const limit = this.#options.taskTimeoutMs;
    if (limit === undefined || head === undefined || head.state === 'settled') return;
    slot.headTimer = setTimeout(() => {
      if (slot.inflight.peek() !== head || head.state === 'settled') return;
      this.#ledger.settle(head, false, new TaskTimeout(
        `task ${head.id} ("${head.fn}") ran longer than taskTimeoutMs (${limit} ms) on ${describeWorker(slot)}; ` +
        'the worker was stopped and replaced. Raise taskTimeoutMs if the task needs longer.'));
      this.#supervisor().killFor(slot, head);
    }, limit);
    slot.headTimer.unref();
  }
}
