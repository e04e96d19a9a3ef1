/**
 * Progress of `procsafe map` on stderr: a bar redrawn in place on a terminal
 * (drawn by cli-progress, which owns the cursor, line wrapping and the log
 * lines above the bar), with a line under it for each running task that
 * reports its own progress; a plain line every few seconds otherwise (a log
 * file or CI keeps every line, so redrawing would only spam it); or nothing.
 */
import cliProgress from 'cli-progress';
import type { Writable } from 'node:stream';
import type { WriteStream } from 'node:tty';
import { kMaxTaskLines, TaskReports } from './task-progress.js';

export interface Counts {
  /** Inputs answered, earlier runs (--resume) included. */
  readonly done: number;
  readonly failed: number;
  /** Workers that died (the pool's count). */
  readonly crashed: number;
  /** Tasks re-run after their worker died. */
  readonly retried: number;
}

export interface ProgressReporter {
  /** The number of inputs, once known (a file's lines are counted while the run starts). */
  setTotal(total: number): void;
  /** Called for every answered input: must stay cheap, drawing happens on a timer. */
  update(counts: Counts): void;
  /** A line of a worker's output, printed above the bar instead of through it. */
  log(line: string): void;
  /**
   * Whether the running tasks' own reports are shown (on a terminal only): when
   * false, the run does not ask the pool for them at all.
   */
  readonly showsTasks: boolean;
  /** Input `index`'s task reported `value` (reportProgress): must stay cheap, a task may report in a loop. */
  taskProgress(index: number, value: unknown): void;
  /** Input `index` is answered: its task's line goes. */
  taskSettled(index: number): void;
  /** Draws the final state and stops the timer. */
  stop(): void;
}

export type ProgressMode = 'bar' | 'lines' | 'none';

export interface ProgressOptions {
  readonly stream: Writable;
  /** Starts each plain line: which function runs. */
  readonly label: string;
  readonly initial: Counts;
  readonly intervalMs: number;
}

/** The rate over the last few seconds, not since the start: after a stall or a resume it recovers quickly. */
const kRateWindowMs = 10_000;

class Rate {
  readonly #samples: [number, number][] = [];

  constructor(startDone: number) {
    this.#samples.push([performance.now(), startDone]);
  }

