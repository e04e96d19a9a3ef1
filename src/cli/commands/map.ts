/**
 * `procsafe map MODULE#FN [INPUT]`: the job people reach for a process pool to
 * do, as a command. Every line of INPUT (JSON) goes to FN in a worker; every
 * answer, success or failure, becomes one JSON line of OUT. The run streams
 * (memory stays flat for any input length), survives worker crashes (the
 * pool's guarantees), and can be interrupted and resumed any number of times
 * with exactly one line per input in the end.
 */
import { availableParallelism } from 'node:os';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { WriteStream } from 'node:tty';
import { pathToFileURL } from 'node:url';
import { PoolClosed, RemoteError } from '../../errors.js';
import { kNoTypeScriptLoader } from '../../child/loader.js';
import { InOrder } from '../../internal/in-order.js';
import { inheritedExecArgv } from '../../internal/worker-module.js';
import { kModuleExports, Pool } from '../../pool/pool.js';
import { forEachLine } from '../../process/output.js';
import { type Command, type CommandIo, UsageError } from '../command.js';
import { type MapArgs, parseMapArgs } from '../map/args.js';
import { countLines, type InputLine, kMaxLineBytes, readLines } from '../map/input.js';
import { type Answered, LineWriter, NotAResultFile, scanAnswered } from '../map/output.js';
import { type Counts, createReporter, formatRate, type ProgressMode, type ProgressReporter } from '../map/progress.js';
import { commandLine } from '../map/invocation.js';
import { describeForJson, type ErrorJson, errorLine, inCliTerms, kInputNotJson, okLine, type ResultLine, stackOf } from '../map/results.js';

export const kMapUsage =
  '  map MODULE#FN [INPUT] [-o OUT] [-j N] [--retries N] [--timeout S] [--resume] [--unordered] [--quiet]\n' +
  '                       run the export FN of MODULE on every JSON line of INPUT (default stdin),\n' +
  '                       one JSON result line per input to OUT (default stdout); map --help for more\n';

const kMapHelp =
  'Usage: procsafe map MODULE#FN [INPUT] [options]\n\n' +
  'Runs the exported function FN of the ES module MODULE (a path or a file: URL) on every\n' +
  'line of INPUT (JSON lines; stdin when absent or "-") in a pool of worker processes, and\n' +
  'writes one JSON line per input, i being the input\'s line number from 0:\n' +
  '  {"i":0,"ok":true,"value":…}\n' +
  '  {"i":1,"ok":false,"error":{"name":…,"message":…,"code":…}}\n\n' +
  'Options:\n' +
  '  -o, --output OUT   write the results to OUT (default: stdout)\n' +
  `  -j, --jobs N       worker processes (default: the number of CPUs, here ${availableParallelism()})\n` +
  '  --retries N        re-run an input whose worker died (killed, out of memory, exit) up to N times\n' +
  '  --timeout S        stop an input that runs longer than S seconds (its worker is replaced)\n' +
  '  --resume           skip the inputs already answered in OUT and append the rest (needs -o)\n' +
  '  --unordered        write results as they finish instead of in input order\n' +
  '  -q, --quiet        no progress and no summary on stderr\n' +
  '  -h, --help         show this help\n\n' +
  'Ctrl-C stops reading input and lets the running tasks finish; a second Ctrl-C kills them.\n' +
  'Exit status: 0 all inputs ok, 1 some failed, 2 usage error, 130 interrupted.\n';

/** The preload that keeps workers alive through Ctrl-C. */
const kWorkerPreload = new URL('../map/worker-preload.js', import.meta.url);
/** Plain progress lines (stderr not a terminal): every 2 s unless the environment says otherwise (tests). */
const kDefaultIntervalMs = 2_000;
/**
 * How much queued work (beyond one task per worker) may sit in the pool, in ms of
 * its recent throughput: enough to keep workers fed with tiny tasks, little enough
 * that the first Ctrl-C (which lets everything already handed over finish) is quick.
 */
const kQueuedWorkMs = 100;
const kMaxAheadPerWorker = 64;

/** Is the module TypeScript that Node could not load (no loader)? Then the fix is on the command line. */
function isTypeScriptWithoutLoader(error: unknown): boolean {
  return error instanceof RemoteError && error.remoteCode === kNoTypeScriptLoader;
}

