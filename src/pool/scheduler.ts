/**
 * The pool's engine: the queue of tasks, the workers, dispatch, and what
 * happens when a worker dies. Every accepted task is settled exactly once,
 * whatever dies when: that is the invariant each method below keeps.
 */
import { assertCopyable, deserialize } from '../codec/v8.js';
import { toRemoteError } from '../codec/remote-error.js';
import {
  PoolClosed, type RemoteErrorInfo, SerializationError, TaskTimeout, WorkerCrashed,
} from '../errors.js';
import { Fifo } from '../internal/fifo.js';
import { encodeBare, encodeFrame, parseFrame } from '../transport/frame.js';
import {
  type BootErrorMessage, type ChunkEntry, type InitMessage, type ReadyMessage, kBootError, kCancel, kChunkResult, kError, kFatal, kInit,
  kOk, kOkNumber, kOkString, kOkUndefined, kReady, kSkipped, kStop,
} from '../transport/messages.js';
import type { HostEvents, HostExit, HostOptions, WorkerHost } from './host.js';
import { ProcessHost } from './host-process.js';
import { ThreadHost } from './host-thread.js';
import type { ResolvedPoolOptions } from './options.js';
import { encodeBatch } from './batch.js';
import { describeExit, describeWorker, fromWire } from './crash-report.js';
import { nextTaskId, type Outcome, type Task } from './task.js';
import { WorkerSlot } from './worker-slot.js';
import type { WorkerInfo } from '../status/snapshot.js';
import type { PassThrough } from 'node:stream';

/** Pipelining: how many tasks may wait in a worker's pipe behind the running one. */
const kMaxWindow = 64;
/** The window aims to keep this much work (ms) queued at each worker: enough to hide the round trip, little enough to balance. */
const kWindowTargetMs = 1;
const kBootBackoffMs = 100;
const kBootBackoffMaxMs = 10_000;
/** Workers that die while starting, with no word of why, before waiting work is failed. */
const kMaxQuietBootFailures = 3;
const kStopGraceMs = 2_000;

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
  readonly completed: number;
  readonly failed: number;
  /** Workers that died without being asked to. */
  readonly crashed: number;
  /** Task re-runs after a crash (`retries`). */
  readonly retried: number;
  /** Workers started to replace one that died, timed out or was recycled. */
  readonly restarts: number;
}

export class Scheduler {
  readonly #options: ResolvedPoolOptions;
  readonly #slots = new Set<WorkerSlot>();
  readonly #queue = new Fifo<Task>();
  readonly #parked = new Fifo<Task>();
  readonly #initFrame: Buffer[];
  readonly #sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined };
  #queued = 0;
  #pending = 0;
  #nextWorkerId = 1;
  /** Starts at 1 (nothing known of task length); grows as short tasks are seen. */
  #window = 1;
  #serviceMs = kWindowTargetMs;
  #dispatchScheduled = false;
  #ensureScheduled = false;
  readonly #keepAlive = setInterval(() => {}, 2 ** 31 - 1).unref();
  #holds = 0;
  #bootFailures = 0;
  #bootError: Error | undefined;
  #bootRetryAt = 0;
  #bootTimer: NodeJS.Timeout | undefined;
  /** What the first worker to be ready said of the module (see moduleExports); `pending` until then. */
  #exports: { readonly promise: Promise<readonly string[]>; pending: boolean; settle(outcome: readonly string[] | Error): void } | undefined;
  #draining = false;
  #shuttingDown = false;
  #onIdle: (() => void) | undefined;
  #stats = { completed: 0, failed: 0, crashed: 0, retried: 0, restarts: 0 };

