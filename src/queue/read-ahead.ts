/** An iterator over a queue (Queue.iterate): up to `prefetch` items read ahead, given back when the loop ends. */
import { AbortError, QueueClosed } from '../errors.js';
import type { Delivery, QueueBackend, ReadAheadGets } from './backend.js';
import type { QueueEntry } from './queue.js';

export class ReadAhead<T> implements AsyncIterableIterator<T> {
  readonly #backend: QueueBackend;
  readonly #gets: ReadAheadGets;
  readonly #prefetch: number;
  readonly #hand: (delivery: Delivery) => QueueEntry<T> | Promise<QueueEntry<T>>;
  readonly #buffer: Delivery[] = [];
  #outstanding = 0;
  #drained = false;
  #finished = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #unlisten: (() => void) | undefined;

  constructor(
    backend: QueueBackend, prefetch: number, signal: AbortSignal | undefined,
    hand: (delivery: Delivery) => QueueEntry<T> | Promise<QueueEntry<T>>,
  ) {
    this.#backend = backend;
    this.#gets = backend.readAhead({ delivered: (delivery) => this.#delivered(delivery), failed: (error) => this.#failed(error) });
    this.#prefetch = prefetch;
    this.#hand = hand;
    if (signal?.aborted) this.#failure = new AbortError('the iteration was aborted', { cause: signal.reason });
    else if (signal !== undefined) {
      const onAbort = (): void => {
        this.#failure ??= new AbortError('the iteration was aborted', { cause: signal.reason });
        this.#wakeUp();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // A loop that ended must not keep listening: one signal often serves many loops.
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
    }
  }

  [Symbol.asyncIterator](): this { return this; }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#finished) return { value: undefined, done: true };
      if (this.#failure !== undefined) {
        const failure = this.#failure;
        this.#finish();
        throw failure;
      }
      const delivery = this.#buffer.shift();
      if (delivery !== undefined) {
        this.#refill();
        // Awaiting only the rare promise (see Queue#hand): awaiting always would cost every item a turn.
        const entry = this.#hand(delivery);
        return { value: (entry instanceof Promise ? await entry : entry).value, done: false };
      }
      if (this.#drained && this.#outstanding === 0) {
        this.#finish();
        return { value: undefined, done: true };
      }
      this.#refill();
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
  }

  /** Ends the loop: read-ahead items go back, and outstanding gets are cancelled (or given back) before it resolves. */
  async return(): Promise<IteratorResult<T>> {
    this.#finish();
    while (this.#outstanding > 0) await new Promise<void>((resolve) => { this.#wake = resolve; });
    return { value: undefined, done: true };
  }

  /** Only once the window is half empty, so gets (and answers) travel in batches, not one per item handed out. */
  #refill(): void {
    if (this.#outstanding + this.#buffer.length > this.#prefetch / 2) return;
    while (!this.#finished && !this.#drained && this.#failure === undefined && this.#outstanding + this.#buffer.length < this.#prefetch) {
      this.#outstanding++;
      this.#gets.request();
    }
  }

  #delivered(delivery: Delivery): void {
    this.#outstanding--;
    // After the loop ended it joins the others going back (see #giveBack).
    this.#buffer.push(delivery);
    this.#settled();
  }

  #failed(error: Error): void {
    this.#outstanding--;
    if (error instanceof QueueClosed) this.#drained = true;
    else if (!(this.#finished && error instanceof AbortError)) this.#failure ??= error;
    this.#settled();
  }

  #settled(): void {
    if (this.#finished && this.#outstanding === 0) this.#giveBack();
    this.#wakeUp();
  }

  /** Unread items go back in one release, so the owner puts them back in their original order. */
  #giveBack(): void {
    this.#backend.release(this.#buffer.splice(0));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unlisten?.();
    this.#gets.cancelAll();
    if (this.#outstanding === 0) this.#giveBack();
  }
}
