/**
 * The frame types and control messages shared by the parent side
 * (pool/worker-slot.ts, process/process.ts) and the child side (child/runtime.ts).
 * Nothing else is shared between the two sides. (An owner's socket speaks
 * another protocol: transport/handshake.ts, broker/protocol.ts.)
 */
import type { RemoteErrorInfo } from '../errors.js';

// parent -> child
export const kInit = 1;      // payload: InitMessage
export const kBatch = 2;     // payload: [id, fn, isChunk, args, id, fn, isChunk, args, …]: tasks in order;
                             // a chunk's args are single items (map); fn '' is a placeholder to answer with kSkipped
export const kBatchSimple = 6; // payload: see codec/simple-batch.ts (primitive arguments only)
export const kCancel = 4;    // id: drop this task if it has not started
export const kStop = 5;      // finish what you hold, then exit 0
export const kRun = 7;       // payload: RunMessage; the child becomes a Process: run one function, then exit

// child -> parent
export const kReady = 10;    // payload: ReadyMessage
export const kBootError = 11; // payload: BootErrorMessage
export const kOk = 12;       // id; payload: the result
export const kError = 13;    // id; payload: RemoteErrorInfo (a Process's fn threw: id 0)
export const kChunkResult = 14; // id; payload: ChunkEntry[]
export const kFatal = 15;    // payload: RemoteErrorInfo, the uncaught error about to end the worker
export const kSkipped = 16;  // id: a cancelled task, dropped unstarted (every task gets exactly one answer)

// Results that skip v8 serialization: the common small cases.
export const kOkNumber = 17; // id; payload: f64
export const kOkString = 18; // id; payload: utf8
export const kOkUndefined = 19; // id (a Process's fn returned: id 0)

export interface InitMessage {
  readonly module: string;
  readonly initializer: string | undefined;
  readonly initArgs: readonly unknown[];
  readonly workerId: number;
  readonly name: string;
  readonly maxMessageBytes: number;
}

/** What a Process child runs; it answers kReady (or kBootError), then kOkUndefined or kError. */
export interface RunMessage {
  readonly module: string;
  readonly fn: string;
  readonly args: readonly unknown[];
  /** The process's name, for the report of an error it prints on stderr. */
  readonly name: string;
  /** Stop with the parent, however it dies; otherwise outlive it. */
  readonly daemon: boolean;
}

export interface ReadyMessage {
  readonly exports: readonly string[];
}

export interface BootErrorMessage {
  /** 'function': a Process's `fn` is not an exported function of its module. */
  readonly phase: 'import' | 'initializer' | 'function';
  readonly error: RemoteErrorInfo;
}

/** One item's outcome in a chunk: [true, value] or [false, error]. */
export type ChunkEntry = readonly [true, unknown] | readonly [false, RemoteErrorInfo];
