/** A worker as a worker thread: the same frames, carried by postMessage. */
import { Worker } from 'node:worker_threads';
import { FrameDecoder } from '../transport/frame.js';
import { routeOutput } from '../process/output.js';
import { coalesce, type HostEvents, type HostOptions, kBootstrapUrl, type WorkerHost } from './host.js';

export class ThreadHost implements WorkerHost {
  readonly #worker: Worker;
  readonly label: string;
  #exited = false;
  #error: Error | undefined;

  constructor(options: HostOptions, events: HostEvents) {
    const progress = new SharedArrayBuffer(4);
    this.#worker = new Worker(kBootstrapUrl, {
      workerData: { progress },
      execArgv: [...options.execArgv],
      env: options.env ?? process.env,
      stdout: options.stdout !== 'inherit',
      stderr: options.stderr !== 'inherit',
      resourceLimits: options.maxMemoryMb === undefined ? undefined : { maxOldGenerationSizeMb: options.maxMemoryMb },
    });
    this.label = `[${options.name}-${options.workerId} thread ${this.#worker.threadId}]`;
    this.#worker.unref();
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
    this.#worker.on('error', (error) => { this.#error = error; });
    // Node delivers every message the thread posted before emitting 'exit'.
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      const outOfMemory = (this.#error as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const running = Atomics.load(new Int32Array(progress), 0) >>> 0;
      events.exit({ exitCode: code, signal: null, error: this.#error, outOfMemory, runningTaskId: running === 0 ? undefined : running });
    });
  }

  get pid(): number | undefined { return process.pid; }

  send(frames: readonly Buffer[]): void {
    if (this.#exited) return;
    for (const chunk of coalesce(frames)) this.#worker.postMessage(chunk);
  }

  kill(): void {
    if (!this.#exited) void this.#worker.terminate();
  }

  stop(): void {
    this.kill();
  }
}
