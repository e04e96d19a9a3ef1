/**
 * Ctrl-C during `procsafe map`: the first stops reading input and lets the
 * tasks already handed to the pool finish, the second kills them (their inputs
 * stay unanswered and run again on --resume), a third leaves at once.
 */
export interface InterruptHooks {
  /** The first Ctrl-C, before reading stops. */
  readonly announce: () => void;
  readonly closeInput: () => void;
  /** Kills the running tasks (terminate SIGKILLs the workers). */
  readonly terminate: () => void;
  /** The third Ctrl-C: something is stuck, keep what is written. */
  readonly flush: () => void;
}

export class Interrupt {
  readonly #hooks: InterruptHooks;
  #presses = 0;
  #stopping = false;
  #terminated = false;
  /** Who waits for something that the first Ctrl-C must cut short (see untilStop). */
  readonly #waiters = new Set<() => void>();

  constructor(hooks: InterruptHooks) {
    this.#hooks = hooks;
  }

  get pressed(): boolean { return this.#presses > 0; }
  /** No more input is read or dispatched. */
  get stopping(): boolean { return this.#stopping; }
  /** The running tasks were killed: their PoolClosed is not an answer. */
  get terminated(): boolean { return this.#terminated; }

  /** Handles SIGINT until the returned function is called. */
  listen(): () => void {
    const onSigint = (): void => this.#press();
    process.on('SIGINT', onSigint);
    return () => { process.removeListener('SIGINT', onSigint); };
  }

  /** What was handed to the pool finishes. */
  stopReading(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    this.#hooks.closeInput();
  }

  kill(): void {
    this.stopReading();
    if (this.#terminated) return;
    this.#terminated = true;
    this.#hooks.terminate();
  }

  /**
   * `promise`, or 'stop' as soon as the first Ctrl-C comes. Not Promise.race with
   * a promise of the stop: each race would leave a reaction on that long-lived
   * promise, keeping every line read (and its result) alive until the end.
   */
  untilStop<T>(promise: Promise<T>): Promise<T | 'stop'> {
    if (this.#stopping) return Promise.resolve('stop');
    return new Promise<T | 'stop'>((resolve, reject) => {
      const onStop = (): void => resolve('stop');
      this.#waiters.add(onStop);
      promise.then(resolve, reject).finally(() => this.#waiters.delete(onStop));
    });
  }

  #press(): void {
    this.#presses++;
    if (this.#presses === 1) {
      this.#hooks.announce();
      this.stopReading();
    } else if (this.#presses === 2) {
      this.kill();
    } else {
      this.#hooks.flush();
      process.exit(130);
    }
  }
}
