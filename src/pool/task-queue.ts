// Tasks accepted and not yet sent, in the order they go out. A priority or another discipline plugs in here: the
// dispatcher only asks for the next task, and crash recovery only puts tasks back first in line.
import { Fifo } from '../internal/fifo.js';
import type { Task } from './task.js';

export interface TaskQueue {
  /** Tasks in the queue proper: never more than maxQueue. */
  readonly size: number;
  /** Tasks beyond maxQueue, waiting to be let in. */
  readonly waiting: number;
  /** A new task: queued, or held back while the queue is full. */
  add(task: Task): void;
  /** Tasks to run again (their worker died): first in line, in the given order, whatever maxQueue says. */
  requeue(tasks: readonly Task[]): void;
  /** The next task to send, or undefined. */
  next(): Task | undefined;
  /** Forgets a queued task its caller gave up on; call it before the task is settled. */
  remove(task: Task): void;
  /** Empties the queue, returning every task still in it. */
  clear(): Task[];
}

/** First come, first served, with maxQueue as backpressure. */
export class FifoTaskQueue implements TaskQueue {
  readonly #maxQueue: number;
  readonly #queue = new Fifo<Task>();
  readonly #parked = new Fifo<Task>();
  /** Live tasks in #queue: a removed task stays in it, skipped when reached (cheaper than a search). */
  #size = 0;

  constructor(maxQueue: number) {
    this.#maxQueue = maxQueue;
  }

  get size(): number { return this.#size; }
  get waiting(): number { return this.#parked.length; }

  add(task: Task): void {
    if (this.#size >= this.#maxQueue) {
      this.#parked.push(task);
      return;
    }
    this.#queue.push(task);
    this.#size++;
  }

  requeue(tasks: readonly Task[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) {
      this.#queue.unshift(tasks[i] as Task);
      this.#size++;
    }
  }

  next(): Task | undefined {
    for (let task = this.#queue.shift(); task !== undefined; task = this.#queue.shift()) {
      if (task.state !== 'queued') continue;
      this.#size--;
      this.#unpark();
      return task;
    }
    this.#unpark();
    return this.#size > 0 ? this.next() : undefined;
  }

  remove(task: Task): void {
    for (const parked of this.#parked) {
      if (parked !== task) continue;
      const rest = this.#parked.clear().filter((t) => t !== task);
      for (const t of rest) this.#parked.push(t);
      return;
    }
    this.#size--;
    this.#unpark();
  }

  clear(): Task[] {
    this.#size = 0;
    return [...this.#queue.clear(), ...this.#parked.clear()].filter((task) => task.state === 'queued');
  }

  /** Lets tasks held back by maxQueue in, as room frees. */
  #unpark(): void {
    while (this.#parked.length > 0 && this.#size < this.#maxQueue) {
      const task = this.#parked.shift() as Task;
      if (task.state !== 'queued') continue;
      this.#queue.push(task);
      this.#size++;
    }
  }
}
