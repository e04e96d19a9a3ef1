/**
 * Puts back in order what finishes out of order: values numbered 0, 1, 2, …
 * arrive in any order and are taken in number order, each once every earlier
 * one has been taken. `pool.map` yields its chunks' outcomes through one, and
 * `procsafe map` writes its result lines through another.
 */
export class InOrder<T> {
  readonly #held = new Map<number, T>();
  #next = 0;

  /** Value number `seq` is done (each number once). */
  add(seq: number, value: T): void {
    this.#held.set(seq, value);
  }

  /** Whether the next value in order is here. */
  get ready(): boolean {
    return this.#held.has(this.#next);
  }

  /** The next value in order, or undefined while it is still out. */
  take(): T | undefined {
    if (!this.#held.has(this.#next)) return undefined;
    const value = this.#held.get(this.#next) as T;
    this.#held.delete(this.#next++);
    return value;
  }
}
