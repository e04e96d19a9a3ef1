// reportProgress(), as a worker module calls it. The sink lives on globalThis (one per thread), not in this module: a
// worker module may load its own copy of procsafe, and its reportProgress must still reach the runtime's copy.
// It imports nothing, so loading it from the public index costs a main process nothing.

const kSink = Symbol.for('procsafe.progress');
const holder = globalThis as { [kSink]?: (value: unknown) => void };

/**
 * Sends `value` (copied as any value) to the `onProgress` of the call whose task is running in this worker.
 * A no-op outside a task, or when that call gave no `onProgress`; throws SerializationError if `value` cannot be copied.
 */
export function reportProgress(value: unknown): void {
  holder[kSink]?.(value);
}

/** Set once by the worker runtime of this thread. */
export function setProgressSink(sink: (value: unknown) => void): void {
  holder[kSink] = sink;
}
