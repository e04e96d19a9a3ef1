/**
 * The wire: length-prefixed frames. Every frame is
 *   u32 length (of what follows) | u8 type | u32 id | u8 fnLength | fn (utf8) | payload
 * This file knows bytes only; frames carrying a v8 value are codec/value-frame.ts's.
 */
import { ProtocolViolation } from '../internal/protocol-violation.js';
import { totalLength } from '../internal/chunks.js';

export { ProtocolViolation };

export const kLengthBytes = 4;
const kFixedHeader = 1 + 4 + 1;

/** A connection's frame limit for objects of up to `maxMessageBytes` each: room for the header. */
export function frameLimit(maxMessageBytes: number): number {
  return Math.min(maxMessageBytes + 1024, 2 ** 32 - 1);
}

/** A frame's header with its length left 0, for a writer that sets it once the payload is written. */
export function frameHeader(type: number, id: number, fn: string, extra = 0): Buffer {
  const fnLength = fn === '' ? 0 : Buffer.byteLength(fn);
  const buffer = Buffer.allocUnsafe(kLengthBytes + kFixedHeader + fnLength + extra);
  buffer.writeUInt32BE(0, 0);
  buffer[4] = type;
  buffer.writeUInt32BE(id >>> 0, 5);
  buffer[9] = fnLength;
  if (fnLength > 0) buffer.write(fn, 10, 'utf8');
  return buffer;
}

/** A frame with no payload (cancel, stop), or with `extra` payload bytes left for the caller to fill. */
export function encodeBare(type: number, id: number, extra = 0): Buffer {
  return encodeHead(type, id, '', extra);
}

/**
 * A frame's header for a payload of `payloadLength` bytes. The caller fills the
 * remaining `extra` bytes or sends the payload as the next chunk(s) (no copy).
 */
export function encodeHead(type: number, id: number, fn: string, payloadLength: number, extra = payloadLength): Buffer {
  const buffer = frameHeader(type, id, fn, extra);
  buffer.writeUInt32BE(buffer.length - extra + payloadLength - kLengthBytes, 0);
  return buffer;
}

/** A frame whose payload is `text` (utf8): item ids, refusal messages, JSON answers. */
export function encodeText(type: number, id: number, fn: string, text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = encodeHead(type, id, fn, length);
  frame.write(text, frame.length - length, 'utf8');
  return frame;
}

export interface Frame {
  readonly type: number;
  readonly id: number;
  readonly fn: string;
  readonly payload: Buffer;
  /**
   * The rest of the payload, in order, when a decoder kept a large frame in the
   * pieces it arrived in (FrameDecoder's `piecesFrom`) instead of joining them.
   */
  readonly more?: readonly Buffer[];
}

/** Splits a frame body (without its length prefix) into its fields. */
export function parseFrame(body: Buffer): Frame {
  if (body.length < kFixedHeader) {
    throw new ProtocolViolation(`frame of ${body.length} bytes is shorter than its ${kFixedHeader}-byte header`);
  }
  const fnLength = body[5] as number;
  if (body.length < kFixedHeader + fnLength) throw new ProtocolViolation(`frame of ${body.length} bytes is shorter than its function name`);
  return {
    type: body[0] as number,
    id: body.readUInt32BE(1),
    fn: fnLength === 0 ? '' : body.toString('utf8', kFixedHeader, kFixedHeader + fnLength),
    payload: body.subarray(kFixedHeader + fnLength),
  };
}

/**
 * Reassembles frames from a byte stream. Chunks are kept in a list and joined
 * once a whole frame is there, so a 32 MiB frame costs one copy, not one per
 * chunk. A dying peer's half frame stays in the tail and is simply dropped.
 */
export class FrameDecoder {
  #maxMessageBytes: number;
  readonly #piecesFrom: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  /**
   * `piecesFrom`: frames of at least this many bytes that arrive over several
   * chunks are handed over as those chunks (`onFrame(first, more)`), not joined:
   * a relay (the owner's broker) only forwards them, so a join would be a copy
   * of every large item for nothing.
   */
  constructor(maxMessageBytes: number, piecesFrom = Infinity) {
    this.#maxMessageBytes = maxMessageBytes;
    this.#piecesFrom = piecesFrom;
  }

  /** Raises (or lowers) the limit, e.g. once a peer proved it holds a secret. */
  set maxMessageBytes(value: number) { this.#maxMessageBytes = value; }

  /** Bytes of an incomplete frame held back. */
  get pending(): number { return this.#buffered; }

  /** Calls `onFrame` with each whole frame body in `chunk` (and what was held back). */
  push(chunk: Buffer, onFrame: (body: Buffer, more?: readonly Buffer[]) => void): void {
    let buffer: Buffer;
    if (this.#buffered === 0) {
      buffer = chunk;
    } else {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered < kLengthBytes) return;
      const head = this.#chunks[0] as Buffer;
      const length = head.length >= kLengthBytes ? head.readUInt32BE(0) : Buffer.concat(this.#chunks).readUInt32BE(0);
      this.#check(length);
      if (this.#buffered < kLengthBytes + length) return;
      buffer = length >= this.#piecesFrom && headerIn(head)
        ? this.#emitPieces(length, onFrame)
        : Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
    }
    let offset = 0;
    while (buffer.length - offset >= kLengthBytes) {
      const length = buffer.readUInt32BE(offset);
      // Check before buffering: a hostile peer must not make us hold 4 GiB.
      this.#check(length);
      if (buffer.length - offset < kLengthBytes + length) break;
      onFrame(buffer.subarray(offset + kLengthBytes, offset + kLengthBytes + length));
      offset += kLengthBytes + length;
    }
    if (offset < buffer.length) {
      const rest = buffer.subarray(offset);
      this.#chunks = [rest];
      this.#buffered = rest.length;
    }
  }

  /**
   * Hands the held frame of `length` bytes to `onFrame` as slices of the chunks it
   * came in; returns the bytes that followed it (the start of the next frames).
   */
  #emitPieces(length: number, onFrame: (body: Buffer, more?: readonly Buffer[]) => void): Buffer {
    const chunks = this.#chunks;
    const pieces: Buffer[] = [];
    let need = length;
    let current = (chunks[0] as Buffer).subarray(kLengthBytes);
    let i = 0;
    while (current.length < need) {
      pieces.push(current);
      need -= current.length;
      current = chunks[++i] as Buffer;
    }
    pieces.push(current.subarray(0, need));
    onFrame(pieces[0] as Buffer, pieces.slice(1));
    // push() completes a frame only with the chunk that ends it: the last one held.
    return current.subarray(need);
  }

  #check(length: number): void {
    if (length > this.#maxMessageBytes) {
      throw new ProtocolViolation(`frame of ${length} bytes exceeds maxMessageBytes (${this.#maxMessageBytes})`);
    }
  }
}

/** Whether a held chunk starting with a length prefix also holds the frame's header and function name. */
function headerIn(head: Buffer): boolean {
  return head.length >= kLengthBytes + kFixedHeader && head.length >= kLengthBytes + kFixedHeader + (head[kLengthBytes + 5] as number);
}

/**
 * Joins small frames into one buffer (one write or message); when they add up
 * to more than `limit` they go as they are (a socket writes them together,
 * with writev), since copying a large item only to send it once costs more.
 */
export function coalesce(frames: readonly Buffer[], limit = 1 << 20): readonly Buffer[] {
  if (frames.length <= 1) return frames;
  const total = totalLength(frames);
  return total <= limit ? [Buffer.concat(frames, total)] : frames;
}