  /** Inputs per second. */
  sample(done: number): number {
    const now = performance.now();
    const last = this.#samples[this.#samples.length - 1] as [number, number];
    if (now - last[0] >= 250) this.#samples.push([now, done]);
    while (this.#samples.length > 2 && now - (this.#samples[1] as [number, number])[0] > kRateWindowMs) this.#samples.shift();
    const [t0, d0] = this.#samples[0] as [number, number];
    return now - t0 < 200 ? 0 : ((done - d0) * 1000) / (now - t0);
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(rate: number): string {
  return rate >= 100 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`;
}

/** "3 failed, 1 crash, 1 retry": the counts that say whether things are going well. */
function formatTrouble(counts: Counts): string {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return `${counts.failed} failed, ${plural(counts.crashed, 'crash', 'crashes')}, ${plural(counts.retried, 'retry', 'retries')}`;
}

function describe(counts: Counts, total: number | undefined, rate: number): { done: string; rate: string; eta: string; trouble: string } {
  const done = total === undefined ? `${counts.done} done` : `${counts.done}/${total}`;
  let eta = '';
  if (total !== undefined) {
    eta = counts.done >= total ? 'ETA 0s' : rate > 0 ? `ETA ${formatDuration((total - counts.done) / rate)}` : 'ETA ?';
  }
  return { done, rate: formatRate(rate), eta, trouble: formatTrouble(counts) };
}

/** Plain progress lines (stderr not a terminal): every 2 s unless the environment says otherwise (tests). */
const kDefaultIntervalMs = 2_000;

/** A bar on a terminal, plain lines otherwise, nothing when quiet. */
export function reporterFor(stderr: Writable, quiet: boolean, label: string, initial: Counts): ProgressReporter {
  const stderrTty = (stderr as Partial<WriteStream>).isTTY === true;
  const mode: ProgressMode = quiet ? 'none' : stderrTty ? 'bar' : 'lines';
  const intervalMs = Number(process.env['PROCSAFE_MAP_PROGRESS_MS']) || kDefaultIntervalMs;
  return createReporter(mode, { stream: stderr, label, initial, intervalMs });
}

function createReporter(mode: ProgressMode, options: ProgressOptions): ProgressReporter {
  if (mode === 'bar') return new BarReporter(options);
  if (mode === 'lines') return new LineReporter(options);
  return {
    setTotal: () => {},
    update: () => {},
    log: (line) => options.stream.write(`${line}\n`),
    showsTasks: false,
    taskProgress: () => {},
    taskSettled: () => {},
    stop: () => {},
  };
}

class LineReporter implements ProgressReporter {
  readonly #options: ProgressOptions;
  readonly #rate: Rate;
  readonly #timer: NodeJS.Timeout;
  #counts: Counts;
  #total: number | undefined;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#counts = options.initial;
    this.#rate = new Rate(options.initial.done);
    // unref: progress never keeps the CLI alive by itself.
    this.#timer = setInterval(() => this.#print(), options.intervalMs).unref();
  }

  setTotal(total: number): void { this.#total = total; }

  update(counts: Counts): void { this.#counts = counts; }

  log(line: string): void { this.#options.stream.write(`${line}\n`); }

  // A log keeps every line: a task's reports would bury the counts.
  readonly showsTasks = false;
  taskProgress(): void {}
  taskSettled(): void {}

  stop(): void {
    clearInterval(this.#timer);
  }

  #print(): void {
    const rate = this.#rate.sample(this.#counts.done);
    const parts = describe(this.#counts, this.#total, rate);
    const percent = this.#total === undefined || this.#total === 0 ? '' : ` (${Math.floor((this.#counts.done * 100) / this.#total)}%)`;
    this.#options.stream.write(
      `${this.#options.label}: ${parts.done}${percent}, ${parts.rate}${parts.eta === '' ? '' : `, ${parts.eta}`}, ${parts.trouble}\n`);
  }
}

class BarReporter implements ProgressReporter {
  readonly #multi: cliProgress.MultiBar;
  readonly #bar: cliProgress.SingleBar;
  readonly #rate: Rate;
  readonly #reports = new TaskReports();
  /** One bar each, used as a line of text; they only grow in number (a shrinking MultiBar redraws at once), and go at stop(). */
  readonly #taskLines: cliProgress.SingleBar[] = [];
  /** What each task line shows at the next redraw. */
  #taskText: string[] = [];
  #counts: Counts;
  #total: number | undefined;
  #stopped = false;

  constructor(options: ProgressOptions) {
    this.#counts = options.initial;
    this.#rate = new Rate(options.initial.done);
    this.#multi = new cliProgress.MultiBar({
      stream: options.stream,
      // Our own SIGINT handler decides what Ctrl-C does; the library's would stop the bar on the first one.
      gracefulExit: false,
      hideCursor: true,
      // Cut to the terminal's width rather than wrap onto a second line that the next redraw leaves behind.
      linewrap: true,
      // Every line every time: a logged line moves the lines below it, and an unchanged one would not be drawn again.
      forceRedraw: true,
      fps: 10,
      barsize: 12,
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      // No label, a short bar, the counts last but compact: the whole line fits 80 columns.
      format: (barOptions, params) => {
        const rate = this.#rate.sample(this.#counts.done);
        const parts = describe(this.#counts, this.#total, rate);
        const { failed, crashed, retried } = this.#counts;
        const trouble = `failed ${failed}  crashes ${crashed}  retries ${retried}`;
        if (this.#total === undefined) return `${parts.done}  ${parts.rate}  ${trouble}`;
        const bar = cliProgress.Format.BarFormat(params.progress, barOptions);
        const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
        return `${bar} ${percent} ${parts.done}  ${parts.rate}  ${parts.eta}  ${trouble}`;
      },
    });
    this.#bar = this.#multi.create(1, 0);
    // Pulled right before each redraw: updates themselves cost nothing.
    this.#multi.on('update-pre', () => {
      this.#bar.update(this.#counts.done);
      this.#layOutTasks();
    });
  }

  setTotal(total: number): void {
    this.#total = total;
    this.#bar.setTotal(Math.max(total, 1));
  }

  update(counts: Counts): void { this.#counts = counts; }

  log(line: string): void { this.#multi.log(`${line}\n`); }

  readonly showsTasks = true;

  taskProgress(index: number, value: unknown): void { this.#reports.report(index, value); }

  taskSettled(index: number): void { this.#reports.settle(index); }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    // The run is over: no task is running, and the final picture is the bar alone.
    for (const line of this.#taskLines) this.#multi.remove(line);
    this.#bar.update(this.#counts.done);
    this.#multi.update();
    this.#multi.stop();
  }

  /** Before a redraw: a line per reporting task, blank lines below them when fewer run than before. */
  #layOutTasks(): void {
    if (this.#reports.size === 0 && this.#taskLines.length === 0) return;
    const text = this.#reports.lines(kMaxTaskLines);
    // Created here, inside the redraw: MultiBar.create neither draws nor starts one, the loop that follows draws it.
    while (this.#taskLines.length < text.length) {
      const at = this.#taskLines.length;
      this.#taskLines.push(this.#multi.create(1, 0, undefined, { format: () => this.#taskText[at] ?? '' }));
    }
    this.#taskText = text;
  }
}
