/**
 * What a parent (a pool's worker slots, a Process) and its child say to each
 * other: the frame kinds each way and the typed payloads of the control frames.
 * It lives with the child because the child is the one side every parent
 * talks to, and a child must not load pool or process code to learn it. The
 * encodings of task arguments and results are in codec/task-args.ts and
 * codec/results.ts; an owner's socket speaks another protocol
 * (transport/handshake.ts, broker/protocol.ts). docs/wire.md has the table.
 */
import { kResultKinds } from '../codec/results.js';
import { kBatchKinds } from '../codec/task-args.js';
import { deserialize } from '../codec/v8.js';
import { encodeFrame } from '../codec/value-frame.js';
import type { RemoteErrorInfo } from '../errors.js';
import type { ParentRecord } from '../internal/identity.js';
import { type Frame, frameHeader, kLengthBytes, ProtocolViolation } from '../transport/frame.js';

/** Parent -> child. */
export const kToChild = {
  /** id: the worker's id; payload: InitMessage, one encoding for every worker of a pool (initFrameFor). */
  Init: 1,
  /** payload: the tasks, in order (codec/task-args.ts). */
  Batch: kBatchKinds.Batch,
  /** id: drop this task if it has not started. */
  Cancel: 4,
  /** Finish what you hold, then exit 0. */
  Stop: 5,
  /** As Batch, without v8: primitive arguments only (codec/task-args.ts). */
  BatchSimple: kBatchKinds.BatchSimple,
  /** payload: RunMessage; the child becomes a Process: it runs one function, then exits. */
  Run: 7,
  /** id: the task sent next with this id has an onProgress; the reports of any other task are not even encoded. */
  Listen: 8,
} as const;

export type ToChildKind = (typeof kToChild)[keyof typeof kToChild];

/** Child -> parent. */
export const kFromChild = {
  /** payload: ReadyMessage. */
  Ready: 10,
  /** payload: BootErrorMessage; the child then exits 1. */
  BootError: 11,
  /** id; payload: the result (codec/results.ts has Ok and the three below). */
  Ok: kResultKinds.Ok,
  /** id; payload: RemoteErrorInfo (a Process's fn threw: id 0). */
  Error: 13,
  /** id; payload: ChunkEntry[], one per item of a map chunk. */
  ChunkResult: 14,
  /** payload: RemoteErrorInfo, the uncaught error about to end the child. */
  Fatal: 15,
  /** id: a cancelled task, dropped unstarted (every task gets exactly one answer). */
  Skipped: 16,
  /** id; payload: f64 LE. */
  OkNumber: kResultKinds.OkNumber,
  /** id; payload: a string (codec/results.ts). */
  OkString: kResultKinds.OkString,
  /** id (a Process's fn returned: id 0). */
  OkUndefined: kResultKinds.OkUndefined,
  /** id: the running task; payload: a v8 value it reported (reportProgress). Not an answer: the task goes on. */
  Progress: kResultKinds.Progress,
  /** As Progress, for a number: f64 LE. */
  ProgressNumber: kResultKinds.ProgressNumber,
} as const;

export type FromChildKind = (typeof kFromChild)[keyof typeof kFromChild];

/** The answers to a task: each task sent gets exactly one, in the order sent. */
export const kTaskAnswers = [
  kFromChild.Ok, kFromChild.OkNumber, kFromChild.OkString, kFromChild.OkUndefined,
  kFromChild.Error, kFromChild.ChunkResult, kFromChild.Skipped,
] as const;
export type TaskAnswerKind = (typeof kTaskAnswers)[number];
/** What a child says about itself rather than about a task. */
export type ControlKind = Exclude<FromChildKind, TaskAnswerKind>;

export interface TaskAnswerFrame extends Frame {
  readonly type: TaskAnswerKind;
}

const kToChildKinds: ReadonlySet<number> = new Set(Object.values(kToChild));
const kAnswerKinds: ReadonlySet<number> = new Set(kTaskAnswers);
const kControlKinds: ReadonlySet<number> = new Set(Object.values(kFromChild).filter((kind) => !kAnswerKinds.has(kind)));

export function isToChild(type: number): type is ToChildKind {
  return kToChildKinds.has(type);
}

export function isFromChild(type: number): type is FromChildKind {
  return kAnswerKinds.has(type) || kControlKinds.has(type);
}

export function isTaskAnswer(frame: Frame): frame is TaskAnswerFrame {
  return kAnswerKinds.has(frame.type);
}

export function isControl(type: number): type is ControlKind {
  return kControlKinds.has(type);
}

export type ProgressKind = typeof kFromChild.Progress | typeof kFromChild.ProgressNumber;

