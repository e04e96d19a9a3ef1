// Task arguments on their way to a worker, both sides: the parent sends a flush's tasks as one frame, serialized once
// (one v8 pass, or none), and the child reads them back in order. A task the batch cannot carry (too big, or uncopyable
// after all) fails alone; the rest still go. Tasks whose arguments are all numbers, short strings, booleans, null or
// undefined (most calls) go as BatchSimple, without the v8 serializer: profiling the sequential round trip showed
// serializer and deserializer construction as the largest item on both sides.
// BatchSimple, per task: u32 id | u8 fnLength | fn | u8 argc | argc × (u8 tag | data)
// tags: 0 f64 | 1 u32 byteLength + utf8 (well-formed strings only) | 2 undefined | 3 null | 4 true | 5 false
// Batch: a v8 value, the flat array [id, fn, isChunk (0|1), args, id, fn, …].
import { SerializationError } from '../errors.js';
import { encodeBare } from '../transport/frame.js';
import { deserialize } from './v8.js';
import { encodeFrame } from './value-frame.js';
import { isWellFormed } from './well-formed.js';
import { totalLength } from '../internal/chunks.js';

/** The frame kinds of a batch of tasks; child/protocol.ts's kToChild takes them from here. */
export const kBatchKinds = { Batch: 2, BatchSimple: 6 } as const;

const kMaxStringChars = 4096;
const kMaxArgs = 255;

/** A task as the parent sends it; a settled one (cancelled before it left) goes as a placeholder the child skips. */
export interface OutgoingTask {
  readonly id: number;
  readonly fn: string;
  /** The argument list, or for a map chunk its items, each a call of `fn`. */
  readonly args: readonly unknown[];
  readonly chunk: boolean;
  readonly state: string;
}

/** A task as the child reads it; `fn` '' is a placeholder, to be answered Skipped. */
export interface IncomingTask {
  readonly id: number;
  readonly fn: string;
  readonly chunk: boolean;
  readonly args: unknown[];
}

/** The frame(s) carrying `tasks`; `fail` is called for each task that cannot go. */
export function encodeBatch<T extends OutgoingTask>(
  tasks: readonly T[], maxMessageBytes: number, fail: (task: T, error: Error) => void,
): Buffer[] {
  const simple = tasks.every((task) => !task.chunk) ? simpleBatchSize(tasks.map(asSimple)) : -1;
  if (simple >= 0) {
    const frame = encodeBare(kBatchKinds.BatchSimple, 0, simple);
    writeSimpleBatch(tasks.map(asSimple), frame, frame.length - simple);
    return [frame];
  }
  const encode = (some: readonly OutgoingTask[]): Buffer[] =>
    encodeFrame(kBatchKinds.Batch, 0, '', flatten(some), 'args', 'the arguments', true);
  try {
    const frame = encode(tasks);
    if (frameBytes(frame) <= maxMessageBytes) return frame;
    // Too big together: send the tasks that fit; fail the ones too big on their own.
    for (const task of tasks) {
      const bytes = frameBytes(encode([task]));
      if (bytes > maxMessageBytes) {
        fail(task, new SerializationError(
          `the arguments of "${task.fn}" take ${bytes} bytes, over maxMessageBytes (${maxMessageBytes}); ` +
          'send less per task, or raise maxMessageBytes', 'args'));
      }
    }
    return tasks.flatMap((task) => encode([task]));
  } catch {
    // Something the call-site check let through (a Proxy, say): fail that task alone, send the rest.
    for (const task of tasks) {
      try {
        encode([task]);
      } catch (error) {
        fail(task, refusalOf(task) ?? new SerializationError(
          `Cannot copy the arguments of "${task.fn}": ${(error as Error).message}`, 'args', { cause: error }));
      }
    }
    return encode(tasks);
  }
}

export type BatchKind = (typeof kBatchKinds)[keyof typeof kBatchKinds];

/** Each task of a Batch or BatchSimple frame's payload, in order. */
export function decodeBatch(type: BatchKind, payload: Buffer, onTask: (task: IncomingTask) => void): void {
  if (type === kBatchKinds.BatchSimple) {
    readSimpleBatch(payload, (id, fn, args) => onTask({ id, fn, chunk: false, args }));
    return;
  }
  const flat = deserialize(payload) as unknown[];
  for (let i = 0; i < flat.length; i += 4) {
    onTask({ id: flat[i] as number, fn: flat[i + 1] as string, chunk: flat[i + 2] === 1, args: flat[i + 3] as unknown[] });
  }
}

