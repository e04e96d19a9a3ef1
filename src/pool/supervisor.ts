// The workers' lives: starting, backing off while they fail to boot, control messages, recycling, replacing the
// dead, stopping them all at shutdown. Which task pays for a death is attribution.ts's call.
import {
  decodeBootError, decodeErrorInfo, decodeReady, type InitMessage, initFrameFor, isControl, isTaskAnswer, kFromChild,
  kToChild, type TaskAnswerFrame,
} from '../child/protocol.js';
import { assertCopyable } from '../codec/v8.js';
import { toRemoteError } from '../codec/remote-error.js';
import { encodeFrame } from '../codec/value-frame.js';
import { PoolClosed, WorkerCrashed } from '../errors.js';
import { asParent } from '../internal/parent-record.js';
import { unreachable } from '../internal/unreachable.js';
import { encodeBare, parseFrame } from '../transport/frame.js';
import type { HostEvents, HostExit, HostOptions, WorkerHost } from './host.js';
import { ProcessHost } from './host-process.js';
import { ThreadHost } from './host-thread.js';
import type { ResolvedPoolOptions } from './options.js';
import { attributeExit } from './attribution.js';
import { describeExit, describeWorker } from './crash-report.js';
import { deliverProgress } from './decode.js';
import type { Ledger } from './settlement.js';
import type { WorkerInfo } from './stats.js';
import type { Task } from './task.js';
import type { TaskQueue } from './task-queue.js';
import { WorkerSlot } from './worker-slot.js';
import type { PassThrough } from 'node:stream';

const kBootBackoffMs = 100;
const kBootBackoffMaxMs = 10_000;
/** Workers that die while starting, with no word of why, before waiting work is failed. */
const kMaxQuietBootFailures = 3;
const kStopGraceMs = 2_000;

/** Starts one worker; tests give a fake one, the pool a child process or a thread. */
export type HostFactory = (isolation: 'process' | 'thread', options: HostOptions, events: HostEvents) => WorkerHost;

export const defaultHostFactory: HostFactory = (isolation, options, events) =>
  (isolation === 'thread' ? new ThreadHost(options, events) : new ProcessHost(options, events));

/** What the supervisor needs of the dispatcher. */
export interface SupervisorHooks {
  /** A worker answered the task at the head of its pipeline. */
  answer(slot: WorkerSlot, frame: TaskAnswerFrame): void;
  /** Workers or tasks changed: dispatch again soon. */
  changed(): void;
  /** Sends what the slot has queued. */
  flush(slot: WorkerSlot): void;
}

export type EngineMode = 'open' | 'draining' | 'stopping';

