// The child side of a pool worker, process or thread: runs tasks one at a time in arrival order and writes each result
// durably before the next starts. That ordering lets the parent know, when a worker dies, exactly which task was running
// (the oldest unanswered) and which never started. A Run message instead makes the child a Process (process-runner.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import { describeError } from '../codec/remote-error.js';
import { encodeProgress, encodeResult, fitting } from '../codec/results.js';
import { decodeBatch, type IncomingTask } from '../codec/task-args.js';
import { findUncopyable } from '../codec/v8.js';
import { encodeFrame } from '../codec/value-frame.js';
import { SerializationError } from '../errors.js';
import { Fifo } from '../internal/fifo.js';
import { setIdentity } from '../internal/identity.js';
import { unreachable } from '../internal/unreachable.js';
import { encodeBare, type Frame, FrameDecoder, parseFrame } from '../transport/frame.js';
import {
  type BootErrorMessage, type ChunkEntry, decodeInit, decodeRun, encodeBootError, encodeErrorInfo, encodeReady,
  type InitMessage, isToChild, kFromChild, kToChild,
} from './protocol.js';
import { loadWorkerModule, lookupFunction, type WorkerModule } from './loader.js';
import type { ChildPort } from './port.js';
import { setProgressSink } from './progress.js';
import { runProcess } from './process-runner.js';

export type { ChildPort } from './port.js';

const kMaxChildFrameBytes = 2 ** 32 - 1;

/** A task as the child holds it until its turn. */
type Entry = IncomingTask;

/** A listened-to task while its function runs: `live` ends when it settles, and a report made later goes nowhere. */
interface Listened {
  readonly id: number;
  live: boolean;
}

export class WorkerRuntime {
  readonly #port: ChildPort;
  readonly #decoder = new FrameDecoder(kMaxChildFrameBytes);
  #maxMessageBytes = kMaxChildFrameBytes;
  readonly #queue = new Fifo<Entry>();
  readonly #cancelled = new Set<number>();
  #module: WorkerModule | undefined;
  #moduleUrl = '';
  #busy = false;
  #stopping = false;
  /** An exit is under way (waiting for output to flush): run nothing more. */
  #exiting = false;
  /** Ids of tasks whose caller has an onProgress (Listen frames), until they run. */
  readonly #listening = new Set<number>();
  // The async context, not "the task running now", tells whose report it is: a timer or promise a finished task left
  // behind must not report into the next one. Entered only for listened-to tasks, so other tasks pay nothing for it.
  readonly #listened = new AsyncLocalStorage<Listened>();