/** Why the task's own arguments, walked again alone, cannot go: an error that names their path and says what once. */
function refusalOf(task: OutgoingTask): SerializationError | undefined {
  try {
    encodeFrame(kBatchKinds.Batch, 0, '', task.args, 'args', `the arguments of "${task.fn}"`);
  } catch (error) {
    if (error instanceof SerializationError) return error;
  }
  return undefined;
}

function frameBytes(chunks: readonly Buffer[]): number {
  const bytes = totalLength(chunks);
  return bytes;
}

function flatten(tasks: readonly OutgoingTask[]): unknown[] {
  const flat = new Array<unknown>(tasks.length * 4);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i] as OutgoingTask;
    const live = task.state !== 'settled';
    flat[i * 4] = task.id;
    flat[i * 4 + 1] = live ? task.fn : '';
    flat[i * 4 + 2] = task.chunk ? 1 : 0;
    flat[i * 4 + 3] = live ? task.args : [];
  }
  return flat;
}

/** What BatchSimple carries per task. */
export interface SimpleTask {
  readonly id: number;
  readonly fn: string;
  readonly args: readonly unknown[];
}

function asSimple(task: OutgoingTask): SimpleTask {
  return task.state === 'settled' ? { id: task.id, fn: '', args: [] } : task;
}

/** The payload size, or -1 if some argument needs the v8 serializer. */
export function simpleBatchSize(tasks: readonly SimpleTask[]): number {
  let size = 0;
  for (const task of tasks) {
    if (task.args.length > kMaxArgs || !isWellFormed(task.fn)) return -1;
    size += 4 + 1 + Buffer.byteLength(task.fn) + 1;
    for (const arg of task.args) {
      switch (typeof arg) {
        case 'number': size += 9; break;
        case 'string':
          if (arg.length > kMaxStringChars || !isWellFormed(arg)) return -1;
          size += 5 + Buffer.byteLength(arg);
          break;
        case 'boolean': case 'undefined': size += 1; break;
        case 'object':
          if (arg !== null) return -1;
          size += 1;
          break;
        case 'bigint': case 'symbol': case 'function': return -1;
      }
    }
  }
  return size;
}

/** Writes the batch into `out` from `offset`; `out` has simpleBatchSize() bytes there. */
export function writeSimpleBatch(tasks: readonly SimpleTask[], out: Buffer, offset: number): void {
  let at = offset;
  for (const task of tasks) {
    out.writeUInt32BE(task.id >>> 0, at);
    const fnLength = out.write(task.fn, at + 5, 'utf8');
    out[at + 4] = fnLength;
    at += 5 + fnLength;
    out[at++] = task.args.length;
    for (const arg of task.args) {
      if (typeof arg === 'number') {
        out[at] = 0;
        out.writeDoubleLE(arg, at + 1);
        at += 9;
      } else if (typeof arg === 'string') {
        out[at] = 1;
        const length = out.write(arg, at + 5, 'utf8');
        out.writeUInt32BE(length, at + 1);
        at += 5 + length;
      } else {
        out[at++] = arg === undefined ? 2 : arg === null ? 3 : arg === true ? 4 : 5;
      }
    }
  }
}

export function readSimpleBatch(payload: Buffer, onTask: (id: number, fn: string, args: unknown[]) => void): void {
  let at = 0;
  while (at < payload.length) {
    const id = payload.readUInt32BE(at);
    const fnLength = payload[at + 4] as number;
    const fn = payload.toString('utf8', at + 5, at + 5 + fnLength);
    at += 5 + fnLength;
    const argc = payload[at++] as number;
    const args = new Array<unknown>(argc);
    for (let i = 0; i < argc; i++) {
      const tag = payload[at++];
      if (tag === 0) {
        args[i] = payload.readDoubleLE(at);
        at += 8;
      } else if (tag === 1) {
        const length = payload.readUInt32BE(at);
        args[i] = payload.toString('utf8', at + 4, at + 4 + length);
        at += 4 + length;
      } else {
        args[i] = tag === 2 ? undefined : tag === 3 ? null : tag === 4;
      }
    }
    onTask(id, fn, args);
  }
}
