// Values cross between processes by structured clone (node:v8). v8 throws a bare "could not be cloned" for a function
// and silently turns a class instance into a plain object (losing its prototype and private fields), so values are
// checked first and a SerializationError names the exact path of the offending part.
import { types } from 'node:util';
import v8 from 'node:v8';
import { SerializationError } from '../errors.js';
import { isElementKey, someIndex } from './elements.js';
import { isShareable, reviveRecords } from './handles.js';
import { mayHoldReservedKeys } from './reserved-keys.js';
import { carryErrors, isRichError } from './rich-errors.js';

/** Prototypes whose instances v8 copies faithfully. */
const kCloneable = new Set<unknown>([
  Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, RegExp.prototype,
  ArrayBuffer.prototype, Number.prototype, String.prototype, Boolean.prototype, BigInt.prototype,
  Error.prototype, EvalError.prototype, RangeError.prototype, ReferenceError.prototype, SyntaxError.prototype,
  TypeError.prototype, URIError.prototype, Buffer.prototype,
]);

export interface Uncopyable { readonly path: string; readonly reason: string }

function className(value: object): string {
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'anonymous class';
}

// Errors v8 would copy with a loss (rich-errors.ts) that findUncopyable met so far. Every value is walked before it is
// serialized: when serializeAfter runs the walk itself (a queue item, a result), the count tells whether this value holds
// one, and only then does carryErrors copy it, without looking again. A value its caller walked earlier (a task's
// arguments) may hold one once the count is not 0: carryErrors looks.
let richErrorsMet = 0;

// v8's serializer recurses per level and runs out of stack somewhere past 1,900 levels of objects (fewer in a deep
// call): a nesting limit well below it names the problem instead of a RangeError.
const kMaxDepth = 1000;

// The first part of `value` that cannot be copied faithfully, if any. An array's named properties (v8 copies those too)
// are walked only when `thorough`: listing an array's keys costs as much as a copy, so the everyday walk leaves them to
// v8, and serializeAfter walks thoroughly once v8 refused a value, to name the part.
export function findUncopyable(value: unknown, path: string, seen = new Set<object>(), thorough = false): Uncopyable | undefined {
  return walk(value, path, seen, thorough, 0);
}

function walk(value: unknown, path: string, seen: Set<object>, thorough: boolean, depth: number): Uncopyable | undefined {
  switch (typeof value) {
    case 'string': case 'number': case 'boolean': case 'undefined': case 'bigint': return undefined;
    case 'function':
      return { path, reason: `is a function${value.name ? ` (${value.name})` : ''}; functions cannot be copied to another ` +
        'process: pass data, and name the worker function to run instead' };
    case 'symbol': return { path, reason: 'is a symbol; symbols cannot be copied to another process' };
    case 'object': break;
  }
  if (value === null) return undefined;
  const object = value;
  if (seen.has(object)) return undefined;
  // Before anything reads it: a trap could throw or lie, and v8 refuses every Proxy anyway.
  if (types.isProxy(object)) {
    return { path, reason: 'is a Proxy, which cannot be copied to another process: pass the plain object or array it stands for' };
  }
  if (depth >= kMaxDepth) {
    return { path, reason: `is nested more than ${kMaxDepth} levels deep, too deep to copy to another process: ` +
      'flatten it (a list of items instead of items nested in each other)' };
  }
  if (ArrayBuffer.isView(object)) return undefined;
  // A Queue, Lock … travels as its handle (codec/handles.ts).
  if (isShareable(object)) return undefined;
  const proto: unknown = Object.getPrototypeOf(object);
  if (!kCloneable.has(proto) && proto !== null) {
    // An Error subclass keeps its message, stack and own properties; a plain object from another realm is plain.
    if (object instanceof Error) {
      // fall through to the property walk
    } else if (Object.getPrototypeOf(proto) === null && className(object) === 'Object') {
      // another realm's plain object
    } else {
      const name = className(object);
      const hint = name === 'Promise' ? 'await it first and pass its value' : 'pass a plain object with the data it holds';
      return { path, reason: `is an instance of ${name}, which cannot be copied to another process ` +
        `(its prototype, methods and private state would be lost): ${hint}` };
    }
  }
  seen.add(object);
  if (object instanceof Error && isRichError(object)) richErrorsMet++;
  const next = depth + 1;
  if (Array.isArray(object)) {
    const length = object.length;
    let i = 0;
    let found: Uncopyable | undefined;
    // Read in one try per array, not per element: the walk costs what it did without the check.
    try {
      for (; i < length; i++) {
        const item: unknown = object[i];
        if (item === undefined && !(i in object)) break;
        found = walk(item, `${path}[${i}]`, seen, thorough, next);
        if (found) return found;
      }
    } catch (error) {
      return threwWhenRead(`${path}[${i}]`, error);
    }
    if (i < length) found = walkAfterHole(object, i, path, seen, thorough, next);
    if (found || !thorough) return found;
    for (const key of Object.keys(object)) {
      if (isElementKey(key, length)) continue;
      found = readAndWalk(object, key, `${path}${propLabel(key)}`, seen, thorough, next);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Map) {
    for (const [k, v] of object) {
      const found = walk(k, `${path}<Map key>`, seen, thorough, next) ?? walk(v, `${path}.get(${keyLabel(k)})`, seen, thorough, next);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Set) {
    let i = 0;
    for (const v of object) {
      const found = walk(v, `${path}<Set item ${i++}>`, seen, thorough, next);
      if (found) return found;
    }
    return undefined;
  }
  let key = '';
  try {
    for (key of Object.keys(object)) {
      const found = walk((object as Record<string, unknown>)[key], `${path}${propLabel(key)}`, seen, thorough, next);
      if (found) return found;
    }
  } catch (error) {
    return threwWhenRead(`${path}${propLabel(key)}`, error);
  }
  if (object instanceof Error && 'cause' in object) return readAndWalk(object, 'cause', `${path}.cause`, seen, thorough, next);
  return undefined;
}

/** An array's elements from its first hole on, by its own keys (elements.ts); apart, so walk() captures nothing. */
function walkAfterHole(
  array: unknown[], hole: number, path: string, seen: Set<object>, thorough: boolean, depth: number,
): Uncopyable | undefined {
  let found: Uncopyable | undefined;
  someIndex(array, (j) => j > hole && (found = readAndWalk(array, j, `${path}[${j}]`, seen, thorough, depth)) !== undefined);
  return found;
}

/** Reads a property as v8 would, and names a getter that throws. */
function readAndWalk(
  object: object, key: string | number, path: string, seen: Set<object>, thorough: boolean, depth: number,
): Uncopyable | undefined {
  let item: unknown;
  try {
    item = (object as Record<string | number, unknown>)[key];
  } catch (error) {
    return threwWhenRead(path, error);
  }
  return walk(item, path, seen, thorough, depth);
}

function threwWhenRead(path: string, error: unknown): Uncopyable {
  return { path, reason: `threw when read (${describeThrown(error)}); a getter that throws cannot be copied: ` +
    'pass the value it stands for' };
}

function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'an unprintable value';
  }
}