export class Supervisor {
  readonly #options: ResolvedPoolOptions;
  readonly #sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined };
  readonly #ledger: Ledger;
  readonly #queue: TaskQueue;
  readonly #hooks: SupervisorHooks;
  readonly #hostFactory: HostFactory;
  readonly #initFrame: Buffer[];
  readonly #slots = new Set<WorkerSlot>();
  #nextWorkerId = 1;
  /** Workers that exited unasked for (crash, timeout, recycling) and were not started again yet: restarts owed. */
  #owed = 0;
  #ensureScheduled = false;
  #bootFailures = 0;
  #bootError: Error | undefined;
  #bootRetryAt = 0;
  #bootTimer: NodeJS.Timeout | undefined;
  /** What the first worker to be ready said of the module (see moduleExports); `pending` until then. */
  #exports: {
    readonly promise: Promise<readonly string[]>; pending: boolean; settle(outcome: readonly string[] | Error): void;
  } | undefined;
  mode: EngineMode = 'open';

  constructor(options: ResolvedPoolOptions, sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined },
    ledger: Ledger, queue: TaskQueue, hooks: SupervisorHooks, hostFactory: HostFactory) {
    this.#options = options;
    this.#sinks = sinks;
    this.#ledger = ledger;
    this.#queue = queue;
    this.#hooks = hooks;
    this.#hostFactory = hostFactory;
    const init: InitMessage = {
      module: options.module, initializer: options.initializer, initArgs: options.initArgs, workerId: 0, name: options.name,
      maxMessageBytes: options.maxMessageBytes, parent: asParent(),
    };
    assertCopyable(options.initArgs, 'initArgs', 'the initializer arguments');
    this.#initFrame = encodeFrame(kToChild.Init, 0, '', init, 'initArgs', 'the initializer arguments', true);
  }

  get slots(): ReadonlySet<WorkerSlot> { return this.#slots; }

  start(): void {
    for (let i = 0; i < this.#options.minWorkers; i++) this.#spawn();
  }

  workers(): WorkerInfo[] {
    return [...this.#slots].map((slot) => {
      const head = slot.inflight.peek();
      return {
        id: slot.id, pid: slot.pid, state: slot.state, pipelined: Math.max(0, slot.inflight.length - 1),
        task: head === undefined
          ? undefined
          : { id: head.id, fn: head.fn, items: head.chunk ? head.args.length : undefined, since: slot.headSince },
      };
    });
  }

  // The module's exported function names, as the first worker to boot reported them; rejects with the module's own
  // load error. Workers are started if none are.
  moduleExports(): Promise<readonly string[]> {
    if (this.#exports === undefined) {
      // Waiting for a worker's report is waiting on the pool, as a task is: it holds the event loop.
      this.#ledger.hold();
      let settle!: (outcome: readonly string[] | Error) => void;
      const promise = new Promise<readonly string[]>((resolve, reject) => {
        settle = (outcome) => {
          waiter.pending = false;
          this.#ledger.release();
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
      });
      const waiter = { promise, pending: true, settle };
      this.#exports = waiter;
      // Asked after the module failed to load, within the back-off: no worker will start to answer.
      if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) waiter.settle(this.#bootError);
      else this.#ensureWorkers();
    }
    return this.#exports.promise;
  }

  /** No worker can take work: start some, or, while the module keeps failing to load, fail the work. */
  noWorkerReady(): void {
    if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) {
      this.#rejectQueued(this.#bootError);
      return;
    }
    this.#ensureWorkers();
  }

  // Starts replacements on the next turn: spawn() blocks for 10-100 ms, and the WorkerCrashed (or TaskTimeout)
  // just settled should reach its caller first.
  #ensureWorkersSoon(): void {
    if (this.#ensureScheduled) return;
    this.#ensureScheduled = true;
    setImmediate(() => {
      this.#ensureScheduled = false;
      this.#ensureWorkers();
      this.#hooks.changed();
    });
  }

  /** Tasks wait (queued, or pipelined behind a running one): start workers for them, up to `workers`. */
  grow(): void {
    if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) return;
    this.#ensureWorkers();
  }

  #ensureWorkers(): void {
    if (this.mode === 'stopping') return;
    if (this.#bootError !== undefined && Date.now() < this.#bootRetryAt) return;
    // One worker per task owed, within minWorkers..workers. A worker retiring or killed counts until its exit is
    // reported: its replacement never runs beside it.
    let wanted = this.#queue.size + (this.#exports?.pending === true ? 1 : 0);
    for (const slot of this.#slots) wanted += slot.inflight.length;
    const target = Math.min(this.#options.workers, Math.max(this.#options.minWorkers, wanted));
    const spawns = Math.max(0, target - this.#slots.size);
    // Only a start that stands in for a worker lost is a restart; one for demand is growth.
    const restarts = Math.min(spawns, this.#owed);
    this.#ledger.counts.restarts += restarts;
    this.#owed = 0;
    for (let i = 0; i < spawns; i++) this.#spawn();
  }

  /** A ready worker with nothing to do: after idleTimeoutMs, it exits if more than minWorkers would remain. */
  idle(slot: WorkerSlot): void {
    const limit = this.#options.idleTimeoutMs;
    if (limit === undefined || this.#options.minWorkers >= this.#options.workers) return;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (this.mode === 'stopping' || slot.state !== 'ready' || slot.inflight.length > 0) return;
      let serving = 0;
      for (const other of this.#slots) if ((other.state === 'ready' || other.state === 'starting') && !other.stopping) serving++;
      if (serving <= this.#options.minWorkers) return;
      // Retiring first: from now on the dispatcher passes it by, so no task can reach a worker on its way out.
      slot.state = 'retiring';
      slot.idleStopped = true;
      this.stop(slot);
    }, limit);
    slot.idleTimer.unref();
  }

  /** The worker has been sent its last task (maxTasksPerWorker): it exits once that is answered. */
  retire(slot: WorkerSlot): void {
    slot.state = 'retiring';
    if (slot.inflight.length === 0) this.stop(slot);
  }

  // Asks a worker to exit once it has run what it holds, killing it after a grace period. One still starting finishes
  // its start first (the initializer runs, as Python's does in every started worker); its grace counts from ready.
  stop(slot: WorkerSlot): void {
    slot.stopping = true;
    slot.queueRaw(encodeBare(kToChild.Stop, 0));
    this.#hooks.flush(slot);
    if (slot.state !== 'starting') this.#killAfterGrace(slot);
  }

  #killAfterGrace(slot: WorkerSlot): void {
    setTimeout(() => slot.host.kill(), kStopGraceMs).unref();
  }

  /** Stops a worker whose running task was given up on; its exit starts the replacement. */
  killFor(slot: WorkerSlot, task: Task): void {
    slot.killedFor = task;
    slot.state = 'retiring';
    slot.host.kill();
  }

  /** Stops every worker (their tasks are settled by now); with `graceful`, each exits by itself. */
  async stopAll(graceful: boolean): Promise<void> {
    this.mode = 'stopping';
    clearTimeout(this.#bootTimer);
    if (this.#exports?.pending === true) this.#exports.settle(new PoolClosed('the pool was terminated before any worker was ready'));
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      exits.push(slot.exited);
      if (graceful) {
        this.stop(slot);
      } else {
        slot.stopping = true;
        slot.host.kill();
      }
    }
    // Every step's outcome is awaited; a worker that will not die is SIGKILLed above.
    await Promise.all(exits);
  }

  #spawn(): void {
    const slot = new WorkerSlot(this.#nextWorkerId++);
    const events: HostEvents = {
      frame: (body) => this.#onFrame(slot, body),
      protocolError: (error) => {
        slot.bootError ??= error;
        process.emitWarning(`procsafe: ${slot.host.label} broke the wire protocol and was stopped: ${error.message}`);
      },
      exit: (info) => this.#onExit(slot, info),
      // A task sent in the gap before exit() would be dropped with the process, then charged as if it had run there.
      gone: () => { slot.gone = true; },
    };
    const options: HostOptions = {
      workerId: slot.id, name: this.#options.name, execArgv: this.#options.execArgv, env: this.#options.env,
      maxMemoryMb: this.#options.maxMemoryMb, stdout: this.#options.stdout, stderr: this.#options.stderr,
      stdoutSink: this.#sinks.stdout, stderrSink: this.#sinks.stderr, maxMessageBytes: this.#options.maxMessageBytes,
    };
    let host: WorkerHost;
    try {
      host = this.#hostFactory(this.#options.isolation, options, events);
    } catch (error) {
      // Could not even start one (EMFILE, EAGAIN): treat as a failed boot, with back-off.
      this.#nextWorkerId--;
      this.#owed++;
      this.#bootFailed(false, error as Error);
      return;
    }
    slot.host = host;
    this.#slots.add(slot);
    host.send(initFrameFor(this.#initFrame, slot.id));
  }

  #onFrame(slot: WorkerSlot, body: Buffer): void {
    const frame = parseFrame(body);
    if (isTaskAnswer(frame)) {
      this.#hooks.answer(slot, frame);
      return;
    }
    const { type } = frame;
    if (!isControl(type)) {
      slot.bootError ??= new Error(`unknown frame type ${type}`);
      slot.host.kill();
      return;
    }
    switch (type) {
      case kFromChild.Ready:
        if (slot.stopping) this.#killAfterGrace(slot);
        slot.state = slot.stopping ? 'retiring' : 'ready';
        this.#bootFailures = 0;
        this.#bootError = undefined;
        if (this.#exports?.pending === true) this.#exports.settle(decodeReady(frame).exports);
        if (slot.state === 'ready') this.idle(slot);
        this.#hooks.changed();
        return;
      case kFromChild.BootError: {
        const boot = decodeBootError(frame);
        slot.bootError = boot.phase === 'import'
          ? toRemoteError(boot.error, `worker module ${this.#options.module} failed to load: `)
          : toRemoteError(boot.error, `initializer "${this.#options.initializer}" failed in ${describeWorker(slot)}: `);
        return;
      }
      case kFromChild.Fatal:
        slot.fatal = toRemoteError(decodeErrorInfo(frame));
        return;
      case kFromChild.Progress: case kFromChild.ProgressNumber:
        deliverProgress(slot.inflight.peek(), { ...frame, type });
        return;
      default: unreachable(type, 'frame type');
    }
  }

  #onExit(slot: WorkerSlot, info: HostExit): void {
    const wasStarting = slot.state === 'starting';
    slot.state = 'dead';
    clearTimeout(slot.headTimer);
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    slot.markExited();
    if (this.mode === 'stopping') return;
    if (!slot.idleStopped) this.#owed++;
    if (wasStarting && !slot.stopping) {
      this.#bootFailed(slot.bootError !== undefined, slot.bootError ?? new WorkerCrashed(
        `${describeWorker(slot)} ${describeExit(info)} while starting, before it could run a task` +
        `${slot.fatal ? `: ${slot.fatal.message}` : ''}; check the worker module ${this.#options.module}`,
        {
          workerId: slot.id, pid: slot.pid, exitCode: info.exitCode, signal: info.signal, taskId: undefined, fn: undefined,
          attempts: 0, retries: this.#options.retries,
        },
        { cause: slot.fatal }));
      return;
    }
    if (!slot.stopping && slot.killedFor === undefined) this.#ledger.counts.crashed++;
    this.#queue.requeue(attributeExit(slot, info, this.#options, this.#ledger));
    if (this.#ledger.pending > 0 || this.mode === 'open') this.#ensureWorkersSoon();
    this.#hooks.changed();
  }

  // A worker died before it was ready. If the module or initializer said why, waiting work fails now with that error;
  // one that merely died while starting (killed, spawn refused) is retried, and work fails only after
  // kMaxQuietBootFailures in a row. Either way respawning backs off, so a broken module never burns CPU.
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
    // Try again only if someone is waiting.
    this.#bootTimer = setTimeout(() => {
      if (this.#queue.size > 0 || this.#queue.waiting > 0) this.#ensureWorkers();
    }, delay);
    this.#bootTimer.unref();
  }

  #rejectQueued(error: Error): void {
    for (let task = this.#queue.next(); task !== undefined; task = this.#queue.next()) this.#ledger.settle(task, false, error);
  }
}