/** A worker's stack less the frames of Node and of procsafe itself: what is left is the user's code. */
function userFrames(stack: string): string {
  const ours = new URL('../../', import.meta.url).href;
  return stack.split('\n').filter((line) => !/^\s+at /.test(line) || !(line.includes('(node:') || line.includes(' node:') || line.includes(ours))).join('\n');
}

/** Why the module did not load, as its own stack says it. */
function loadFailure(error: unknown): string {
  const stack = error instanceof RemoteError ? error.remoteStack : undefined;
  return stack === undefined ? (error as Error).message : userFrames(stack);
}

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

  // Ctrl-C: the first stops reading input, the second kills running tasks.
  #presses = 0;
  #stopping = false;
  #terminated = false;
  /** Who waits for something that the first Ctrl-C must cut short (see #untilStop). */
  readonly #stopWaiters = new Set<() => void>();
  #wake: (() => void) | undefined;

  // Counts.
  #earlier: Answered | undefined;
  #written = 0;
  #failed = 0;
  #abandoned = 0;
  #inflight = 0;
  #cap: number;
  /** The lowest-numbered failure of this run, with the thrown error when there is one (for its stack). */
  #firstFailure: { index: number; json: ErrorJson; error: unknown } | undefined;
  #inputLines: number | undefined;
  /** The input's line count, once countLines() has it. */
  #total: number | undefined;
  #inputError: Error | undefined;

  // Order: results wait here (by dispatch sequence) until every earlier one is written.
  readonly #held = new InOrder<ResultLine | null>();
  #nextSeq = 0;

  constructor(args: MapArgs, argv: string[], io: CommandIo) {
    this.#args = args;
    this.#argv = argv;
    this.#io = io;
    this.#cap = args.jobs * 2;
  }

  async run(): Promise<number> {
    const onSigint = (): void => this.#interrupt();
    process.on('SIGINT', onSigint);
    const started = performance.now();
    try {
      const ready = await this.#start();
      if (ready !== undefined) return ready;
      await this.#feed();
      await this.#drain();
      // Nothing is left to run: a terminated pool is already gone, an idle one stops at once.
      await (this.#terminated ? (this.#pool as Pool).terminate() : (this.#pool as Pool).close());
      await (this.#writer as LineWriter).close();
      this.#reporter?.update(this.#counts());
      this.#reporter?.stop();
      return this.#finish(performance.now() - started);
    } finally {
      process.removeListener('SIGINT', onSigint);
      this.#counting.abort();
      this.#reporter?.stop();
      this.#input?.destroy();
      if (this.#pool !== undefined) await this.#pool.terminate();
    }
  }

  /**
   * Starts the pool, checks in a child that MODULE loads and exports FN (before
   * a byte of input is read, and before OUT is touched), reads OUT for --resume,
   * and opens the output. Returns an exit code if the run must not go on.
   */
  async #start(): Promise<number | undefined> {
    const { modulePath, fn, jobs, retries, timeoutMs } = this.#args;
    const execArgv = [...inheritedExecArgv(), '--import', kWorkerPreload.href];
    const moduleUrl = pathToFileURL(modulePath);
    // The workers boot while the module is checked; their output goes to stderr, never into the results.
    const pool = new Pool({
      module: moduleUrl, workers: jobs, retries, taskTimeoutMs: timeoutMs, stdout: 'pipe', stderr: 'pipe', execArgv,
    });
    this.#pool = pool;
    const log = (line: string): void => {
      if (this.#reporter !== undefined) this.#reporter.log(`[worker] ${line}`);
      else this.#io.stderr.write(`[worker] ${line}\n`);
    };
    forEachLine(pool.stdout as Readable, log);
    forEachLine(pool.stderr as Readable, log);

    // Every worker reports the module's functions when it is ready; the first answer decides.
    let exports: readonly string[] | 'stop';
    try {
      exports = await this.#untilStop(pool[kModuleExports]());
    } catch (error) {
      if (isTypeScriptWithoutLoader(error)) {
        throw new UsageError(
          'map', `MODULE "${this.#args.moduleSpec}" is TypeScript and Node needs a loader for it: run procsafe under tsx, ` +
          `as NODE_OPTIONS='--import tsx' procsafe map … (the workers inherit it), or compile the module to JavaScript`);
      }
      this.#io.stderr.write(`procsafe map: MODULE "${this.#args.moduleSpec}" failed to load: ${loadFailure(error)}\n`);
      return 1;
    }
    if (exports === 'stop') {
      this.#io.stderr.write('procsafe map: interrupted before any input was read\n');
      return 130;
    }
    if (!exports.includes(fn)) {
      throw new UsageError('map', `MODULE "${this.#args.moduleSpec}" has no exported function "${fn}"; ` +
        `its exported functions are: ${exports.join(', ') || '(none)'}`);
    }

    const { outPath, resume, inputPath } = this.#args;
    if (resume) {
      try {
        this.#earlier = await scanAnswered(outPath as string);
      } catch (error) {
        if (error instanceof NotAResultFile) {
          throw new UsageError('map', `-o "${outPath}": ${error.message}; --resume continues only a file procsafe map wrote`);
        }
        throw error;
      }
      if (this.#earlier.repairedBytes > 0 && !this.#args.quiet) {
        this.#io.stderr.write(`procsafe map: dropped a cut-off last line of ${outPath} (${this.#earlier.repairedBytes} bytes; its input runs again)\n`);
      }
    }
    try {
      this.#writer = new LineWriter(outPath === undefined ? { stream: this.#io.stdout } : { path: outPath, append: resume }, () => {
        // The output is gone (disk full, a closed pipe): nothing more can be recorded, so stop everything.
        this.#kill();
      });
    } catch (error) {
      throw new UsageError('map', `-o "${outPath}": cannot write it: ${(error as Error).message}`);
    }

    const stderrTty = (this.#io.stderr as Partial<WriteStream>).isTTY === true;
    const mode: ProgressMode = this.#args.quiet ? 'none' : stderrTty ? 'bar' : 'lines';
    const intervalMs = Number(process.env['PROCSAFE_MAP_PROGRESS_MS']) || kDefaultIntervalMs;
    this.#reporter = createReporter(mode, { stream: this.#io.stderr, label: `procsafe map ${fn}`, initial: this.#counts(), intervalMs });
    if (inputPath !== undefined && mode !== 'none') {
      countLines(inputPath, this.#counting.signal).then((total) => {
        this.#total = total;
        this.#reporter?.setTotal(total);
      }, () => { /* the run reports read errors itself */ });
    }
    if (inputPath === undefined && process.stdin.isTTY === true && !this.#args.quiet) {
      this.#io.stderr.write('procsafe map: reading JSON lines from the terminal; end with Ctrl-D\n');
    }
    this.#input = inputPath === undefined ? process.stdin : createReadStream(inputPath, { highWaterMark: 64 * 1024 });
    return undefined;
  }

  /** Reads input lines and hands them to the pool, as fast as results are written and no faster. */
  async #feed(): Promise<void> {
    const pool = this.#pool as Pool;
    const writer = this.#writer as LineWriter;
    const answered = this.#earlier?.set;
    const lines = readLines(this.#input as Readable)[Symbol.asyncIterator]();
    const tuner = setInterval(this.#tune(), 250).unref();
    let index = -1;
    try {
      for (;;) {
        while (!this.#stopping && (this.#inflight >= this.#cap || writer.blocked)) {
          await this.#untilStop(writer.blocked ? writer.drained() : new Promise<void>((resolve) => { this.#wake = resolve; }));
        }
        if (this.#stopping) return;
        const next = lines.next();
        // If a stop wins the race the read is abandoned (the input is destroyed): its failure is of no interest.
        next.catch(() => {});
        let step: IteratorResult<InputLine, void> | 'stop';
        try {
          step = await this.#untilStop(next);
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
        const line = step.value;
        const seq = this.#nextSeq++;
        this.#inflight++;
        if (line.text === undefined) {
          this.#settle(seq, index, errorLine(index, {
            name: 'RangeError',
            message: `input ${index} (line ${index + 1}) is ${line.tooLong} bytes long, over the limit of ${kMaxLineBytes}`,
            code: kInputNotJson,
          }));
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(line.text);
        } catch (error) {
          const what = line.text.trim() === '' ? 'an empty line' : `not JSON: ${(error as Error).message}`;
          this.#settle(seq, index, errorLine(index, {
            name: 'SyntaxError', message: `input ${index} (line ${index + 1}) is ${what}`, code: kInputNotJson,
          }));
          continue;
        }
        const i = index;
        pool.apply(this.#args.fn, [value]).then(
          (result) => this.#settle(seq, i, okLine(i, result)),
          (error: unknown) => {
            // Killed by the second Ctrl-C: not an answer. Left out of OUT, the input runs again on --resume.
            if (this.#terminated && error instanceof PoolClosed) this.#settle(seq, i, null);
            else {
              const reported = inCliTerms(error, i, this.#args.timeoutMs);
              this.#settle(seq, i, errorLine(i, describeForJson(reported)), reported);
            }
          });
      }
    } finally {
      clearInterval(tuner);
    }
  }

  /**
   * Sizes the window of tasks handed to the pool from its recent throughput:
   * one running and at least one waiting per worker, plus kQueuedWorkMs of work.
   */
  #tune(): () => void {
    let last = performance.now();
    let lastWritten = this.#written;
    return () => {
      const now = performance.now();
      const rate = ((this.#written - lastWritten) * 1000) / (now - last);
      last = now;
      lastWritten = this.#written;
      const jobs = this.#args.jobs;
      const ahead = Math.min(jobs * kMaxAheadPerWorker, Math.max(jobs, Math.round((rate * kQueuedWorkMs) / 1000)));
      this.#cap = jobs + ahead;
    };
  }

  /** One input answered (or abandoned: `result` null, nothing written): written now, or once every earlier one is. */
  #settle(seq: number, index: number, result: ResultLine | null, thrown?: unknown): void {
    if (result?.error !== undefined) {
      this.#failed++;
      if (this.#firstFailure === undefined || index < this.#firstFailure.index) this.#firstFailure = { index, json: result.error, error: thrown };
    }
    if (!this.#args.ordered) {
      this.#emit(result);
    } else {
      this.#held.add(seq, result);
      for (let next = this.#held.take(); next !== undefined; next = this.#held.take()) this.#emit(next);
    }
    this.#reporter?.update(this.#counts());
    this.#wake?.();
  }

  #emit(result: ResultLine | null): void {
    this.#inflight--;
    if (result === null) {
      this.#abandoned++;
      return;
    }
    this.#written++;
    (this.#writer as LineWriter).write(result.line);
  }

  /**
   * `promise`, or 'stop' as soon as the first Ctrl-C comes. Not Promise.race with
   * a promise of the stop: each race would leave a reaction on that long-lived
   * promise, keeping every line read (and its result) alive until the end.
   */
  #untilStop<T>(promise: Promise<T>): Promise<T | 'stop'> {
    if (this.#stopping) return Promise.resolve('stop');
    return new Promise<T | 'stop'>((resolve, reject) => {
      const onStop = (): void => resolve('stop');
      this.#stopWaiters.add(onStop);
      promise.then(resolve, reject).finally(() => this.#stopWaiters.delete(onStop));
    });
  }

  /** Waits until every task handed to the pool is answered (or, after a second Ctrl-C, abandoned). */
  async #drain(): Promise<void> {
    while (this.#inflight > 0) await new Promise<void>((resolve) => { this.#wake = resolve; });
  }

  /** Ctrl-C: the first stops reading, the second kills the running tasks, a third leaves at once. */
  #interrupt(): void {
    this.#presses++;
    if (this.#presses === 1) {
      if (this.#inflight > 0 && this.#reporter !== undefined) {
        this.#reporter.log(`procsafe map: stopping: waiting for the ${this.#inflight} task${this.#inflight === 1 ? '' : 's'} already started (Ctrl-C again to kill them)`);
      }
      this.#stopReading();
    } else if (this.#presses === 2) {
      this.#kill();
    } else {
      // Something is stuck: keep what is written and go.
      this.#writer?.flush();
      process.exit(130);
    }
  }

  /** No more input is read or dispatched; what was handed to the pool finishes. */
  #stopReading(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const wake of this.#stopWaiters) wake();
    this.#stopWaiters.clear();
    this.#input?.destroy();
  }

  /** The running tasks are killed (terminate SIGKILLs the workers) and their inputs left unanswered. */
  #kill(): void {
    this.#stopReading();
    if (this.#terminated) return;
    this.#terminated = true;
    void this.#pool?.terminate();
  }

  #counts(): Counts {
    const stats = this.#pool?.stats();
    return {
      done: (this.#earlier?.count ?? 0) + this.#written,
      failed: (this.#earlier?.failed ?? 0) + this.#failed,
      crashed: stats?.crashed ?? 0,
      retried: stats?.retried ?? 0,
    };
  }

  /** The summary on stderr and the exit code. */
  #finish(elapsedMs: number): number {
    const { outPath, inputPath, quiet } = this.#args;
    const counts = this.#counts();
    const out = (text: string): void => { this.#io.stderr.write(text); };
    const earlier = this.#earlier?.count ?? 0;
    const writeError = (this.#writer as LineWriter).error;
    if (writeError !== undefined) {
      out(`procsafe map: writing ${outPath ?? 'stdout'} failed: ${writeError.message}\n`);
    }
    if (this.#inputError !== undefined) {
      out(`procsafe map: reading ${inputPath ?? 'stdin'} failed: ${this.#inputError.message}\n`);
    }
    const interrupted = this.#presses > 0 && writeError === undefined;
    if (!quiet || interrupted) {
      const seconds = elapsedMs / 1000;
      const thisRun = this.#written;
      const rate = thisRun / Math.max(seconds, 1e-3);
      const trouble = `${counts.crashed} worker crash${counts.crashed === 1 ? '' : 'es'}, ${counts.retried} retr${counts.retried === 1 ? 'y' : 'ies'}`;
      const where = outPath === undefined ? '' : ` in ${outPath}`;
      if (interrupted) {
        const total = this.#inputLines ?? this.#total;
        out(`procsafe map: interrupted: ${counts.done}${total === undefined ? '' : ` of ${total}`} inputs answered${where}` +
          ` (${counts.done - counts.failed} ok, ${counts.failed} failed; ${trouble})` +
          `${this.#abandoned > 0 ? `; ${this.#abandoned} task${this.#abandoned === 1 ? '' : 's'} in flight ${this.#abandoned === 1 ? 'was' : 'were'} stopped and will run again` : ''}.\n`);
        const command = commandLine(['map', ...this.#argv.filter((arg) => arg !== '--resume')]);
        const again = `${command} --resume`;
        if (outPath === undefined) {
          out('The results went to stdout, so there is no file to resume: next time use -o OUT. If stdout went to a file,\n' +
            `resume with: ${command} -o THAT_FILE --resume${inputPath === undefined ? ' (and the same input on stdin)' : ''}\n`);
        } else if (inputPath === undefined) {
          out(`Resume with the same input on stdin: ${again}\n`);
        } else {
          out(`Resume with: ${again}\n`);
        }
      } else {
        out(`procsafe map: ${counts.done} input${counts.done === 1 ? '' : 's'} answered${where}: ${counts.done - counts.failed} ok, ${counts.failed} failed; ${trouble}; ` +
          `${seconds.toFixed(1)} s${thisRun > 0 ? `, ${formatRate(rate)}` : ''}` +
          `${earlier > 0 ? ` (${earlier} answered by earlier runs)` : ''}.\n`);
      }
      const first = this.#firstFailure;
      if (first !== undefined && !quiet) {
        const stack = stackOf(first.error);
        out(`first failure: input ${first.index}: ${stack === undefined ? `${first.json.name}: ${first.json.message}` : userFrames(stack)}\n`);
      }
      const lines = this.#inputLines;
      if (lines !== undefined && this.#earlier !== undefined && this.#earlier.maxIndex >= lines) {
        out(`warning: ${outPath} answers input ${this.#earlier.maxIndex}, but the input has only ${lines} lines: are they from the same input?\n`);
      }
    }
    if (interrupted) return 130;
    if (writeError !== undefined || this.#inputError !== undefined) return 1;
    return counts.failed > 0 ? 1 : 0;
  }
}
