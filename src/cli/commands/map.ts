/**
 * `procsafe map MODULE#FN [INPUT]`: the job people reach for a process pool to
 * do, as a command. Every line of INPUT (JSON) goes to FN in a worker; every
 * answer, success or failure, becomes one JSON line of OUT. The run streams
 * (memory stays flat for any input length), survives worker crashes (the
 * pool's guarantees), and can be interrupted and resumed any number of times
 * with exactly one line per input in the end.
 */
import type { Readable } from 'node:stream';
import { PoolClosed } from '../../errors.js';
import { kModuleExports, type Pool } from '../../pool/pool.js';
import type { Command, CommandIo } from '../command.js';
import { type MapArgs, parseMapArgs } from '../map/args.js';
import { kMapHelp } from '../map/help.js';
import { countLines, decodeLine, type InputLine, openInput, readLines } from '../map/input.js';
import { Interrupt } from '../map/interrupt.js';
import { type Answered, type LineWriter, openOutput } from '../map/output.js';
import { type Counts, type ProgressReporter, reporterFor } from '../map/progress.js';
import { readAnswered } from '../map/resume.js';
import { Recorder } from '../map/recorder.js';
import { describeForJson, errorLine, inCliTerms, okLine } from '../map/results.js';
import { summarize } from '../map/summary.js';
import { DispatchWindow } from '../map/window.js';
import { checkModule, startPool } from '../map/workers.js';

export { kMapUsage } from '../map/help.js';

export const map: Command = async (args, io) => {
  const parsed = parseMapArgs(args);
  if (parsed === 'help') {
    io.stdout.write(kMapHelp);
    return 0;
  }
  return new MapRun(parsed, args, io).run();
};

class MapRun {
  readonly #args: MapArgs;
  readonly #argv: string[];
  readonly #io: CommandIo;
  #pool: Pool | undefined;
  #writer: LineWriter | undefined;
  #reporter: ProgressReporter | undefined;
  #input: Readable | undefined;
  /** Stops the progress bar's second pass over INPUT (countLines) when the run ends first. */
  readonly #counting = new AbortController();
  readonly #interrupt: Interrupt;
  readonly #window: DispatchWindow;
  #wake: (() => void) | undefined;

  #recorder: Recorder | undefined;
  #earlier: Answered | undefined;
  #inputLines: number | undefined;
  #total: number | undefined;
  #inputError: Error | undefined;

