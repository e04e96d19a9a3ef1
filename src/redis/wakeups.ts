/**
 * How a Redis call waits for something to change (an item, space, a join): it sleeps until the object's pub/sub channel
 * says something happened, or a poll interval passes (a message lost during a reconnect, or a dead holder's lease that
 * lapsed with nobody calling). Pub/sub rather than a blocking command: a blocking pop cannot lease atomically, and
 * one connection per waiting call would cost a connection per reader; one subscription per process serves them all.
 */
import { abortError, type RequestOptions, watchWait } from '../internal/wait.js';
import type { RedisConnection } from './connection.js';

export class Wakeups {
  readonly #connection: RedisConnection;
  readonly #channel: string;
  readonly #pollMs: number;
  readonly #sleepers = new Set<() => void>();
  #unlisten: (() => void) | undefined;
  /** Moves on at every message: an attempt that ran while one came tries again instead of sleeping. */
  #generation = 0;

  constructor(connection: RedisConnection, channel: string, pollMs: number) {
    this.#connection = connection;
    this.#channel = channel;
    this.#pollMs = pollMs;
  }

  get generation(): number { return this.#generation; }

  wakeAll(): void {
    this.#generation++;
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Resolves at the next message, after the poll interval, or after `ms`, whichever comes first. */
  sleep(ms: number | undefined): Promise<void> {
    this.#unlisten ??= this.#connection.listen(this.#channel, () => this.wakeAll());
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, Math.min(ms ?? Infinity, this.#pollMs)));
      this.#sleepers.add(wake);
    });
  }

  stop(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.wakeAll();
  }
}

export interface Attempt<T> {
  /** One try: a result, or undefined to wait and try again. May throw (closed, BrokerLost). */
  readonly run: () => Promise<T | undefined>;
  /** The error when `timeoutMs` ran out (QueueFull, QueueEmpty). */
  readonly onTimeout: () => Error;
  /** The error to end with before each try, or undefined (this process disconnected). */
  readonly stopped: () => Error | undefined;
  /**
   * A result that came after the caller gave up: give it back. With it, a timeout settles on time even while a try is
   * in flight (a get); without it, the try in flight decides (a put that may have gone in must not say it did not).
   */
  readonly giveBack?: (result: T) => void;
}

/**
 * Tries until a try gives a result, sleeping between tries. An abort settles at once (a try in flight is given back if it
 * brings something); so does a timeout when the result can be given back, else it is checked between tries.
 */
export function until<T>(wakeups: Wakeups, options: RequestOptions, attempt: Attempt<T>): Promise<T> {
  const { timeoutMs } = options;
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (error: Error | undefined, value?: T): void => {
      if (done) return;
      done = true;
      stop();
      if (error !== undefined) reject(error);
      else resolve(value as T);
    };
    const onTimeout = attempt.giveBack === undefined ? () => {} : () => {
      finish(attempt.onTimeout());
      wakeups.wakeAll();
    };
    // A nowait call (timeoutMs 0) makes its one try and takes its answer.
    const timed = attempt.giveBack !== undefined && timeoutMs !== undefined && timeoutMs > 0;
    const stop = watchWait({ timeoutMs: timed ? timeoutMs : undefined, signal: options.signal,
      group: options.group }, onTimeout, () => {
      finish(abortError(options.signal !== undefined ? options.signal.reason : options.group?.reason));
      wakeups.wakeAll();
    });
    if (options.signal?.aborted === true || options.group?.cancelled === true) {
      finish(abortError(options.signal?.reason ?? options.group?.reason));
      return;
    }
    void (async () => {
      for (;;) {
        const stopped = attempt.stopped();
        if (stopped !== undefined) return finish(stopped);
        const generation = wakeups.generation;
        const result = await attempt.run();
        if (result !== undefined) {
          if (done) attempt.giveBack?.(result);
          return finish(undefined, result);
        }
        if (done) return undefined;
        const left = deadline === undefined ? undefined : deadline - Date.now();
        if (left !== undefined && left <= 0) return finish(attempt.onTimeout());
        if (wakeups.generation === generation) await wakeups.sleep(left);
        if (done) return undefined;
      }
    })().catch((error: unknown) => finish(error as Error));
  });
}
