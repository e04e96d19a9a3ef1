/** A worker's answer to a task, from its frame on the wire to the value (or error) the task settles with. */
import { decodeChunkEntries, decodeErrorInfo, kFromChild, type TaskAnswerFrame } from '../child/protocol.js';
import { decodeResult } from '../codec/results.js';
import { SerializationError } from '../errors.js';
import { unreachable } from '../internal/unreachable.js';
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
