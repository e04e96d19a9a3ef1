/** Values numbered 0, 1, 2, … arrive in any order and are taken in number order (pool.map's outcomes, procsafe map's lines). */
export class InOrder<T> {
  readonly #held = new Map<number, T>();
  #next = 0;

  /** Value number `seq` is done (each number once). */
  add(seq: number, value: T): void {
    this.#held.set(seq, value);
  }

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
