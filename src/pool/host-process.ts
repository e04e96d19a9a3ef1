/** A worker as a child process, reached over two socket pairs on fds 3 (to it) and 4 (from it). */
import { ChildPipes, type ChildEnd } from '../child/spawn.js';
import { routeOutput } from '../process/output.js';
import { coalesce, type HostEvents, type HostOptions, spawnFailedFrame, type WorkerHost } from './host.js';

const kOomLine = /JavaScript heap out of memory|Reached heap limit/;

export class ProcessHost implements WorkerHost {
  readonly #pipes: ChildPipes;
  readonly #events: HostEvents;
  readonly label: string;
  #outOfMemory = false;

  constructor(options: HostOptions, events: HostEvents) {
    this.#events = events;
    const execArgv = [...options.execArgv];
    if (options.maxMemoryMb !== undefined) execArgv.push(`--max-old-space-size=${options.maxMemoryMb}`);
    const pipeOrNot = (mode: string) => (mode === 'inherit' ? 'inherit' : mode === 'ignore' ? 'ignore' : 'pipe');
    this.#pipes = new ChildPipes({
      execArgv, env: options.env, maxFrameBytes: options.maxMessageBytes,
      // stderr is always read, to recognise V8's out-of-memory report; 'inherit' and 'ignore' are honoured below.
      stdout: pipeOrNot(options.stdout), stderr: 'pipe',
      frame: (body) => events.frame(body),
      garbage: (error) => {
        this.kill();
        events.protocolError(error);
      },
      end: (info) => this.#ended(info),
      gone: () => events.gone?.(),
    });
    const pipes = this.#pipes;
    this.label = `[${options.name}-${options.workerId} ${pipes.pid ?? '?'}]`;
    // Children never keep the parent alive by themselves: the pool holds the loop while it has work.
    pipes.ref(false);
    routeOutput(pipes.stdout, options.stdout, this.label, process.stdout, options.stdoutSink);
    const stderr = pipes.stderr;
    if (stderr !== null) {
      stderr.on('data', (chunk: Buffer) => { if (kOomLine.test(chunk.toString('latin1'))) this.#outOfMemory = true; });
      routeOutput(stderr, options.stderr, this.label, process.stderr, options.stderrSink);
    }
    // Every line and answer is read before the exit is reported.
    for (const stream of [pipes.stdout, stderr]) if (stream !== null) pipes.drain(stream);
  }

  get pid(): number | undefined { return this.#pipes.pid; }

  send(frames: readonly Buffer[]): void {
    this.#pipes.send(coalesce(frames));
  }

  kill(): void {
    this.#pipes.kill('SIGKILL');
  }

  #ended(info: ChildEnd): void {
    const { exitCode, signal, spawnError } = info;
    if (spawnError !== undefined) this.#events.frame(spawnFailedFrame(spawnError, 'its process'));
    this.#events.exit({ exitCode, signal, error: spawnError, outOfMemory: this.#outOfMemory });
  }
}
