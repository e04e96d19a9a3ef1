/** How the child side (runtime.ts, process-runner.ts) reaches its parent: a process's fds, or a thread's port. */
/** Where the child writes: `send` must have handed the bytes to the parent's side when it returns. */
export interface ChildPort {
  /** One frame, as the chunks encodeFrame made (or a single buffer). */
  send(frame: Buffer | readonly Buffer[]): void;
  /**
   * A thread's answers are posted in batches, so a thread also marks the task it
   * starts in shared memory: if it dies, the parent still knows which one ran.
   */
  started?(id: number): void;
  /** Hands over what `send` batched. */
  flush?(): void;
  /** Called once the worker has told the parent it is ready. */
  ready?(): void;
  /**
   * Called when the child becomes a Process (Run), before its module loads: a
   * daemon dies with its parent; any other keeps running when the parent is gone.
   */
  becomeProcess?(daemon: boolean): void;
  /**
   * Ends the worker (process or thread) with this exit code once its stdout and
   * stderr have handed over what was written: a worker's last lines are never
   * dropped by its exit. Returns before the exit happens: callers stop after it.
   */
  exit(code: number): void;
}
