// The common small queue items (numbers, booleans, null, undefined, Latin-1 strings, Buffers under 64 KiB) written and
// read in the exact bytes v8's serializer would produce, without a serializer per item: the profile of a stream of small
// items showed a fresh v8 serializer (and the garbage it leaves) as the producer's largest cost. Anything else goes the
// general way (codec/v8.ts); both sides accept both forms, because they are the same bytes.
import v8 from 'node:v8';

/** The serializer's header (0xFF, version) of this Node, as the general path writes it. */
const kHeader = v8.serialize(0).subarray(0, 2);
const kVersion = kHeader[1] as number;
/** Node's host-object type index for Buffer (codec/v8.ts kViewTypes). */
const kBufferType = 10;
const kMaxInline = 64 * 1024 - 1;

const kTagInt32 = 0x49;    // 'I': zigzag varint
const kTagDouble = 0x4e;   // 'N': f64 little endian
const kTagOneByte = 0x22;  // '"': varint length, Latin-1 bytes
const kTagTrue = 0x54;
const kTagFalse = 0x46;
const kTagNull = 0x30;
const kTagUndefined = 0x5f;
const kTagHost = 0x5c;     // '\\': Node's host object (typed arrays, Buffers)

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) { n = Math.floor(n / 128); length++; }
  return length;
}

function writeVarint(buffer: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buffer[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buffer[at++] = n;
  return at;
}

/** A payload (`u32 v8Length | v8 bytes | u32 0`) for `value`, or undefined if it is not one of the simple kinds. */
export function encodeSimple(value: unknown): Buffer | undefined {
  let body: number;
  switch (typeof value) {
    case 'number':
      body = Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff && !Object.is(value, -0)
        ? 1 + varintLength(value >= 0 ? value * 2 : -value * 2 - 1) : 9;
      break;
    case 'boolean': case 'undefined': body = 1; break;
    case 'string': {
      if (value.length > kMaxInline || !isLatin1(value)) return undefined;
      body = 1 + varintLength(value.length) + value.length;
      break;
    }
    case 'object': {
      if (value === null) { body = 1; break; }
      if (!Buffer.isBuffer(value) || value.constructor !== Buffer || value.length > kMaxInline) return undefined;
      body = 1 + varintLength(kBufferType) + varintLength(value.length) + value.length;
      break;
    }
    case 'bigint': case 'function': case 'symbol': return undefined;
  }
  const v8Length = 2 + body;
  const payload = Buffer.allocUnsafe(4 + v8Length + 4);
  payload.writeUInt32BE(v8Length, 0);
  payload[4] = 0xff;
  payload[5] = kVersion;
  let at = 6;
  switch (typeof value) {
    case 'number':
      if (body === 9) {
        payload[at++] = kTagDouble;
        payload.writeDoubleLE(value, at);
        at += 8;
      } else {
        payload[at++] = kTagInt32;
        at = writeVarint(payload, at, value >= 0 ? value * 2 : -value * 2 - 1);
      }
      break;
    case 'boolean': payload[at++] = value ? kTagTrue : kTagFalse; break;
    case 'undefined': payload[at++] = kTagUndefined; break;
    case 'string':
      payload[at++] = kTagOneByte;
      at = writeVarint(payload, at, value.length);
      at += payload.write(value, at, 'latin1');
      break;
    case 'object':
      if (value === null) {
        payload[at++] = kTagNull;
      } else {
        const bytes = value;
        payload[at++] = kTagHost;
        at = writeVarint(payload, at, kBufferType);
        at = writeVarint(payload, at, bytes.length);
        at += bytes.copy(payload, at);
      }
      break;
    case 'bigint': case 'function': case 'symbol': break; // refused above
  }
  payload.writeUInt32BE(0, at);
  return payload;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Where the last varint read ended (readVarint returns only the value: no array per read). */
let varintEnd = 0;

/** The varint at `at` (before `end`), or -1 if there is none; sets `varintEnd`. */
function readVarint(payload: Buffer, at: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5 && at < end; i++) {
    const byte = payload[at++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      varintEnd = at;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/** The value of a payload in one of the simple forms; `kNotSimple` for anything else (read it the general way). */
export const kNotSimple: unique symbol = Symbol('not simple');

export function decodeSimple(payload: Buffer): unknown {
  if (payload.length < 11) return kNotSimple;
  const v8Length = payload.readUInt32BE(0);
  const end = 4 + v8Length;
  if (end + 4 !== payload.length || payload.readUInt32BE(end) !== 0 || payload[4] !== 0xff || payload[5] !== kVersion) return kNotSimple;
  let at = 6;
  const tag = payload[at++];
  let value: unknown;
  switch (tag) {
    case kTagTrue: value = true; break;
    case kTagFalse: value = false; break;
    case kTagNull: value = null; break;
    case kTagUndefined: value = undefined; break;
    case kTagDouble:
      if (at + 8 > end) return kNotSimple;
      value = payload.readDoubleLE(at);
      at += 8;
      break;
    case kTagInt32: {
      const zigzag = readVarint(payload, at, end);
      if (zigzag === -1) return kNotSimple;
      value = zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
      at = varintEnd;
      break;
    }
    case kTagOneByte: {
      const length = readVarint(payload, at, end);
      if (length === -1 || varintEnd + length > end) return kNotSimple;
      value = payload.toString('latin1', varintEnd, varintEnd + length);
      at = varintEnd + length;
      break;
    }
    case kTagHost: {
      if (readVarint(payload, at, end) !== kBufferType) return kNotSimple;
      const length = readVarint(payload, varintEnd, end);
      if (length === -1 || varintEnd + length > end) return kNotSimple;
      // A copy: the item's bytes may share memory with a whole socket read.
      value = Buffer.from(payload.subarray(varintEnd, varintEnd + length));
      at = varintEnd + length;
      break;
    }
    case undefined: default: return kNotSimple;
  }
  return at === end ? value : kNotSimple;
}
