// What every waiting call takes (a timeout, a signal, a group that cancels many at once), whatever carries the request:
// the owner's link (broker/link.ts) or Redis (redis/queue-backend.ts).
import { AbortError } from '../errors.js';
import { resolveTimeout } from './timeout.js';
import { validateAbortSignal, validateKnownKeys, validateObject } from './validate.js';

export interface WaitOptions {
  /** Give up after this long; absent or Infinity: no limit; 0 or negative: do not wait at all. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Cancels many requests at once without an AbortSignal listener each (an iterator's read-ahead gets, when its loop ends). */
export class CancelGroup {
  readonly #cancels = new Set<() => void>();
  #cancelled = false;
  /** Why, for the AbortError's `cause` (a caller's signal's reason). */
  reason: unknown;

  get cancelled(): boolean { return this.#cancelled; }
  add(cancel: () => void): void { this.#cancels.add(cancel); }
  delete(cancel: () => void): void { this.#cancels.delete(cancel); }

  cancel(reason?: unknown): void {
    this.reason = reason;
    this.#cancelled = true;
    for (const cancel of this.#cancels) cancel();
    this.#cancels.clear();
  }
}

/** WaitOptions plus what only procsafe itself passes. */
export interface RequestOptions extends WaitOptions {
  readonly group?: CancelGroup | undefined;
  // For a request with no *Nowait kind (a barrier wait): with `timeoutMs` 0 its cancel follows it at once, so the owner
  // answers it now, one way or the other.
  readonly cancelAtOnce?: boolean | undefined;
}

// Calls `onTimeout` after `timeoutMs` (when set) and `onAbort` when the signal or the group cancels; returns what stops
// both. One place for the wiring every waiting request needs, whoever does the waiting.
export function watchWait({ timeoutMs, signal, group }: RequestOptions, onTimeout: () => void, onAbort: () => void): () => void {
  const timer = timeoutMs !== undefined ? setTimeout(onTimeout, timeoutMs) : undefined;
  signal?.addEventListener('abort', onAbort, { once: true });
  group?.add(onAbort);
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    group?.delete(onAbort);
  };
}

export function abortError(reason: unknown): AbortError {
  return new AbortError('the operation was aborted', { cause: reason });
}

/** No timeout, no signal: shared, since most calls pass no options. */
const kNoWait: WaitOptions = Object.freeze({});

/** Checks the options every waiting call takes; `timeoutMs` as resolveTimeout reads it. */
export function validateWait(options: unknown, name: string, known: readonly string[] = kWaitKeys): WaitOptions {
  if (options === undefined) return kNoWait;
  validateObject(options, `the options of ${name}`);
  // A typo (`{ timeout: 100 }`) would otherwise wait for ever.
  validateKnownKeys(options as Record<string, unknown>, `the options of ${name}`, known);
  const { timeoutMs, signal } = options as WaitOptions;
  validateAbortSignal(signal, 'signal');
  return { timeoutMs: resolveTimeout(timeoutMs, 'timeoutMs'), signal };
}

const kWaitKeys = ['timeoutMs', 'signal'];
