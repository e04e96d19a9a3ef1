/** The last words of `procsafe map` on stderr, and its exit code. */
import type { Writable } from 'node:stream';
import type { MapArgs } from './args.js';
import type { Answered } from './output.js';
import { type Counts, formatRate } from './progress.js';
import { resumeHint } from './resume.js';
import { type ErrorJson, stackOf } from './results.js';
import { userFrames } from './user-frames.js';

/** The lowest-numbered failure of a run, with the thrown error when there is one (for its stack). */
export interface FirstFailure {
  readonly index: number;
  readonly json: ErrorJson;
  readonly error: unknown;
}

export interface RunOutcome {
  readonly counts: Counts;
  readonly earlier: Answered | undefined;
  /** Result lines written by this run. */
  readonly written: number;
  /** Tasks killed by the second Ctrl-C, left unanswered. */
  readonly abandoned: number;
  readonly firstFailure: FirstFailure | undefined;
  /** The input's line count when it was read to its end. */
  readonly inputLines: number | undefined;
  /** The input's line count from countLines(), if it finished. */
  readonly total: number | undefined;
  readonly inputError: Error | undefined;
  readonly writeError: Error | undefined;
  readonly pressedCtrlC: boolean;
  readonly elapsedMs: number;
}

export function summarize(args: MapArgs, argv: readonly string[], run: RunOutcome, stderr: Writable): number {
  const { outPath, inputPath, quiet } = args;
  const { counts, writeError, inputError } = run;
  const out = (text: string): void => { stderr.write(text); };
  const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const earlier = run.earlier?.count ?? 0;
  if (writeError !== undefined) out(`procsafe map: writing ${outPath ?? 'stdout'} failed: ${writeError.message}\n`);
  if (inputError !== undefined) out(`procsafe map: reading ${inputPath ?? 'stdin'} failed: ${inputError.message}\n`);
  const interrupted = run.pressedCtrlC && writeError === undefined;
  if (!quiet || interrupted) {
    const seconds = run.elapsedMs / 1000;
    const rate = run.written / Math.max(seconds, 1e-3);
    const trouble = `${plural(counts.crashed, 'worker crash', 'worker crashes')}, ${plural(counts.retried, 'retry', 'retries')}`;
    const where = outPath === undefined ? '' : ` in ${outPath}`;
    if (interrupted) {
      const total = run.inputLines ?? run.total;
      const abandoned = run.abandoned;
      const stopped = abandoned === 0 ? ''
        : `; ${plural(abandoned, 'task', 'tasks')} in flight ${abandoned === 1 ? 'was' : 'were'} stopped and will run again`;
      out(`procsafe map: interrupted: ${counts.done}${total === undefined ? '' : ` of ${total}`} inputs answered${where}` +
        ` (${counts.done - counts.failed} ok, ${counts.failed} failed; ${trouble})${stopped}.\n`);
      out(resumeHint(argv, args));
    } else {
      out(`procsafe map: ${plural(counts.done, 'input', 'inputs')} answered${where}: ` +
        `${counts.done - counts.failed} ok, ${counts.failed} failed; ${trouble}; ` +
        `${seconds.toFixed(1)} s${run.written > 0 ? `, ${formatRate(rate)}` : ''}` +
        `${earlier > 0 ? ` (${earlier} answered by earlier runs)` : ''}.\n`);
    }
    const first = run.firstFailure;
    if (first !== undefined && !quiet) {
      const stack = stackOf(first.error);
      const what = stack === undefined ? `${first.json.name}: ${first.json.message}` : userFrames(stack);
      out(`first failure: input ${first.index}: ${what}\n`);
    }
    const lines = run.inputLines;
    if (lines !== undefined && run.earlier !== undefined && run.earlier.maxIndex >= lines) {
      out(`warning: ${outPath} answers input ${run.earlier.maxIndex}, but the input has only ${lines} lines: ` +
        'are they from the same input?\n');
    }
  }
  if (interrupted) return 130;
  if (writeError !== undefined || inputError !== undefined) return 1;
  return counts.failed > 0 ? 1 : 0;
}
