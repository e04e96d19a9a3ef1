// A task's result on its way back from a worker, both sides. The commonest results (a number, undefined, a short
// string) skip the v8 serializer, whose setup costs more than such a task; anything else is an Ok frame with a v8 value.
// A map chunk's results always go as one ChunkResult (child/protocol.ts).
// OkNumber: f64 LE | OkString: utf8 (well-formed strings only) | OkUndefined: nothing | Ok: a v8 value.
// A running task's reports (reportProgress) go the same two ways: ProgressNumber (f64 LE) or Progress (a v8 value).
import { SerializationError } from '../errors.js';
import { unreachable } from '../internal/unreachable.js';
import { encodeBare } from '../transport/frame.js';
import { deserialize } from './v8.js';
import { encodeFrame } from './value-frame.js';
import { isWellFormed } from './well-formed.js';
import { totalLength } from '../internal/chunks.js';

/** The frame kinds of a result; child/protocol.ts's kFromChild takes them from here. */
export const kResultKinds = { Ok: 12, OkNumber: 17, OkString: 18, OkUndefined: 19, Progress: 20, ProgressNumber: 21 } as const;

export type ResultKind = Exclude<(typeof kResultKinds)[keyof typeof kResultKinds], ProgressKind>;
type ProgressKind = typeof kResultKinds.Progress | typeof kResultKinds.ProgressNumber;

const kMaxFastString = 1024;

// The frame answering task `id`; throws SerializationError (the task fails with it) if `value` cannot be copied or is
// over `maxMessageBytes`.
export function encodeResult(id: number, value: unknown, fn: string, maxMessageBytes: number): Buffer | Buffer[] {
  if (typeof value === 'number') {
    const bare = encodeBare(kResultKinds.OkNumber, id, 8);
    bare.writeDoubleLE(value, bare.length - 8);
    return bare;
  }
  if (value === undefined) return encodeBare(kResultKinds.OkUndefined, id);
  if (typeof value === 'string' && value.length <= kMaxFastString && isWellFormed(value)) {
    const bytes = Buffer.byteLength(value);
    const bare = encodeBare(kResultKinds.OkString, id, bytes);
    bare.write(value, bare.length - bytes, 'utf8');
    return bare;
  }
  const what = `the result of "${fn}"`;
  return fitting(encodeFrame(kResultKinds.Ok, id, '', value, 'result', what), maxMessageBytes, what);
}

export function decodeResult(type: ResultKind, payload: Buffer): unknown {
  switch (type) {
    case kResultKinds.OkNumber: return payload.readDoubleLE(0);
    case kResultKinds.OkString: return payload.toString('utf8');
    case kResultKinds.OkUndefined: return undefined;
    case kResultKinds.Ok: return deserialize(payload);
    default: return unreachable(type, 'result type');
  }
}

// What a running task reported; throws SerializationError (in the task, at reportProgress) if it cannot go.
export function encodeProgress(id: number, value: unknown, maxMessageBytes: number): Buffer | Buffer[] {
  if (typeof value === 'number') {
    const bare = encodeBare(kResultKinds.ProgressNumber, id, 8);
    bare.writeDoubleLE(value, bare.length - 8);
    return bare;
  }
  const what = 'the reported progress';
  return fitting(encodeFrame(kResultKinds.Progress, id, '', value, 'progress', what), maxMessageBytes, what);
}

export function decodeProgress(type: ProgressKind, payload: Buffer): unknown {
  return type === kResultKinds.ProgressNumber ? payload.readDoubleLE(0) : deserialize(payload);
}

/** Refuses a frame the parent would cut the worker off for, as a SerializationError of its task instead. */
export function fitting(chunks: Buffer[], maxMessageBytes: number, what: string): Buffer[] {
  const bytes = totalLength(chunks);
  if (bytes <= maxMessageBytes) return chunks;
  throw new SerializationError(
    `${what} takes ${bytes} bytes, over maxMessageBytes (${maxMessageBytes}); return less, or raise maxMessageBytes`, 'result');
}
