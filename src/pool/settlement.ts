// Where every task ends: settled exactly once, counted, the event loop held open while any is owed. The engine's
// other parts settle only through here.
import type { Task } from './task.js';

export class Ledger {
  readonly counts = { completed: 0, failed: 0, crashed: 0, retried: 0, restarts: 0 };
  /** Tasks accepted and not settled. */
  #pending = 0;
  #onIdle: (() => void) | undefined;
  readonly #keepAlive = setInterval(() => {}, 2 ** 31 - 1).unref();
  #holds = 0;

  get pending(): number { return this.#pending; }

  /** A task is owed from now on. */
  accept(): void {
    if (this.#pending++ === 0) this.hold();
  }

  settle(task: Task, ok: boolean, value: unknown): void {
    if (task.state === 'settled') return;
    task.state = 'settled';
    task.cleanup?.();
    this.#count(task, ok, value);
    task.done(ok, value);
    this.#owedOneLess();
  }

  /** A chunk stands down for the tasks it was split into (each accepted already): it is no longer owed itself. */
  replaced(chunk: Task): void {
    chunk.state = 'settled';
    this.#owedOneLess();
  }

  /** Resolves when nothing is owed. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => { this.#onIdle = resolve; });
  }

  // The timer holds the event loop open while the pool owes an answer (children never do); ref()/unref() of one
  // timer as tasks come and go costs less than one timer per task.
  hold(): void {
    if (this.#holds++ === 0) this.#keepAlive.ref();
  }

  release(): void {
    if (--this.#holds === 0) this.#keepAlive.unref();
  }

  dispose(): void {
    clearInterval(this.#keepAlive);
  }

  /** Tasks, not chunks, are counted (SPEC): each item of a chunk counts once. */
  #count(task: Task, ok: boolean, value: unknown): void {
    if (!task.chunk) {
      if (ok) this.counts.completed++;
      else this.counts.failed++;
    } else if (!ok) {
      this.counts.failed += task.args.length;
    } else {
      for (const outcome of value as readonly { readonly ok: boolean }[]) {
        if (outcome.ok) this.counts.completed++;
        else this.counts.failed++;
      }
    }
  }

  #owedOneLess(): void {
    if (--this.#pending !== 0) return;
    this.release();
    const idle = this.#onIdle;
    this.#onIdle = undefined;
    idle?.();
  }
}