  constructor(args: MapArgs, argv: string[], io: CommandIo) {
    this.#args = args;
    this.#argv = argv;
    this.#io = io;
    this.#window = new DispatchWindow(args.jobs);
    this.#interrupt = new Interrupt({
      announce: () => {
        const n = this.#recorder?.inflight ?? 0;
        if (n > 0 && this.#reporter !== undefined) {
          const tasks = `${n} task${n === 1 ? '' : 's'}`;
          this.#reporter.log(`procsafe map: stopping: waiting for the ${tasks} already started (Ctrl-C again to kill them)`);
        }
      },
      closeInput: () => this.#input?.destroy(),
      terminate: () => void this.#pool?.terminate(),
      flush: () => this.#writer?.flush(),
    });
  }

  async run(): Promise<number> {
    const unlisten = this.#interrupt.listen();
    const started = performance.now();
    try {
      const ready = await this.#start();
      if (ready !== undefined) return ready;
      await this.#feed();
      const recorder = this.#recorder as Recorder;
      while (recorder.inflight > 0) await new Promise<void>((resolve) => { this.#wake = resolve; });
      // Nothing is left to run: a terminated pool is already gone, an idle one stops at once.
      await (this.#interrupt.terminated ? (this.#pool as Pool).terminate() : (this.#pool as Pool).close());
      await (this.#writer as LineWriter).close();
      this.#reporter?.update(this.#counts());
      this.#reporter?.stop();
      return summarize(this.#args, this.#argv, {
        counts: this.#counts(), earlier: this.#earlier, written: recorder.written, abandoned: recorder.abandoned,
        firstFailure: recorder.firstFailure, inputLines: this.#inputLines, total: this.#total, inputError: this.#inputError,
        writeError: (this.#writer as LineWriter).error, pressedCtrlC: this.#interrupt.pressed, elapsedMs: performance.now() - started,
      }, this.#io.stderr);
    } finally {
      unlisten();
      this.#counting.abort();
      this.#reporter?.stop();
      this.#input?.destroy();
      if (this.#pool !== undefined) await this.#pool.terminate();
    }
  }

  /** Returns an exit code if the run must not go on. */
  async #start(): Promise<number | undefined> {
    const { fn, outPath, resume, inputPath, quiet } = this.#args;
    const stderr = this.#io.stderr;
    // The workers boot while the module is checked.
    const pool = startPool(this.#args, (line) => {
      if (this.#reporter !== undefined) this.#reporter.log(`[worker] ${line}`);
      else stderr.write(`[worker] ${line}\n`);
    });
    this.#pool = pool;
    const failed = await checkModule(this.#interrupt.untilStop(pool[kModuleExports]()), this.#args, stderr);
    if (failed !== undefined) return failed;
    this.#earlier = await readAnswered(this.#args, stderr);
    // The output is gone (disk full, a closed pipe): nothing more can be recorded, so stop everything.
    this.#writer = openOutput(outPath, resume, this.#io.stdout, () => this.#interrupt.kill());
    this.#recorder = new Recorder(this.#writer, this.#args.ordered, () => {
      this.#reporter?.update(this.#counts());
      this.#wake?.();
    });
    this.#reporter = reporterFor(stderr, quiet, `procsafe map ${fn}`, this.#counts());
    if (inputPath !== undefined && !quiet) {
      countLines(inputPath, this.#counting.signal).then((total) => {
        this.#total = total;
        this.#reporter?.setTotal(total);
      }, () => { /* the run reports read errors itself */ });
    }
    this.#input = openInput(inputPath, quiet, stderr);
    return undefined;
  }

  /** Reads input lines and hands them to the pool, as fast as results are written and no faster. */
  async #feed(): Promise<void> {
    const pool = this.#pool as Pool;
    const writer = this.#writer as LineWriter;
    const interrupt = this.#interrupt;
    const recorder = this.#recorder as Recorder;
    const reporter = this.#reporter as ProgressReporter;
    const answered = this.#earlier?.set;
    const lines = readLines(this.#input as Readable)[Symbol.asyncIterator]();
    const untrack = this.#window.track(() => recorder.written);
    let index = -1;
    try {
      for (;;) {
        while (!interrupt.stopping && (recorder.inflight >= this.#window.cap || writer.blocked)) {
          await interrupt.untilStop(writer.blocked ? writer.drained() : new Promise<void>((resolve) => { this.#wake = resolve; }));
        }
        if (interrupt.stopping) return;
        const next = lines.next();
        // If a stop wins the race the read is abandoned (the input is destroyed): its failure is of no interest.
        next.catch(() => {});
        let step: IteratorResult<InputLine, void> | 'stop';
        try {
          step = await interrupt.untilStop(next);
        } catch (error) {
          this.#inputError = error as Error;
          return;
        }
        if (step === 'stop') return;
        if (step.done === true) {
          this.#inputLines = index + 1;
          return;
        }
        index++;
        if (answered?.has(index) === true) continue;
        const seq = recorder.dispatch();
        const decoded = decodeLine(step.value, index);
        if ('line' in decoded) {
          recorder.settle(seq, index, decoded);
          continue;
        }
        const i = index;
        // Asked for only where they are shown: each call that listens costs the pool a frame more.
        const options = reporter.showsTasks ? { onProgress: (value: unknown) => reporter.taskProgress(i, value) } : undefined;
        pool.apply(this.#args.fn, [decoded.value], options).then(
          (result) => {
            reporter.taskSettled(i);
            recorder.settle(seq, i, okLine(i, result));
          },
          (error: unknown) => {
            reporter.taskSettled(i);
            // Killed by the second Ctrl-C: not an answer. Left out of OUT, the input runs again on --resume.
            if (interrupt.terminated && error instanceof PoolClosed) recorder.settle(seq, i, null);
            else {
              const reported = inCliTerms(error, i, this.#args.timeoutMs);
              recorder.settle(seq, i, errorLine(i, describeForJson(reported)), reported);
            }
          });
      }
    } finally {
      untrack();
    }
  }

  #counts(): Counts {
    const stats = this.#pool?.stats();
    return {
      done: (this.#earlier?.count ?? 0) + (this.#recorder?.written ?? 0),
      failed: (this.#earlier?.failed ?? 0) + (this.#recorder?.failed ?? 0),
      crashed: stats?.crashed ?? 0,
      retried: stats?.retried ?? 0,
    };
  }
}
