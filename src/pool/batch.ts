/**
 * Tasks leave for a worker in batches, serialized once per flush: one v8 pass (or
 * none, for primitive arguments) instead of one per task. A task the batch cannot
 * carry (too big, or uncopyable after all) fails alone; the rest still go.
 */
import { type SimpleTask, simpleBatchSize, writeSimpleBatch } from '../codec/simple-batch.js';
import { SerializationError } from '../errors.js';
import { encodeBare, encodeFrame } from '../transport/frame.js';
import { kBatch, kBatchSimple } from '../transport/messages.js';
import type { Task } from './task.js';

/** The frame(s) carrying `tasks`; `fail` is called for each task that cannot go. */
export function encodeBatch(tasks: readonly Task[], maxMessageBytes: number, fail: (task: Task, error: Error) => void): Buffer[] {
  const simple = tasks.every((task) => !task.chunk) ? simpleBatchSize(tasks.map(asSimple)) : -1;
  if (simple >= 0) {
    const frame = encodeBare(kBatchSimple, 0, simple);
    writeSimpleBatch(tasks.map(asSimple), frame, frame.length - simple);
    return [frame];
  }
  try {
    const frame = encodeFrame(kBatch, 0, '', flatten(tasks), 'args', 'the arguments', true);
    if (frameBytes(frame) <= maxMessageBytes) return frame;
    // Too big together: send the tasks that fit; fail the ones too big on their own.
    for (const task of tasks) {
      const bytes = frameBytes(encodeFrame(kBatch, 0, '', flatten([task]), 'args', 'the arguments', true));
      if (bytes > maxMessageBytes) {
        fail(task, new SerializationError(
          `the arguments of "${task.fn}" take ${bytes} bytes, over maxMessageBytes (${maxMessageBytes}); ` +
          'send less per task, or raise maxMessageBytes', 'args'));
      }
    }
    return tasks.flatMap((task) => encodeFrame(kBatch, 0, '', flatten([task]), 'args', 'the arguments', true));
  } catch {
    // Something the call-site check let through (a Proxy, say): fail that task alone, send the rest.
    for (const task of tasks) {
      try {
        encodeFrame(kBatch, 0, '', flatten([task]), 'args', 'the arguments', true);
      } catch (error) {
        fail(task, refusalOf(task) ?? new SerializationError(
          `Cannot copy the arguments of "${task.fn}": ${(error as Error).message}`, 'args', { cause: error }));
      }
    }
    return encodeFrame(kBatch, 0, '', flatten(tasks), 'args', 'the arguments', true);
  }
}

/** Why the task's own arguments, walked again alone, cannot go: an error that names their path and says what once. */
function refusalOf(task: Task): SerializationError | undefined {
  try {
    encodeFrame(kBatch, 0, '', task.args, 'args', `the arguments of "${task.fn}"`);
  } catch (error) {
    if (error instanceof SerializationError) return error;
  }
  return undefined;
}

function frameBytes(chunks: readonly Buffer[]): number {
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  return bytes;
}

/** A task as a simple batch sees it; a settled one is a placeholder. */
function asSimple(task: Task): SimpleTask {
  return task.state === 'settled' ? { id: task.id, fn: '', args: [] } : task;
}

/** A batch on the wire; a task settled before it left (cancelled) goes as a placeholder the child skips. */
function flatten(tasks: readonly Task[]): unknown[] {
  const flat = new Array<unknown>(tasks.length * 4);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as Task;
    const live = task.state !== 'settled';
    flat[i * 4] = task.id;
    flat[i * 4 + 1] = live ? task.fn : '';
    flat[i * 4 + 2] = task.chunk ? 1 : 0;
    flat[i * 4 + 3] = live ? task.args : [];
  }
  return flat;
}