export interface InitMessage {
  readonly module: string;
  readonly initializer: string | undefined;
  readonly initArgs: readonly unknown[];
  /** Sent as 0: decodeInit reads it from the frame's id. */
  readonly workerId: number;
  /** The pool's name: the worker is `${name}-${workerId}`. */
  readonly name: string;
  readonly maxMessageBytes: number;
  /** The process that runs the pool, for parentProcess(). */
  readonly parent: ParentRecord;
}

/** What a Process child runs; it answers Ready (or BootError), then OkUndefined or Error. */
export interface RunMessage {
  readonly module: string;
  readonly fn: string;
  readonly args: readonly unknown[];
  /** The process's name, for the report of an error it prints on stderr. */
  readonly name: string;
  /** Stop with the parent, however it dies; otherwise outlive it. */
  readonly daemon: boolean;
  /** The process that started it, for parentProcess(). */
  readonly parent: ParentRecord;
}

export interface ReadyMessage {
  readonly exports: readonly string[];
}

export const kBootPhases = ['import', 'initializer', 'function'] as const;

export interface BootErrorMessage {
  /** 'function': a Process's `fn` is not an exported function of its module. */
  readonly phase: (typeof kBootPhases)[number];
  readonly error: RemoteErrorInfo;
}

/** One item's outcome in a chunk: [true, value] or [false, error]. */
export type ChunkEntry = readonly [true, unknown] | readonly [false, RemoteErrorInfo];

// The Init frame of one worker: the pool's one encoding with this worker's id in a header of its own; the payload,
// initArgs included, is neither copied nor serialized again.
export function initFrameFor(frame: readonly Buffer[], workerId: number): Buffer[] {
  const [first, ...rest] = frame as [Buffer, ...Buffer[]];
  const head = frameHeader(kToChild.Init, workerId, '');
  first.copy(head, 0, 0, kLengthBytes);
  const body = first.subarray(head.length);
  return body.length === 0 ? [head, ...rest] : [head, body, ...rest];
}

// The parent is trusted: the child reads its messages as they were written.
export function decodeInit(frame: Frame): InitMessage {
  return { ...(deserialize(frame.payload) as InitMessage), workerId: frame.id };
}

export function decodeRun(frame: Frame): RunMessage {
  return deserialize(frame.payload) as RunMessage;
}

// A child runs user code, which may write to its channel: what it sends is checked
// before it is used, and a frame that does not decode cuts the child off.
export function encodeReady(exports: readonly string[]): Buffer[] {
  return encodeFrame(kFromChild.Ready, 0, '', { exports } satisfies ReadyMessage, 'ready', 'the ready message');
}

export function decodeReady(frame: Frame): ReadyMessage {
  const ready = deserialize(frame.payload) as Partial<ReadyMessage> | null;
  if (typeof ready !== 'object' || ready === null || !Array.isArray(ready.exports)) throw malformed('ready message');
  return ready as ReadyMessage;
}

export function encodeBootError(phase: BootErrorMessage['phase'], error: RemoteErrorInfo): Buffer[] {
  return encodeFrame(kFromChild.BootError, 0, '', { phase, error } satisfies BootErrorMessage, 'error', 'the bootstrap error');
}

export function decodeBootError(frame: Frame): BootErrorMessage {
  const boot = deserialize(frame.payload) as Partial<BootErrorMessage> | null;
  if (typeof boot !== 'object' || boot === null || !(kBootPhases as readonly unknown[]).includes(boot.phase) || !isRecord(boot.error)) {
    throw malformed('boot error');
  }
  return boot as BootErrorMessage;
}

/** An Error or Fatal frame: what was thrown, described. */
export function encodeErrorInfo(type: typeof kFromChild.Error | typeof kFromChild.Fatal, id: number, info: RemoteErrorInfo): Buffer[] {
  return encodeFrame(type, id, '', info, 'error', type === kFromChild.Fatal ? 'the uncaught error' : 'the error');
}

export function decodeErrorInfo(frame: Frame): RemoteErrorInfo {
  const info: unknown = deserialize(frame.payload);
  if (!isRecord(info)) throw malformed('error descriptor');
  return info as unknown as RemoteErrorInfo;
}

export function decodeChunkEntries(frame: Frame): ChunkEntry[] {
  const entries: unknown = deserialize(frame.payload);
  if (!Array.isArray(entries) || !entries.every((entry) => Array.isArray(entry) && (entry[0] === true || isRecord(entry[1])))) {
    throw malformed('chunk result');
  }
  return entries as ChunkEntry[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function malformed(what: string): ProtocolViolation {
  return new ProtocolViolation(`a malformed ${what}`);
}
