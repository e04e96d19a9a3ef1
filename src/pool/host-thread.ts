/** A worker as a worker thread: the same frames, carried by postMessage. */
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { FrameDecoder } from '../transport/frame.js';
import { routeOutput } from '../process/output.js';
import { coalesce, type HostEvents, type HostOptions, kBootstrapUrl, spawnFailedFrame, type WorkerHost } from './host.js';

/** After the exit, how long to wait for the thread's output to drain. */
const kDrainGraceMs = 1000;

export class ThreadHost implements WorkerHost {
  readonly #worker: Worker;
  readonly #events: HostEvents;
  /** The thread marks here the id of each task it starts (see child/bootstrap.ts). */
  readonly #progress = new Int32Array(new SharedArrayBuffer(4));
  readonly label: string;
  #exited = false;
  #reported = false;
  #error: NodeJS.ErrnoException | undefined;

  constructor(options: HostOptions, events: HostEvents) {
    this.#events = events;
    this.#worker = new Worker(kBootstrapUrl, {
      workerData: { progress: this.#progress.buffer },
      execArgv: [...options.execArgv],
      env: options.env ?? process.env,
      stdout: options.stdout !== 'inherit',
      stderr: options.stderr !== 'inherit',
      resourceLimits: options.maxMemoryMb === undefined ? undefined : { maxOldGenerationSizeMb: options.maxMemoryMb },
    });
    this.label = `[${options.name}-${options.workerId} thread ${this.#worker.threadId}]`;
    this.#worker.unref();
    const piped: Readable[] = [];
    if (options.stdout !== 'inherit') piped.push(this.#worker.stdout);
    if (options.stderr !== 'inherit') piped.push(this.#worker.stderr);
    routeOutput(this.#worker.stdout, options.stdout, this.label, process.stdout, options.stdoutSink);
    routeOutput(this.#worker.stderr, options.stderr, this.label, process.stderr, options.stderrSink);
    const decoder = new FrameDecoder(options.maxMessageBytes);
    this.#worker.on('message', (data: Uint8Array) => {
      try {
        decoder.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (body) => events.frame(body));
      } catch (error) {
        this.kill();
        events.protocolError(error as Error);
      }
    });
    this.#worker.on('error', (error) => {
      this.#error = error;
      // Node could not start the thread (EMFILE …): no code of ours ran, and 'exit' (code 0) follows.
      if ((error as NodeJS.ErrnoException).code === 'ERR_WORKER_INIT_FAILED') {
        events.frame(spawnFailedFrame(withErrno(error), 'its thread'));
      }
    });
    // Node delivers every message the thread posted before 'exit'; its output may still be in flight.
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      let open = piped.filter((stream) => !stream.readableEnded).length;
      const report = (): void => { if (--open <= 0) this.#report(code); };
      if (open === 0) {
        this.#report(code);
        return;
      }
      for (const stream of piped) if (!stream.readableEnded) stream.once('end', report);
      setTimeout(() => this.#report(code), kDrainGraceMs).unref();
    });
  }

  get pid(): number | undefined { return process.pid; }

  send(frames: readonly Buffer[]): void {
    if (this.#exited) return;
    // One message per send: small frames joined, large parts copied once into memory we then move.
    const chunks = coalesce(frames);
    if (chunks.length === 1) {
      this.#worker.postMessage(chunks[0]);
      return;
    }
    const joined = Buffer.concat(chunks);
    this.#worker.postMessage(joined, [joined.buffer]);
  }

  kill(): void {
    if (!this.#exited) void this.#worker.terminate();
  }

  #report(exitCode: number): void {
    if (this.#reported) return;
    this.#reported = true;
    const outOfMemory = this.#error?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const running = Atomics.load(this.#progress, 0) >>> 0;
    this.#events.exit({ exitCode, signal: null, error: this.#error, outOfMemory, runningTaskId: running === 0 ? undefined : running });
  }
}

/** Node words a failed thread start "Worker initialization failure: EMFILE": that errno as the error's code. */
function withErrno(error: Error): Error {
  const errno = /\b(E[A-Z]+)$/.exec(error.message)?.[1];
  return errno === undefined ? error : Object.assign(new Error(error.message, { cause: error }), { code: errno });
}
