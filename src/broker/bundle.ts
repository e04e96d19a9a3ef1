// Bundles: several small frames of one kind, for one object, travelling as one frame. A streaming producer's puts, a
// reader's read-ahead gets and the owner's answers to them go as one frame per turn instead of one per item: one header
// to build and parse, one buffer. (Measured on an 8-byte stream, a few percent of CPU: per-frame work was not the main
// cost; see BENCHMARKS.md.) Each part is then handled exactly as the frame it stands for.
// A part: u32 id | u8 fnLength | fn (utf8) | u32 length | payload.
import { encodeHead, type Frame, ProtocolViolation } from '../transport/frame.js';
import { type AnswerKind, type BundleKind, kAnswer, kBundle, kRequest, type RequestKind } from './protocol.js';
import { totalLength } from '../internal/chunks.js';

/** A frame waiting in an outbox to travel in a bundle with its neighbours. */
export interface Part {
  readonly bundle: BundleKind;
  /** The bundle's fn: the object requests are about ('' for answers). */
  readonly object: string;
  readonly id: number;
  readonly fn: string;
  readonly payload: readonly Buffer[];
}

/** The payload of a part that carries none (a get, a put's acceptance): one shared empty list. */
export const kNoPayload: readonly Buffer[] = [];

/** What each bundle type stands for. */
const kSingle = new Map<number, RequestKind | AnswerKind>([
  [kBundle.Put, kRequest.Put], [kBundle.Get, kRequest.Get], [kBundle.Done, kAnswer.Done], [kBundle.Delivered, kAnswer.Delivered],
]);

// A bundle stops growing here, or at the receiver's frame limit if lower: parts that do not fit start the next one (a
// lone larger part goes alone).
const kBundleBytes = 256 * 1024;
const kPartHead = 4 + 1 + 4;

export function isBundle(type: number): type is BundleKind {
  return kSingle.has(type);
}

// Calls `onFrame` with each part of a bundle, as the single frame it stands for. The whole bundle is checked first: a
// malformed one is refused before any part of it is acted on.
export function unbundle(bundle: Frame, onFrame: (frame: Frame) => void): void {
  const type = kSingle.get(bundle.type);
  if (type === undefined) throw new ProtocolViolation(`frame type ${bundle.type} is not a bundle`);
  // A decoder that keeps large frames in pieces (the owner's) hands a big bundle over in them.
  const payload = bundle.more === undefined || bundle.more.length === 0 ? bundle.payload : Buffer.concat([bundle.payload, ...bundle.more]);
  const parts: Frame[] = [];
  let at = 0;
  while (at < payload.length) {
    if (payload.length - at < kPartHead) throw new ProtocolViolation('a bundle ends inside the header of a part');
    const id = payload.readUInt32BE(at);
    const fnLength = payload[at + 4] as number;
    const lengthAt = at + 5 + fnLength;
    if (payload.length < lengthAt + 4) throw new ProtocolViolation('a bundle ends inside the header of a part');
    const length = payload.readUInt32BE(lengthAt);
    const end = lengthAt + 4 + length;
    if (end > payload.length) {
      throw new ProtocolViolation(`a part of a bundle claims ${length} bytes; ${payload.length - lengthAt - 4} are left`);
    }
    parts.push({
      type, id,
      fn: fnLength === 0 ? bundle.fn : payload.toString('utf8', at + 5, lengthAt),
      payload: payload.subarray(lengthAt + 4, end),
    });
    at = end;
  }
  for (const part of parts) onFrame(part);
}

// Frames to send, in order: runs of parts with the same bundle type and object leave as bundles, the rest as queued.
// `build` entries make their frames only when taken (see Link.send).
export class Outbox {
  #entries: (Buffer | Part | (() => readonly Buffer[]))[] = [];

  get empty(): boolean { return this.#entries.length === 0; }

  push(frame: Buffer): void { this.#entries.push(frame); }
  pushPart(part: Part): void { this.#entries.push(part); }
  pushBuild(build: () => readonly Buffer[]): void { this.#entries.push(build); }
  /** Puts frames ahead of everything queued (a handshake's first frames). */
  unshift(frames: readonly Buffer[]): void { this.#entries.unshift(...frames); }
  clear(): void { this.#entries = []; }

  /** Empties the outbox into the buffers to write; `limit`: the largest payload the receiver takes in one frame. */
  take(limit: number): Buffer[] {
    const entries = this.#entries;
    this.#entries = [];
    // A lone frame (a reader's ack, written as it hands an item out) needs no sorting.
    if (entries.length === 1 && Buffer.isBuffer(entries[0])) return entries as Buffer[];
    const most = Math.min(kBundleBytes, limit);
    const out: Buffer[] = [];
    let runStart = 0;
    let runLength = 0;
    let runBytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Buffer | Part | (() => readonly Buffer[]);
      if (Buffer.isBuffer(entry) || typeof entry === 'function') {
        if (runLength > 0) bundleInto(out, entries as Part[], runStart, runLength, runBytes);
        runLength = 0;
        if (Buffer.isBuffer(entry)) out.push(entry);
        else for (const frame of entry()) out.push(frame);
        continue;
      }
      const bytes = partBytes(entry);
      const first = entries[runStart] as Part;
      if (runLength > 0 && (first.bundle !== entry.bundle || first.object !== entry.object || runBytes + bytes > most)) {
        bundleInto(out, entries as Part[], runStart, runLength, runBytes);
        runLength = 0;
      }
      if (runLength === 0) {
        runStart = i;
        runBytes = 0;
      }
      runLength++;
      runBytes += bytes;
    }
    if (runLength > 0) bundleInto(out, entries as Part[], runStart, runLength, runBytes);
    return out;
  }
}

function partBytes(part: Part): number {
  let bytes = kPartHead + Buffer.byteLength(part.fn);
  for (const chunk of part.payload) bytes += chunk.length;
  return bytes;
}

/** One bundle of the `count` parts from `parts[start]`, or the single frame for one part. */
function bundleInto(out: Buffer[], parts: readonly Part[], start: number, count: number, bytes: number): void {
  const first = parts[start] as Part;
  if (count === 1) {
    const length = totalLength(first.payload);
    const single = kSingle.get(first.bundle) as RequestKind | AnswerKind;
    out.push(encodeHead(single, first.id, first.fn === '' ? first.object : first.fn, length, 0), ...first.payload);
    return;
  }
  // At most kBundleBytes: one buffer, one copy of each (small) payload.
  const frame = encodeHead(first.bundle, 0, first.object, bytes);
  let at = frame.length - bytes;
  for (let i = start; i < start + count; i++) {
    const part = parts[i] as Part;
    frame.writeUInt32BE(part.id >>> 0, at);
    const fnLength = part.fn === '' ? 0 : frame.write(part.fn, at + 5, 'utf8');
    frame[at + 4] = fnLength;
    const lengthAt = at + 5 + fnLength;
    at = lengthAt + 4;
    for (const chunk of part.payload) at += chunk.copy(frame, at);
    frame.writeUInt32BE(at - lengthAt - 4, lengthAt);
  }
  out.push(frame);
}
