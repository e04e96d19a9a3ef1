/**
 * What the running tasks of `procsafe map` last reported (reportProgress in the
 * task), as the lines drawn under the bar on a terminal: one per input, oldest
 * input first. Reports only replace a value here; the text is made when the bar
 * redraws (10 times a second), so a task reporting in a tight loop costs the
 * CLI next to nothing.
 */

/** More running tasks than this share one last line ("… and 5 more reporting"): the bar stays on screen. */
export const kMaxTaskLines = 8;

/** Longer reports are cut here before the terminal's width cuts them again. */
const kMaxReportChars = 200;

/** The latest report of each running input that has reported, until its result is in. */
export class TaskReports {
  readonly #latest = new Map<number, unknown>();

  report(index: number, value: unknown): void { this.#latest.set(index, value); }

  /** The input is answered (or given up): its line goes. */
  settle(index: number): void { this.#latest.delete(index); }

  get size(): number { return this.#latest.size; }

  /** The lines to draw, at most `max`, oldest input first. */
  lines(max = kMaxTaskLines): string[] {
    const indexes = [...this.#latest.keys()].sort((a, b) => a - b);
    const shown = indexes.length > max ? indexes.slice(0, max - 1) : indexes;
    const lines = shown.map((index) => `  input ${index}: ${describeReport(this.#latest.get(index))}`);
    if (shown.length < indexes.length) lines.push(`  \u2026 and ${indexes.length - shown.length} more reporting`);
    return lines;
  }
}

/**
 * One report as text: a fraction from 0 to 1 as a percentage, `{ done, total }`
 * as "done/total (pct%)", a string as itself, anything else as compact JSON.
 */
export function describeReport(value: unknown): string {
  if (typeof value === 'number' && value >= 0 && value <= 1) return `${Math.floor(value * 100)}%`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return clean(value);
  if (isDoneOfTotal(value)) {
    const { done, total } = value;
    const percent = total > 0 ? ` (${Math.floor((Math.min(done, total) * 100) / total)}%)` : '';
    return `${done}/${total}${percent}`;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    // a cycle: the generic form below
  }
  return clean(text ?? String(value));
}

function isDoneOfTotal(value: unknown): value is { done: number; total: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { done, total } = value as { done?: unknown; total?: unknown };
  return typeof done === 'number' && typeof total === 'number' && Number.isFinite(done) && Number.isFinite(total);
}

/** A report is the task's text, not ours to let move the cursor: control characters become spaces. */
function clean(text: string): string {
  return text.slice(0, kMaxReportChars).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}
