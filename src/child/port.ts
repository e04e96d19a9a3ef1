// How the child side (runtime.ts, process-runner.ts) reaches its parent: a process's fds, or a thread's port.
// `send` must have handed the bytes to the parent's side when it returns.
export interface ChildPort {
  send(frame: Buffer | readonly Buffer[]): void;
  /** A thread posts answers in batches, so it marks each task it starts in shared memory: if it dies, the parent knows which ran. */
  started?(id: number): void;
  /** Hands over what `send` batched. */
  flush?(): void;
  /** Called once the worker has told the parent it is ready. */
  ready?(): void;
  /** Called when the child becomes a Process, before its module loads: a daemon dies with its parent, any other outlives it. */
  becomeProcess?(daemon: boolean): void;
  /** Exits once stdout and stderr handed over what was written (last lines never dropped); returns first: callers stop after it. */
  exit(code: number): void;
}
