/** A worker's answer to a task, from its frame on the wire to the value (or error) the task settles with. */
import { deserialize } from '../codec/v8.js';
import { type RemoteErrorInfo, SerializationError } from '../errors.js';
import {
  type ChunkEntry, kChunkResult, kError, kOk, kOkNumber, kOkString, kOkUndefined, kSkipped,
} from '../transport/messages.js';
import { fromWire } from './crash-report.js';
import type { Outcome, Task } from './task.js';

/** Frame types that answer the task at the head of a worker's pipeline. */
export function isAnswer(type: number): boolean {
  return type === kOk || type === kOkNumber || type === kOkString || type === kOkUndefined ||
    type === kError || type === kChunkResult || type === kSkipped;
}

/** What `task` settles with; a garbled answer fails its own task, never the pool. */
export function decodeAnswer(task: Task, type: number, payload: Buffer): { ok: boolean; value: unknown } {
  try {
    return decode(task, type, payload);
  } catch (error) {
    return {
      ok: false,
      value: new SerializationError(
        `the answer to task ${task.id} ("${task.fn}") could not be decoded: ${(error as Error).message}`, 'result', { cause: error }),
    };
  }
}

function decode(task: Task, type: number, payload: Buffer): { ok: boolean; value: unknown } {
  switch (type) {
    case kOkNumber: return { ok: true, value: payload.readDoubleLE(0) };
    case kOkString: return { ok: true, value: payload.toString('utf8') };
    case kOkUndefined: return { ok: true, value: undefined };
    case kOk: return { ok: true, value: deserialize(payload) };
    case kError: return { ok: false, value: fromWire(deserialize(payload) as RemoteErrorInfo) };
    case kChunkResult: {
      const entries = deserialize(payload) as ChunkEntry[];
      const outcomes: Outcome[] = entries.map((entry) => (entry[0] ? { ok: true, value: entry[1] } : { ok: false, error: fromWire(entry[1]) }));
      return { ok: true, value: outcomes };
    }
    default:
      // kSkipped answers a task that was already settled; reaching here would mean it was not.
      return { ok: false, value: new Error(`task ${task.id} was skipped by its worker`) };
  }
}
