/** A worker as a child process, reached over two socket pairs on fds 3 (to it) and 4 (from it). */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../transport/frame.js';
import { routeOutput } from '../process/output.js';
import { coalesce, type HostEvents, type HostExit, type HostOptions, kBootstrapUrl, type WorkerHost } from './host.js';

const kBootstrapPath = fileURLToPath(kBootstrapUrl);
/** After the exit, how long to wait for the result pipe to drain before giving up on it. */
const kDrainGraceMs = 1000;
const kOomLine = /JavaScript heap out of memory|Reached heap limit/;

export class ProcessHost implements WorkerHost {
  readonly #child: ChildProcess;
  readonly #toChild: Socket;
  readonly #fromChild: Socket;
  readonly #events: HostEvents;
  readonly label: string;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Streams still open: the result pipe and any piped stdout/stderr, so no answer or line is lost. */
  #open = 1;
  #reported = false;
  #outOfMemory = false;
  #spawnError: Error | undefined;

  constructor(options: HostOptions, events: HostEvents) {
    this.#events = events;
    const execArgv = [...options.execArgv];
    if (options.maxMemoryMb !== undefined) execArgv.push(`--max-old-space-size=${options.maxMemoryMb}`);
    const pipeOrNot = (mode: string) => (mode === 'inherit' ? 'inherit' : mode === 'ignore' ? 'ignore' : 'pipe');
    this.#child = spawn(process.execPath, [...execArgv, kBootstrapPath], {
      // stderr is always read, to recognise V8's out-of-memory report; 'inherit' and 'ignore' are honoured below.
      stdio: ['ignore', pipeOrNot(options.stdout), 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      windowsHide: true,
    });
    this.label = `[${options.name}-${options.workerId} ${this.#child.pid ?? '?'}]`;
    this.#toChild = this.#child.stdio[3] as Socket;
    this.#fromChild = this.#child.stdio[4] as Socket;
    // Children never keep the parent alive by themselves: the pool holds the loop while it has work.
    this.#child.unref();
    this.#toChild.unref();
    this.#fromChild.unref();
    (this.#child.stdout as Socket | null)?.unref();
    (this.#child.stderr as Socket | null)?.unref();
    routeOutput(this.#child.stdout, options.stdout, this.label, process.stdout, options.stdoutSink);
    if (this.#child.stderr !== null) {
      this.#child.stderr.on('data', (chunk: Buffer) => { if (kOomLine.test(chunk.toString('latin1'))) this.#outOfMemory = true; });
      routeOutput(this.#child.stderr, options.stderr, this.label, process.stderr, options.stderrSink);
    }

    const decoder = new FrameDecoder(options.maxMessageBytes);
    this.#fromChild.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (body) => this.#events.frame(body));
      } catch (error) {
        this.kill();
        this.#events.protocolError(error as Error);
      }
    });
    this.#fromChild.on('close', () => this.#closed());
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream === null) continue;
      this.#open++;
      stream.on('close', () => this.#closed());
    }
    this.#fromChild.on('error', () => { /* close follows */ });
    this.#toChild.on('error', () => { /* EPIPE after the child died: its exit is reported */ });
    this.#child.on('error', (error) => {
      // spawn failed (EAGAIN, ENOMEM …): there will be no exit event
      this.#spawnError = error;
      this.#exit ??= { code: null, signal: null };
      this.#open = 0;
      this.#maybeReport();
    });
    this.#child.on('exit', (code, signal) => {
      this.#exit = { code, signal };
      // A grandchild holding a pipe open must not delay the report for ever.
      setTimeout(() => { this.#open = 0; this.#maybeReport(); }, kDrainGraceMs).unref();
      this.#maybeReport();
    });
  }

  get pid(): number | undefined { return this.#child.pid; }

  send(frames: readonly Buffer[]): void {
    if (this.#exit !== undefined || this.#toChild.destroyed) return;
    const chunks = coalesce(frames);
    if (chunks.length === 1) {
      this.#toChild.write(chunks[0] as Buffer);
    } else {
      this.#toChild.cork();
      for (const chunk of chunks) this.#toChild.write(chunk);
      this.#toChild.uncork();
    }
  }

  kill(): void {
    if (this.#exit === undefined) this.#child.kill('SIGKILL');
  }

  stop(graceMs: number): void {
    if (this.#exit !== undefined) return;
    this.#child.kill('SIGTERM');
    setTimeout(() => this.kill(), graceMs).unref();
  }

  #closed(): void {
    this.#open--;
    this.#maybeReport();
  }

  #maybeReport(): void {
    if (this.#reported || this.#exit === undefined || this.#open > 0) return;
    this.#reported = true;
    this.#toChild.destroy();
    this.#fromChild.destroy();
    const info: HostExit = {
      exitCode: this.#exit.code, signal: this.#exit.signal, error: this.#spawnError, outOfMemory: this.#outOfMemory,
    };
    this.#events.exit(info);
  }
}