  constructor(port: ChildPort) {
    this.#port = port;
    const onFatal = (error: unknown): void => this.#fatal(error);
    process.on('uncaughtException', onFatal);
    // process.exit() inside a task: what was answered still reaches the parent.
    process.on('exit', () => this.#port.flush?.());
    setProgressSink((value) => this.#report(value));
  }

  // Sent at once, not batched: a report is worth something only while the task still runs, and it stays delivered
  // whatever happens to the worker next. Being on the answers' channel, it always arrives before its task's answer.
  #report(value: unknown): void {
    const task = this.#listened.getStore();
    if (task === undefined || !task.live) return;
    this.#port.send(encodeProgress(task.id, value, this.#maxMessageBytes));
    this.#port.flush?.();
  }

  receive(chunk: Buffer): void {
    this.#decoder.push(chunk, (body) => this.#onFrame(parseFrame(body)));
    this.#pump();
  }

  #onFrame(frame: Frame): void {
    const { type } = frame;
    // The parent is this same build: a kind it does not know is not sent, and would be ignored.
    if (!isToChild(type)) return;
    switch (type) {
      case kToChild.Batch: case kToChild.BatchSimple:
        decodeBatch(type, frame.payload, (task) => this.#queue.push(task));
        break;
      case kToChild.Cancel: {
        // Only a waiting task can be dropped; one that ran (its answer crossed the cancel) is done with, and
        // remembering its id would only leak it.
        for (const entry of this.#queue) {
          if (entry.id === frame.id) {
            this.#cancelled.add(frame.id);
            break;
          }
        }
        break;
      }
      case kToChild.Stop: this.#stopping = true; break;
      case kToChild.Listen: this.#listening.add(frame.id); break;
      case kToChild.Init: void this.#init(decodeInit(frame)); break;
      case kToChild.Run: void runProcess(this.#port, decodeRun(frame)); break;
      default: unreachable(type, 'frame type');
    }
  }

  async #init(message: InitMessage): Promise<void> {
    // Before the import: the module's top level may ask currentProcess(). Pool workers are daemonic, as Python's.
    setIdentity({ name: `${message.name}-${message.workerId}`, daemon: true, parent: message.parent });
    this.#busy = true;
    this.#moduleUrl = message.module;
    this.#maxMessageBytes = message.maxMessageBytes;
    let phase: BootErrorMessage['phase'] = 'import';
    try {
      this.#module = await loadWorkerModule(message.module);
      if (message.initializer !== undefined) {
        phase = 'initializer';
        await lookupFunction(this.#module, message.module, message.initializer)(...message.initArgs);
      }
    } catch (error) {
      this.#port.send(encodeBootError(phase, describeError(error)));
      this.#port.flush?.();
      this.#exiting = true;
      this.#port.exit(1);
      return;
    }
    const exports = Object.keys(this.#module).filter((key) => typeof this.#module?.[key] === 'function');
    this.#port.send(encodeReady(exports));
    this.#port.flush?.();
    this.#port.ready?.();
    this.#busy = false;
    this.#pump();
  }

  /** Runs queued tasks until one goes async; that one calls #pump again when it settles. */
  #pump(): void {
    while (!this.#busy && this.#module !== undefined && !this.#exiting) {
      const entry = this.#queue.shift();
      if (entry === undefined) break;
      const listened = this.#listening.delete(entry.id);
      if (this.#cancelled.delete(entry.id) || entry.fn === '') {
        this.#port.send(encodeBare(kFromChild.Skipped, entry.id));
        continue;
      }
      this.#port.started?.(entry.id);
      if (entry.chunk) this.#runChunk(entry);
      else this.#runTask(entry, listened ? { id: entry.id, live: true } : undefined);
    }
    this.#port.flush?.();
    if (this.#stopping && !this.#busy && this.#queue.length === 0 && !this.#exiting) {
      this.#exiting = true;
      this.#port.exit(0);
    }
  }

  #runTask(frame: Entry, listened: Listened | undefined): void {
    let result: unknown;
    try {
      const fn = lookupFunction(this.#module as WorkerModule, this.#moduleUrl, frame.fn);
      result = listened === undefined ? fn(...frame.args) : this.#listened.run(listened, fn, ...frame.args);
    } catch (error) {
      if (listened !== undefined) listened.live = false;
      this.#sendError(frame.id, error);
      return;
    }
    if (!isThenable(result)) {
      if (listened !== undefined) listened.live = false;
      this.#sendOk(frame, result);
      return;
    }
    this.#busy = true;
    const end = (): void => {
      this.#busy = false;
      if (listened !== undefined) listened.live = false;
    };
    result.then(
      (value) => { end(); this.#sendOk(frame, value); this.#pump(); },
      (error: unknown) => { end(); this.#sendError(frame.id, error); this.#pump(); },
    );
  }

  #runChunk(frame: Entry): void {
    this.#busy = true;
    void this.#chunk(frame).finally(() => { this.#busy = false; this.#pump(); });
  }

  async #chunk(frame: Entry): Promise<void> {
    const entries: ChunkEntry[] = [];
    try {
      const fn = lookupFunction(this.#module as WorkerModule, this.#moduleUrl, frame.fn);
      const items = frame.args;
      for (let i = 0; i < items.length; i++) {
        try {
          let value = fn(items[i]);
          if (isThenable(value)) value = await value;
          const bad = findUncopyable(value, 'result');
          entries.push(bad ? [false, describeError(uncopyableResult(frame.fn, bad.path, bad.reason))] : [true, value]);
        } catch (error) {
          entries.push([false, describeError(error)]);
        }
      }
    } catch (error) {
      this.#sendError(frame.id, error);
      return;
    }
    try {
      // Each result was checked above, and each error is a descriptor made to be copyable: no second walk.
      const encoded = encodeFrame(kFromChild.ChunkResult, frame.id, '', entries, 'result', 'the chunk results', true);
      this.#port.send(fitting(encoded, this.#maxMessageBytes, `the results of "${frame.fn}" for ${entries.length} items`));
    } catch (error) {
      this.#sendError(frame.id, error);
    }
  }

  #sendOk(frame: Entry, value: unknown): void {
    let encoded: Buffer | Buffer[];
    try {
      encoded = encodeResult(frame.id, value, frame.fn, this.#maxMessageBytes);
    } catch (error) {
      this.#sendError(frame.id, error);
      return;
    }
    this.#port.send(encoded);
  }

  #sendError(id: number, error: unknown): void {
    this.#port.send(encodeErrorInfo(kFromChild.Error, id, describeError(error)));
  }

  /** An uncaught error (a throwing timer, an unhandled rejection): tell the parent why, then die as Node would. */
  #fatal(error: unknown): void {
    try {
      this.#port.send(encodeErrorInfo(kFromChild.Fatal, 0, describeError(error)));
      this.#port.flush?.();
    } catch {
      // the parent is gone or the pipe is full: the exit code still tells
    }
    try {
      process.stderr.write(`Uncaught ${(error as Error)?.stack ?? String(error)}\n`);
    } catch {
      // stderr closed
    }
    this.#exiting = true;
    this.#port.exit(1);
  }
}

function uncopyableResult(fn: string, path: string, reason: string): SerializationError {
  return new SerializationError(`Cannot copy the result of "${fn}": ${path} ${reason}`, path);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
