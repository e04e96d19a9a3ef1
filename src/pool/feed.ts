// How map, mapSettled, imap and imapUnordered feed a pool: items read in chunks, at most `ahead` chunks out, each
// outcome yielded in input order or as it finishes. One abort listener serves the whole call.
import { InOrder } from '../internal/in-order.js';
import type { Outcome, Task } from './task.js';

export interface FeedOptions {
  readonly chunksize: number;
  readonly ahead: number;
  readonly ordered: boolean;
  readonly signal: AbortSignal | undefined;
  /** Gives up on a task of this call because its signal was aborted. */
  readonly cancel: (task: Task, signal: AbortSignal) => void;
}

/** Submits one chunk; the task it makes is handed to `track` before it is submitted. */
export type SubmitChunk = (items: unknown[], firstIndex: number, track: ChunkTracker | undefined) => Promise<Outcome[]>;

// The tasks of one call its signal may still cancel: one listener for all (one per chunk would pile up past
// MaxListeners), removed when the call ends, so a settled call leaves nothing on the signal.
export class ChunkTracker {
  readonly signal: AbortSignal;
  readonly #tasks = new Set<Task>();
  readonly #onAbort: () => void;

  constructor(signal: AbortSignal, cancel: (task: Task, signal: AbortSignal) => void) {
    this.signal = signal;
    this.#onAbort = () => { for (const task of [...this.#tasks]) cancel(task, signal); };
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  add(task: Task): void { this.#tasks.add(task); }
  delete(task: Task): void { this.#tasks.delete(task); }

  /** The call is over: tasks still running are its no longer (nobody reads their results). */
  dispose(): void {
    this.signal.removeEventListener('abort', this.#onAbort);
    this.#tasks.clear();
  }
}

/** Yields every item's outcome. If the input throws, as CPython's imap: items read before it run and are yielded, then it throws. */
export async function* feed(input: Iterable<unknown> | AsyncIterable<unknown>, options: FeedOptions,
  submit: SubmitChunk): AsyncGenerator<Outcome, void, undefined> {
  const { chunksize, ahead, ordered, signal, cancel } = options;
  // Made here, not by the caller: the listener exists only while the generator runs, and its finally removes it.
  const tracker = signal === undefined ? undefined : new ChunkTracker(signal, cancel);
  const isAsync = Symbol.asyncIterator in Object(input);
  const iterator = isAsync ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (input as Iterable<unknown>)[Symbol.iterator]();
  const finished = new InOrder<Outcome[]>();
  const arrivals: Outcome[][] = [];
  let wake: (() => void) | undefined;
  let nextChunk = 0;
  let nextIndex = 0;
  // Chunks sent and not yet yielded: bounds both work in flight and results held for order.
  let outstanding = 0;
  let exhausted = false;
  let inputError: { readonly error: unknown } | undefined;
  try {
    for (;;) {
      while (!exhausted && outstanding < ahead) {
        const items: unknown[] = [];
        while (items.length < chunksize) {
          let step: IteratorResult<unknown>;
          try {
            step = isAsync ? await (iterator as AsyncIterator<unknown>).next() : (iterator as Iterator<unknown>).next();
          } catch (error) {
            inputError = { error };
            exhausted = true;
            break;
          }
          if (step.done) {
            exhausted = true;
            break;
          }
          items.push(step.value);
        }
        if (items.length === 0) break;
        const chunkNo = nextChunk++;
        outstanding++;
        void submit(items, nextIndex, tracker).then((outcomes) => {
          if (ordered) finished.add(chunkNo, outcomes);
          else arrivals.push(outcomes);
          wake?.();
        });
        nextIndex += items.length;
      }
      if (ordered) {
        for (let chunk = finished.take(); chunk !== undefined; chunk = finished.take()) {
          outstanding--;
          yield* chunk;
        }
      } else {
        while (arrivals.length > 0) {
          outstanding--;
          yield* arrivals.shift() as Outcome[];
        }
      }
      if (exhausted && outstanding === 0) break;
      // Yielding freed room in the window, or results are waiting: go round again instead of sleeping.
      if (!exhausted && outstanding < ahead) continue;
      if (ordered ? finished.ready : arrivals.length > 0) continue;
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
  } finally {
    tracker?.dispose();
    if (!exhausted) await (iterator as AsyncIterator<unknown>).return?.();
  }
  if (inputError !== undefined) throw inputError.error;
}
