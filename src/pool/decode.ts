/** A worker's answer to a task, from its frame on the wire to the value (or error) the task settles with. */
import { decodeChunkEntries, decodeErrorInfo, kFromChild, type ProgressKind, type TaskAnswerFrame } from '../child/protocol.js';
import { decodeProgress, decodeResult } from '../codec/results.js';
import { SerializationError } from '../errors.js';
import { unreachable } from '../internal/unreachable.js';
import type { Frame } from '../transport/frame.js';
import { fromWire } from './crash-report.js';
import type { Outcome, Task } from './task.js';

/** What `task` settles with; a garbled answer fails its own task, never the pool. */
export function decodeAnswer(task: Task, frame: TaskAnswerFrame): { ok: boolean; value: unknown } {
  try {
    return decode(task, frame);
  } catch (error) {
    return {
      ok: false,
      value: new SerializationError(
        `the answer to task ${task.id} ("${task.fn}") could not be decoded: ${(error as Error).message}`, 'result', { cause: error }),
    };
  }
}

function decode(task: Task, frame: TaskAnswerFrame): { ok: boolean; value: unknown } {
  const { type } = frame;
  switch (type) {
    case kFromChild.Ok: case kFromChild.OkNumber: case kFromChild.OkString: case kFromChild.OkUndefined:
      return { ok: true, value: decodeResult(type, frame.payload) };
    case kFromChild.Error: return { ok: false, value: fromWire(decodeErrorInfo(frame)) };
    case kFromChild.ChunkResult: {
      const outcomes: Outcome[] = decodeChunkEntries(frame)
        .map((entry) => (entry[0] ? { ok: true, value: entry[1] } : { ok: false, error: fromWire(entry[1]) }));
      return { ok: true, value: outcomes };
    }
    case kFromChild.Skipped:
      // Skipped answers a task that was already settled; reaching here would mean it was not.
      return { ok: false, value: new Error(`task ${task.id} was skipped by its worker`) };
    default: return unreachable(type, 'answer type');
  }
}

/**
 * A report of the running task (the head of its worker's pipeline: the child runs tasks in order and reports only
 * while one runs) to its caller's onProgress. Dropped undecoded when no one listens or the task is settled already.
 */
export function deliverProgress(head: Task | undefined, frame: Frame & { readonly type: ProgressKind }): void {
  if (head === undefined || head.id !== frame.id || head.state === 'settled' || head.onProgress === undefined) return;
  let value: unknown;
  try {
    value = decodeProgress(frame.type, frame.payload);
  } catch (error) {
    process.emitWarning(`procsafe: a progress report of task ${head.id} ("${head.fn}") could not be decoded and was dropped: ` +
      `${(error as Error).message}`, 'ProcsafeWarning');
    return;
  }
  try {
    head.onProgress(value);
  } catch (error) {
    // The caller's own callback: its error must not cost the pool the worker's frames that follow.
    process.emitWarning(`procsafe: onProgress of task ${head.id} ("${head.fn}") threw: ${(error as Error)?.message ?? String(error)}`,
      'ProcsafeWarning');
  }
}
