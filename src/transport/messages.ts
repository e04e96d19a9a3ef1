/**
 * The frame types and control messages shared by the parent side
 * (pool/worker-slot.ts) and the child side (child/runtime.ts). Nothing else is
 * shared between the two sides.
 */
import type { RemoteErrorInfo } from '../errors.js';

// parent -> child
export const kInit = 1;      // payload: InitMessage
export const kTask = 2;      // id, fn; payload: the argument array
export const kChunk = 3;     // id, fn; payload: an array of single arguments (map)
export const kCancel = 4;    // id: drop this task if it has not started
export const kStop = 5;      // finish what you hold, then exit 0

// child -> parent
export const kReady = 10;    // payload: ReadyMessage
export const kBootError = 11; // payload: BootErrorMessage
export const kOk = 12;       // id; payload: the result
export const kError = 13;    // id; payload: RemoteErrorInfo
export const kChunkResult = 14; // id; payload: ChunkEntry[]
export const kFatal = 15;    // payload: RemoteErrorInfo, the uncaught error about to end the worker
export const kSkipped = 16;  // id: a cancelled task, dropped unstarted (every task gets exactly one answer)

export interface InitMessage {
  readonly module: string;
  readonly initializer: string | undefined;
  readonly initArgs: readonly unknown[];
  readonly workerId: number;
  readonly name: string;
}

export interface ReadyMessage {
  readonly exports: readonly string[];
}

export interface BootErrorMessage {
  readonly phase: 'import' | 'initializer';
  readonly error: RemoteErrorInfo;
}

/** One item's outcome in a chunk: [true, value] or [false, error]. */
export type ChunkEntry = readonly [true, unknown] | readonly [false, RemoteErrorInfo];