function keyLabel(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

function propLabel(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Throws SerializationError if `value` cannot be copied; `path` is what to call it (`args`, `result`). */
export function assertCopyable(value: unknown, path: string, what: string): void {
  const found = findUncopyable(value, path);
  if (found) throw new SerializationError(`Cannot copy ${what}: ${found.path} ${found.reason}`, found.path);
}

// Typed arrays and Buffers this large travel out of band: the v8 part holds a reference and their bytes follow on the
// wire as they are, so the sender copies nothing and the receiver gets views into the frame it read.
const kOutOfBandBytes = 64 * 1024;
/** Node's own host-object type numbers (lib/v8.js), and ours for out-of-band views. */
const kViewTypes = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array] as const;
const kOutOfBand = 0x100;

type View = NodeJS.TypedArray | DataView;
type ViewConstructor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => View;

class OutOfBandSerializer extends v8.DefaultSerializer {
  readonly views: Buffer[] = [];

  // Node calls this for every typed array and Buffer (a hook @types/node does not declare).
  _writeHostObject(view: object): void {
    const abView = view as View;
    const type = kViewTypes.indexOf(abView.constructor as (typeof kViewTypes)[number]);
    if (abView.byteLength < kOutOfBandBytes || type === -1) {
      (v8.DefaultSerializer.prototype as unknown as { _writeHostObject(v: object): void })._writeHostObject.call(this, view);
      return;
    }
    this.writeUint32(kOutOfBand + type);
    this.writeUint32(this.views.length);
    this.views.push(Buffer.from(abView.buffer, abView.byteOffset, abView.byteLength));
  }
}

class OutOfBandDeserializer extends v8.DefaultDeserializer {
  readonly #regions: readonly Buffer[];

  constructor(buffer: Buffer, regions: readonly Buffer[]) {
    super(buffer);
    this.#regions = regions;
  }

  _readHostObject(): View {
    const typeIndex = this.readUint32();
    const outOfBand = typeIndex >= kOutOfBand;
    const ctor = kViewTypes[outOfBand ? typeIndex - kOutOfBand : typeIndex] as unknown as ViewConstructor & { BYTES_PER_ELEMENT?: number };
    let region: Buffer;
    if (outOfBand) {
      const found = this.#regions[this.readUint32()];
      if (found === undefined) throw new Error('out-of-band reference to a missing region');
      region = found;
    } else {
      region = this.readRawBytes(this.readUint32());
    }
    const size = ctor.BYTES_PER_ELEMENT ?? 1;
    if (ctor === (Buffer as unknown)) return Buffer.from(region.buffer, region.byteOffset, region.byteLength);
    // Views need aligned memory: copy in the rare case the region is not.
    const aligned = region.byteOffset % size === 0 ? region : Buffer.from(region);
    return new ctor(aligned.buffer, aligned.byteOffset, aligned.byteLength / size);
  }
}

// Serializes `value` after `prefix` bytes (room for a frame header) into the chunks to send: `prefix | u32 v8Length |
// v8 bytes | u32 count | count × u32 length`, then each large view's bytes. `checked`: the caller ran findUncopyable.
export function serializeAfter(prefix: Buffer, value: unknown, path: string, what: string, checked = false): Buffer[] {
  // Checked by the caller: it may hold such an Error once any was met. Walked here: it holds one if this walk met one.
  let carry = richErrorsMet > 0;
  if (!checked) {
    const before = richErrorsMet;
    assertCopyable(value, path, what);
    carry = richErrorsMet > before;
  }
  // carryErrors escapes reserved keys as it copies; a value it did not look at is looked at only if its bytes hold one.
  const chunks = writeValue(prefix, carry ? carryErrors(value, !checked) : value, value, path, what);
  if (carry) return chunks;
  const head = chunks[0] as Buffer;
  const v8Start = prefix.length + 4;
  if (!mayHoldReservedKeys(head.subarray(v8Start, v8Start + head.readUInt32BE(prefix.length)))) return chunks;
  const escaped = carryErrors(value);
  return escaped === value ? chunks : writeValue(prefix, escaped, value, path, what);
}

function writeValue(prefix: Buffer, input: unknown, value: unknown, path: string, what: string): Buffer[] {
  const serializer = new OutOfBandSerializer();
  serializer.writeRawBytes(prefix);
  serializer.writeRawBytes(kZero32);
  serializer.writeHeader();
  try {
    serializer.writeValue(input);
  } catch (error) {
    // A part the everyday walk skips (an array's named property) …
    const found = findUncopyable(value, path, new Set(), true);
    if (found) throw new SerializationError(`Cannot copy ${what}: ${found.path} ${found.reason}`, found.path, { cause: error });
    // … or something our walk lets through and v8 refuses (a WeakMap, a SharedArrayBuffer …).
    throw new SerializationError(`Cannot copy ${what}: ${path} ${(error as Error).message}`, path, { cause: error });
  }
  const views = serializer.views;
  const table = Buffer.allocUnsafe(4 + 4 * views.length);
  table.writeUInt32BE(views.length, 0);
  for (let i = 0; i < views.length; i++) table.writeUInt32BE((views[i] as Buffer).length, 4 + 4 * i);
  serializer.writeRawBytes(table);
  const head = serializer.releaseBuffer();
  head.writeUInt32BE(head.length - prefix.length - 4 - table.length, prefix.length);
  return views.length === 0 ? [head] : [head, ...views];
}

const kZero32 = Buffer.alloc(4);

// Why `payload` is not laid out as serializeAfter writes (lengths that do not add up, no v8 header), or undefined. The
// owner checks items with it, so a peer's garbage is refused at the door instead of failing a reader later.
export function payloadProblem(payload: Buffer, length = payload.length): string | undefined {
  if (length < 9) return `a value of ${length} bytes is shorter than its framing`;
  if (!valueHeaderIn(payload)) return 'its v8 part or its table of binary parts overruns the value';
  const v8Length = payload.readUInt32BE(0);
  const v8End = 4 + v8Length;
  if (v8Length < 2) return 'its v8 part overruns the value';
  if (payload[4] !== 0xff) return 'its v8 part has no serializer header';
  const count = payload.readUInt32BE(v8End);
  let total = v8End + 4 + 4 * count;
  for (let i = 0; i < count; i++) total += payload.readUInt32BE(v8End + 4 + 4 * i);
  return total === length ? undefined : `its parts add up to ${total} bytes, not ${length}`;
}

// Whether `first` (a payload's start) holds all of its v8 part and table of binary parts, what payloadProblem reads: a
// payload that arrived in pieces can then be checked from its first piece.
export function valueHeaderIn(first: Buffer): boolean {
  if (first.length < 8) return false;
  const v8End = 4 + first.readUInt32BE(0);
  if (v8End + 4 > first.length) return false;
  return v8End + 4 + 4 * first.readUInt32BE(v8End) <= first.length;
}

/** Reads a payload written by serializeAfter (without its prefix). */
export function deserialize(payload: Buffer): unknown {
  const v8Length = payload.readUInt32BE(0);
  const v8End = 4 + v8Length;
  const count = payload.readUInt32BE(v8End);
  const regions: Buffer[] = [];
  let at = v8End + 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = payload.readUInt32BE(v8End + 4 + 4 * i);
    regions.push(payload.subarray(at, at + length));
    at += length;
  }
  const v8Bytes = payload.subarray(4, v8End);
  const deserializer = new OutOfBandDeserializer(v8Bytes, regions);
  deserializer.readHeader();
  const value: unknown = deserializer.readValue();
  return mayHoldReservedKeys(v8Bytes) ? reviveRecords(value) : value;
}
