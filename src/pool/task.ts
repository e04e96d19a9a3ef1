/** A unit of work as the pool tracks it, from `apply()` to its one and only settlement. */

export type Outcome<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/** queued: waiting for a worker; sent: in a worker's pipeline; settled: answered, or abandoned by its caller. */
export type TaskState = 'queued' | 'sent' | 'settled';

export interface Task {
  readonly id: number;
  readonly fn: string;
  /** The encoded frame, kept to be resent if the worker dies before running it. */
  readonly frame: Buffer;
  /** For a map chunk: its items, kept to be re-run one by one if a crash needs narrowing. */
  readonly items: readonly unknown[] | undefined;
  state: TaskState;
  /** The worker it was sent to, while `sent`. */
  slot: import('./worker-slot.js').WorkerSlot | undefined;
  /** Times this task was running when its worker died. */
  attempts: number;
  /** Deadline and abort cleanups. */
  cleanup: (() => void) | undefined;
  /** Called exactly once: with the value (an Outcome[] for a chunk) or the error. */
  readonly done: (ok: boolean, value: unknown) => void;
}