  constructor(options: ResolvedPoolOptions, sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined }) {
    this.#options = options;
    this.#sinks = sinks;
    const init: InitMessage = {
      module: options.module, initializer: options.initializer, initArgs: options.initArgs, workerId: 0, name: options.name,
      maxMessageBytes: options.maxMessageBytes,
    };
    assertCopyable(options.initArgs, 'initArgs', 'the initializer arguments');
    this.#initFrame = encodeFrame(kInit, 0, '', init, 'initArgs', 'the initializer arguments', true);
    for (let i = 0; i < options.workers; i++) this.#spawn(false);
  }

  get closed(): boolean { return this.#draining || this.#shuttingDown; }

  stats(): PoolStats {
    let workers = 0;
    let busy = 0;
    for (const slot of this.#slots) {
      workers++;
      if (slot.inflight.length > 0) busy++;
    }
    return { workers, busy, queued: this.#queued, ...this.#stats };
  }

  /**
   * Each worker and the task at its head, for `procsafe status` (status/snapshot.ts).
   * Read by a throttled timer, never on the task path. `since` is performance.now().
   */
  workers(): WorkerInfo[] {
    return [...this.#slots].map((slot) => {
      const head = slot.inflight.peek();
      return {
        id: slot.id, pid: slot.pid, state: slot.state, pipelined: Math.max(0, slot.inflight.length - 1),
        task: head === undefined ? undefined : { id: head.id, fn: head.fn, items: head.chunk ? head.args.length : undefined, since: slot.headSince },
      };
    });
  }

  /** Accepts a task: from here on it will be settled exactly once. */
  submit(task: Task): void {
    if (this.#shuttingDown) {
      task.state = 'settled';
      task.cleanup?.();
      task.done(false, new PoolClosed('the pool is terminated and accepts no new tasks; create a new Pool'));
      return;
    }
    if (this.#pending++ === 0) this.#hold();
    if (this.#queued >= this.#options.maxQueue) {
      this.#parked.push(task);
    } else {
      this.#queue.push(task);
      this.#queued++;
    }
    this.#scheduleDispatch();
  }

  /** The caller gave up on a task (abort, deadline): drop it if waiting, stop its worker if running. */
  cancel(task: Task, error: Error): void {
    if (task.state === 'settled') {
      // A chunk split after a crash: the cancel reaches its items.
      for (const part of task.parts ?? []) this.cancel(part, error);
      return;
    }
    if (task.state === 'queued') {
      // Left in the queue and skipped when reached; cheaper than searching.
      if (this.#isParked(task)) this.#removeParked(task);
      else this.#queued--;
      this.#settle(task, false, error);
      this.#scheduleDispatch();
      return;
    }
    const slot = task.slot as WorkerSlot;
    this.#settle(task, false, error);
    if (slot.inflight.peek() === task) {
      this.#killFor(slot, task);
    } else {
      slot.queueRaw(encodeBare(kCancel, task.id));
      this.#flush(slot);
    }
  }

  /** Resolves once every accepted task is settled; then workers are stopped. */
  async drain(): Promise<void> {
    this.#draining = true;
    if (this.#pending > 0) await new Promise<void>((resolve) => { this.#onIdle = resolve; });
  }

  /** Stops every worker; with `graceful`, lets each finish (it has nothing left) and exit by itself. */
  async shutdown(graceful: boolean): Promise<void> {
    this.#shuttingDown = true;
    this.#hold();
    clearTimeout(this.#bootTimer);
    const error = new PoolClosed('the pool was terminated before this task finished; nothing more will run');
    for (const task of [...this.#queue.clear(), ...this.#parked.clear()]) if (task.state !== 'settled') this.#settle(task, false, error);
    this.#queued = 0;
    if (this.#exports?.pending === true) this.#exports.settle(new PoolClosed('the pool was terminated before any worker was ready'));
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      for (const task of slot.inflight) if (task.state !== 'settled') this.#settle(task, false, error);
      exits.push(slot.exited);
      slot.stopping = true;
      if (graceful && slot.state !== 'starting') {
        slot.queueRaw(encodeBare(kStop, 0));
        this.#flush(slot);
        setTimeout(() => slot.host.kill(), kStopGraceMs).unref();
      } else {
        slot.host.kill();
      }
    }
    // Every step's outcome is awaited; a worker that will not die is SIGKILLed above.
    await Promise.all(exits);
    this.#release();
    clearInterval(this.#keepAlive);
  }

  // ---- dispatch ---------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    this.#unpark();
    if (this.#queued === 0 || this.#shuttingDown) return;
    const ready: WorkerSlot[] = [];
    for (const slot of this.#slots) if (slot.state === 'ready') ready.push(slot);
    if (ready.length === 0) {
      this.#noWorkerReady();
      return;
    }
    const max = this.#options.maxTasksPerWorker;
    const touched = new Set<WorkerSlot>();
    while (this.#queued > 0) {
      // The least loaded worker that has room: idle workers first, then fill pipelines evenly.
      let best: WorkerSlot | undefined;
      for (const slot of ready) {
        if (slot.state !== 'ready' || slot.inflight.length >= this.#window) continue;
        if (best === undefined || slot.inflight.length < best.inflight.length) best = slot;
      }
      if (best === undefined) break;
      const task = this.#nextQueued();
      if (task === undefined) break;
      best.queue(task);
      touched.add(best);
      if (best.inflight.length === 1) this.#startHead(best);
      if (best.sent >= max) this.#retire(best);
    }
    for (const slot of touched) this.#flush(slot);
    this.#unpark();
  }

  #nextQueued(): Task | undefined {
    for (let task = this.#queue.shift(); task !== undefined; task = this.#queue.shift()) {
      if (task.state === 'queued') {
        this.#queued--;
        return task;
      }
    }
    return undefined;
  }

  /** Moves tasks waiting for queue room (maxQueue) into the queue. */
  #unpark(): void {
    while (this.#parked.length > 0 && this.#queued < this.#options.maxQueue) {
      const task = this.#parked.shift() as Task;
      if (task.state !== 'queued') continue;
      this.#queue.push(task);
      this.#queued++;
    }
  }

  #isParked(task: Task): boolean {
    for (const parked of this.#parked) if (parked === task) return true;
    return false;
  }

  #removeParked(task: Task): void {
    const rest = this.#parked.clear().filter((t) => t !== task);
    for (const t of rest) this.#parked.push(t);
  }

  /**
   * The names of the worker module's exported functions, as the first worker to
   * boot reported them (every worker sends them when ready); rejects with the
   * module's own load error. Workers are started if none are.
   */
  moduleExports(): Promise<readonly string[]> {
    if (this.#exports === undefined) {
      // Waiting for a worker's report is waiting on the pool, as a task is: it holds the event loop.
      this.#hold();
      let settle!: (outcome: readonly string[] | Error) => void;
      const promise = new Promise<readonly string[]>((resolve, reject) => {
        settle = (outcome) => {
          waiter.pending = false;
          this.#release();
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
      });
      const waiter = { promise, pending: true, settle };
      this.#exports = waiter;
      this.#ensureWorkers();
    }
    return this.#exports.promise;
  }

  /** No worker can take work: start some, or, while the module keeps failing to load, fail the work. */
  #noWorkerReady(): void {
    if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) {
      this.#rejectQueued(this.#bootError);
      return;
    }
    this.#ensureWorkers();
  }

  /**
   * Starts replacements on the next turn: spawn() blocks for 10-100 ms, and the
   * WorkerCrashed (or TaskTimeout) just settled should reach its caller first.
   */
  #ensureWorkersSoon(): void {
    if (this.#ensureScheduled) return;
    this.#ensureScheduled = true;
    setImmediate(() => {
      this.#ensureScheduled = false;
      this.#ensureWorkers();
      this.#scheduleDispatch();
    });
  }

  #ensureWorkers(): void {
    if (this.#shuttingDown) return;
    if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) return;
    let live = 0;
    for (const slot of this.#slots) if (slot.state === 'starting' || slot.state === 'ready') live++;
    while (live < this.#options.workers) {
      this.#spawn(true);
      live++;
    }
  }

  #rejectQueued(error: Error): void {
    for (let task = this.#nextQueued(); task !== undefined; task = this.#nextQueued()) this.#settle(task, false, error);
    this.#unpark();
    if (this.#queued > 0) this.#rejectQueued(error);
  }

  // ---- workers ----------------------------------------------------------

  #spawn(replacement: boolean): void {
    const slot = new WorkerSlot(this.#nextWorkerId++);
    if (replacement) this.#stats.restarts++;
    const events: HostEvents = {
      frame: (body) => this.#onFrame(slot, body),
      protocolError: (error) => {
        slot.bootError ??= error;
        process.emitWarning(`procsafe: ${slot.host.label} broke the wire protocol and was stopped: ${error.message}`);
      },
      exit: (info) => this.#onExit(slot, info),
    };
    const options: HostOptions = {
      workerId: slot.id, name: this.#options.name, execArgv: this.#options.execArgv, env: this.#options.env,
      maxMemoryMb: this.#options.maxMemoryMb, stdout: this.#options.stdout, stderr: this.#options.stderr,
      stdoutSink: this.#sinks.stdout, stderrSink: this.#sinks.stderr, maxMessageBytes: this.#options.maxMessageBytes,
    };
    let host: WorkerHost;
    try {
      host = this.#options.isolation === 'thread' ? new ThreadHost(options, events) : new ProcessHost(options, events);
    } catch (error) {
      // Could not even start one (EMFILE, EAGAIN): treat as a failed boot, with back-off.
      this.#nextWorkerId--;
      this.#bootFailed(false, error as Error);
      return;
    }
    slot.host = host;
    this.#slots.add(slot);
    host.send(this.#initFrame);
  }

  /** Sends what the slot has queued: tasks in one serialized batch per run, frames as they are. */
  #flush(slot: WorkerSlot): void {
    if (slot.outbox.length === 0) return;
    const out = slot.outbox;
    slot.outbox = [];
    const frames: Buffer[] = [];
    let batch: Task[] = [];
    for (const item of out) {
      if (Buffer.isBuffer(item)) {
        if (batch.length > 0) frames.push(...encodeBatch(batch, this.#options.maxMessageBytes, (task, error) => this.#settle(task, false, error)));
        batch = [];
        frames.push(item);
      } else {
        batch.push(item);
      }
    }
    if (batch.length > 0) frames.push(...encodeBatch(batch, this.#options.maxMessageBytes, (task, error) => this.#settle(task, false, error)));
    slot.host.send(frames);
  }

  #retire(slot: WorkerSlot): void {
    slot.state = 'retiring';
    this.#ensureWorkers();
    if (slot.inflight.length === 0) this.#stopSlot(slot);
  }

  #stopSlot(slot: WorkerSlot): void {
    slot.stopping = true;
    slot.queueRaw(encodeBare(kStop, 0));
    this.#flush(slot);
    setTimeout(() => slot.host.kill(), kStopGraceMs).unref();
  }

  #startHead(slot: WorkerSlot): void {
    slot.headSince = performance.now();
    const head = slot.inflight.peek();
    const limit = this.#options.taskTimeoutMs;
    if (limit === undefined || head === undefined || head.state === 'settled') return;
    slot.headTimer = setTimeout(() => {
      if (slot.inflight.peek() !== head || head.state === 'settled') return;
      this.#settle(head, false, new TaskTimeout(
        `task ${head.id} ("${head.fn}") ran longer than taskTimeoutMs (${limit} ms) on ${describeWorker(slot)}; ` +
        'the worker was stopped and replaced. Raise taskTimeoutMs if the task needs longer.'));
      this.#killFor(slot, head);
    }, limit);
    slot.headTimer.unref();
  }

  /** Stops a worker whose running task was given up on, and starts its replacement now, not at its exit. */
  #killFor(slot: WorkerSlot, task: Task): void {
    slot.killedFor = task;
    slot.state = 'retiring';
    slot.host.kill();
    this.#ensureWorkersSoon();
  }

  #onFrame(slot: WorkerSlot, body: Buffer): void {
    const frame = parseFrame(body);
    switch (frame.type) {
      case kOk: case kOkNumber: case kOkString: case kOkUndefined: case kError: case kChunkResult: case kSkipped: {
        const task = slot.inflight.peek();
        if (task === undefined || task.id !== frame.id) {
          // The task stays owed: the worker's exit settles it like any crash.
          process.emitWarning(`procsafe: ${slot.host.label} answered task ${frame.id} out of order and was stopped`);
          slot.host.kill();
          return;
        }
        slot.inflight.shift();
        clearTimeout(slot.headTimer);
        const now = performance.now();
        // Service time of the task that just ended, smoothed: sets how deep worker pipelines run.
        this.#serviceMs += ((now - slot.headSince) - this.#serviceMs) * 0.1;
        this.#window = Math.max(1, Math.min(kMaxWindow, Math.floor(kWindowTargetMs / Math.max(this.#serviceMs, 1e-3))));
        if (slot.inflight.length > 0) this.#startHead(slot);
        task.slot = undefined;
        if (task.state !== 'settled') this.#answer(task, frame.type, frame.payload);
        if (slot.state === 'retiring' && slot.inflight.length === 0) this.#stopSlot(slot);
        this.#scheduleDispatch();
        return;
      }
      case kReady:
        slot.state = 'ready';
        this.#bootFailures = 0;
        this.#bootError = undefined;
        if (this.#exports?.pending === true) this.#exports.settle((deserialize(frame.payload) as ReadyMessage).exports);
        this.#scheduleDispatch();
        return;
      case kBootError: {
        const boot = deserialize(frame.payload) as BootErrorMessage;
        slot.bootError = boot.phase === 'import'
          ? toRemoteError(boot.error, `worker module ${this.#options.module} failed to load: `)
          : toRemoteError(boot.error, `initializer "${this.#options.initializer}" failed in ${describeWorker(slot)}: `);
        return;
      }
      case kFatal:
        slot.fatal = toRemoteError(deserialize(frame.payload) as RemoteErrorInfo);
        return;
      default:
        slot.bootError ??= new Error(`unknown frame type ${frame.type}`);
        slot.host.kill();
    }
  }

  #answer(task: Task, type: number, payload: Buffer): void {
    try {
      this.#decodeAnswer(task, type, payload);
    } catch (error) {
      // A garbled answer fails its own task, never the pool.
      this.#settle(task, false, new SerializationError(
        `the answer to task ${task.id} ("${task.fn}") could not be decoded: ${(error as Error).message}`, 'result', { cause: error }));
    }
  }

  #decodeAnswer(task: Task, type: number, payload: Buffer): void {
    if (type === kOkNumber) {
      this.#settle(task, true, payload.readDoubleLE(0));
    } else if (type === kOkString) {
      this.#settle(task, true, payload.toString('utf8'));
    } else if (type === kOkUndefined) {
      this.#settle(task, true, undefined);
    } else if (type === kOk) {
      this.#settle(task, true, deserialize(payload));
    } else if (type === kError) {
      this.#settle(task, false, fromWire(deserialize(payload) as RemoteErrorInfo));
    } else if (type === kChunkResult) {
      const entries = deserialize(payload) as ChunkEntry[];
      const outcomes: Outcome[] = entries.map((entry) => (entry[0] ? { ok: true, value: entry[1] } : { ok: false, error: fromWire(entry[1]) }));
      this.#settle(task, true, outcomes);
    } else {
      // kSkipped answers a task that was already settled; reaching here would mean it was not.
      this.#settle(task, false, new Error(`task ${task.id} was skipped by its worker`));
    }
  }

  #onExit(slot: WorkerSlot, info: HostExit): void {
    const wasStarting = slot.state === 'starting';
    slot.exit = info;
    slot.state = 'dead';
    clearTimeout(slot.headTimer);
    this.#slots.delete(slot);
    slot.markExited();
    if (this.#shuttingDown) return;
    if (wasStarting && !slot.stopping) {
      this.#bootFailed(slot.bootError !== undefined, slot.bootError ?? new WorkerCrashed(
        `${describeWorker(slot)} ${describeExit(info)} while starting, before it could run a task` +
        `${slot.fatal ? `: ${slot.fatal.message}` : ''}; check the worker module ${this.#options.module}`,
        { workerId: slot.id, pid: slot.pid, exitCode: info.exitCode, signal: info.signal, taskId: undefined, fn: undefined, attempts: 0, retries: this.#options.retries },
        { cause: slot.fatal }));
      return;
    }
    const tasks = slot.inflight.clear();
    // The running task is the oldest unanswered one, unless the host knows better (a thread marks
    // each start in shared memory): then the ones before it finished but their answers were lost.
    let running = 0;
    if (info.runningTaskId !== undefined) {
      running = tasks.findIndex((task) => task.id === info.runningTaskId);
      if (running === -1) running = tasks.length;
    }
    const requeue: Task[] = [];
    if (!slot.stopping && slot.killedFor === undefined) this.#stats.crashed++;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i] as Task;
      if (task.state !== 'sent') continue;
      // Everything but the running task goes back first in line, no attempt charged. When the
      // pool killed the worker itself (timeout, abort), nothing still owed is to blame: the
      // task it gave up on may have been answered a moment before, its answer unread.
      if (i === running && slot.killedFor === undefined) this.#crashed(slot, task, info, requeue);
      else requeue.push(task);
    }
    for (let i = requeue.length - 1; i >= 0; i--) {
      const task = requeue[i] as Task;
      task.state = 'queued';
      task.slot = undefined;
      this.#queue.unshift(task);
      this.#queued++;
    }
    if (this.#pending > 0 || !this.#draining) this.#ensureWorkersSoon();
    this.#scheduleDispatch();
  }

  /** The running task took its worker down: retry it, narrow a chunk down, or report the crash. */
  #crashed(slot: WorkerSlot, head: Task, info: HostExit, requeue: Task[]): void {
    if (head.chunk) {
      // Which item of the chunk killed it is unknown: re-run the items one by one, uncharged.
      requeue.push(...this.#split(head));
      return;
    }
    head.attempts++;
    if (head.attempts <= this.#options.retries) {
      this.#stats.retried++;
      requeue.push(head);
      return;
    }
    const retries = this.#options.retries;
    const left = Math.max(0, retries - (head.attempts - 1));
    let why = '';
    if (info.outOfMemory) {
      why = ` (out of memory: its heap passed ${this.#options.maxMemoryMb === undefined ? "V8's default limit" : `maxMemoryMb = ${this.#options.maxMemoryMb}`})`;
    } else if (slot.fatal !== undefined) {
      why = ` after an uncaught ${slot.fatal instanceof Error ? (slot.fatal as { remoteName?: string }).remoteName ?? 'error' : 'error'}: ${slot.fatal.message}`;
    } else if (info.error !== undefined) {
      why = ` after ${info.error.name}: ${info.error.message}`;
    }
    this.#settle(head, false, new WorkerCrashed(
      `${describeWorker(slot)} ${describeExit(info)} while running task ${head.id} ("${head.fn}")${why}; ` +
      `${left} of ${retries} retries left`,
      { workerId: slot.id, pid: slot.pid, exitCode: info.exitCode, signal: info.signal, taskId: head.id, fn: head.fn, attempts: head.attempts, retries },
      { cause: slot.fatal ?? info.error }));
  }

  /** Turns a chunk into one task per item; the chunk settles when they all have. */
  #split(chunk: Task): Task[] {
    const items = chunk.args;
    const outcomes: Outcome[] = new Array(items.length);
    let left = items.length;
    chunk.state = 'settled';
    this.#pending--;
    const parts = items.map((item, i) => {
      const id = nextTaskId();
      const task: Task = {
        id, fn: chunk.fn, args: [item], chunk: false, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined,
        done: (ok, value) => {
          outcomes[i] = ok ? { ok: true, value } : { ok: false, error: value as Error };
          if (--left === 0) {
            chunk.cleanup?.();
            chunk.done(true, outcomes);
          }
        },
      };
      this.#pending++;
      return task;
    });
    chunk.parts = parts;
    return parts;
  }

  /**
   * A worker died before it was ready. If the module or initializer said why, waiting
   * work fails now with that error; a worker that merely died while starting (killed,
   * spawn refused) is retried, and work fails only after kMaxQuietBootFailures in a row.
   * Either way respawning backs off, so a broken module never burns CPU.
   */
  #bootFailed(reported: boolean, error: Error): void {
    this.#bootFailures++;
    const delay = Math.min(kBootBackoffMaxMs, kBootBackoffMs * 2 ** (this.#bootFailures - 1));
    let ready = false;
    for (const slot of this.#slots) if (slot.state === 'ready') ready = true;
    if (reported || this.#bootFailures >= kMaxQuietBootFailures) {
      this.#bootError = error;
      if (this.#exports?.pending === true) this.#exports.settle(error);
      this.#bootRetryAt = Date.now() + delay;
      if (!ready) this.#rejectQueued(error);
    }
    clearTimeout(this.#bootTimer);
    // Back off, then try again only if someone is waiting: a broken module must not burn CPU respawning.
    this.#bootTimer = setTimeout(() => {
      if (this.#queued > 0 || this.#parked.length > 0) this.#ensureWorkers();
    }, delay);
    this.#bootTimer.unref();
  }

  // ---- settlement -------------------------------------------------------

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.state === 'settled') return;
    task.state = 'settled';
    task.cleanup?.();
    if (ok) this.#stats.completed++;
    else this.#stats.failed++;
    task.done(ok, value);
    if (--this.#pending === 0) {
      this.#release();
      const idle = this.#onIdle;
      this.#onIdle = undefined;
      idle?.();
    }
  }

  /**
   * The timer holds the event loop open while the pool owes someone an answer;
   * children never do. ref()/unref() of one timer, as a task comes and goes, costs
   * less than creating one per task.
   */
  #hold(): void {
    if (this.#holds++ === 0) this.#keepAlive.ref();
  }

  #release(): void {
    if (--this.#holds === 0) this.#keepAlive.unref();
  }
}
