/** A unit of work as the pool tracks it, from `apply()` to its one and only settlement. */

export type Outcome<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/** queued: waiting for a worker; sent: in a worker's pipeline; settled: answered, or abandoned by its caller. */
export type TaskState = 'queued' | 'sent' | 'settled';

export interface Task {
  readonly id: number;
  readonly fn: string;
  /** The argument list, or a chunk's items: checked copyable at the call, serialized when sent, with its batch. */
  readonly args: readonly unknown[];
  /** A map chunk: `fn` runs once per item, and a crash is narrowed down item by item. */
  readonly chunk: boolean;
  state: TaskState;
  /** The worker it was sent to, while `sent`. */
  slot: import('./worker-slot.js').WorkerSlot | undefined;
  /** Times this task was running when its worker died. */
  attempts: number;
  /** A chunk narrowed down after a crash: the single-item tasks it became. */
  parts?: Task[];
  /** The caller's onProgress: what the running task reports (reportProgress), in order, until it settles. */
  readonly onProgress?: ((value: unknown) => void) | undefined;
  /** Deadline and abort cleanups. */
  cleanup: (() => void) | undefined;
  /** Called exactly once: with the value (an Outcome[] for a chunk) or the error. */
  readonly done: (ok: boolean, value: unknown) => void;
}

let taskIds = 0;
/** Task ids are unique within the process (they are u32 on the wire). */
export function nextTaskId(): number {
  taskIds = (taskIds + 1) >>> 0 || 1;
  return taskIds;
}
