/** The results of a `procsafe map` run on their way to OUT: in input order (or as they finish), and counted. */
import { InOrder } from '../../internal/in-order.js';
import type { LineWriter } from './output.js';
import type { ResultLine } from './results.js';
import type { FirstFailure } from './summary.js';

export class Recorder {
  readonly #writer: LineWriter;
  readonly #ordered: boolean;
  readonly #onSettled: () => void;
  // Results wait here (by dispatch sequence) until every earlier one is written.
  readonly #held = new InOrder<ResultLine | null>();
  #nextSeq = 0;
  #written = 0;
  #failed = 0;
  #abandoned = 0;
  #inflight = 0;
  #firstFailure: FirstFailure | undefined;

  constructor(writer: LineWriter, ordered: boolean, onSettled: () => void) {
    this.#writer = writer;
    this.#ordered = ordered;
    this.#onSettled = onSettled;
  }

  get written(): number { return this.#written; }
  get failed(): number { return this.#failed; }
  /** Tasks killed by the second Ctrl-C, left unanswered. */
  get abandoned(): number { return this.#abandoned; }
  /** Inputs handed over and not yet written (or abandoned). */
  get inflight(): number { return this.#inflight; }
  get firstFailure(): FirstFailure | undefined { return this.#firstFailure; }

  /** An input is handed over: its sequence number, for settle(). */
  dispatch(): number {
    this.#inflight++;
    return this.#nextSeq++;
  }

  /** One input answered (or abandoned: `result` null, nothing written): written now, or once every earlier one is. */
  settle(seq: number, index: number, result: ResultLine | null, thrown?: unknown): void {
    if (result?.error !== undefined) {
      this.#failed++;
      if (this.#firstFailure === undefined || index < this.#firstFailure.index) {
        this.#firstFailure = { index, json: result.error, error: thrown };
      }
    }
    if (!this.#ordered) {
      this.#emit(result);
    } else {
      this.#held.add(seq, result);
      for (let next = this.#held.take(); next !== undefined; next = this.#held.take()) this.#emit(next);
    }
    this.#onSettled();
  }

  #emit(result: ResultLine | null): void {
    this.#inflight--;
    if (result === null) {
      this.#abandoned++;
      return;
    }
    this.#written++;
    this.#writer.write(result.line);
  }
}
