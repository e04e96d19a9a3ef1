/**
 * Values cross between processes by the structured-clone algorithm (node:v8).
 * v8 throws a bare "could not be cloned" for a function and silently turns a
 * class instance into a plain object (dropping its prototype and private
 * fields); both are bugs waiting to happen, so values are checked first and a
 * SerializationError names the exact path of the offending part.
 */
import v8 from 'node:v8';
import { SerializationError } from '../errors.js';

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

/** Walks a value and returns the first part that cannot be copied faithfully, if any. */
export function findUncopyable(value: unknown, path: string, seen = new Set<object>()): Uncopyable | undefined {
  switch (typeof value) {
    case 'string': case 'number': case 'boolean': case 'undefined': case 'bigint': return undefined;
    case 'function': return { path, reason: `is a function${value.name ? ` (${value.name})` : ''}; functions cannot be copied to another process: pass data, and name the worker function to run instead` };
    case 'symbol': return { path, reason: 'is a symbol; symbols cannot be copied to another process' };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return undefined;
  if (ArrayBuffer.isView(object)) return undefined;
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
      return { path, reason: `is an instance of ${name}, which cannot be copied to another process (its prototype, methods and private state would be lost): ${hint}` };
    }
  }
  seen.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const found = findUncopyable(object[i], `${path}[${i}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Map) {
    for (const [k, v] of object) {
      const found = findUncopyable(k, `${path}<Map key>`, seen) ?? findUncopyable(v, `${path}.get(${keyLabel(k)})`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Set) {
    let i = 0;
    for (const v of object) {
      const found = findUncopyable(v, `${path}<Set item ${i++}>`, seen);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(object)) {
    const found = findUncopyable((object as Record<string, unknown>)[key], `${path}${propLabel(key)}`, seen);
    if (found) return found;
  }
  if (object instanceof Error && 'cause' in object) return findUncopyable(object.cause, `${path}.cause`, seen);
  return undefined;
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

/**
 * Serializes `value` after `prefix` bytes (left for a frame header) and returns
 * the whole buffer, so a frame is built with a single allocation. `checked`:
 * the caller already ran findUncopyable over it.
 */
export function serializeAfter(prefix: Buffer, value: unknown, path: string, what: string, checked = false): Buffer {
  if (!checked) assertCopyable(value, path, what);
  const serializer = new v8.DefaultSerializer();
  serializer.writeRawBytes(prefix);
  serializer.writeHeader();
  try {
    serializer.writeValue(value);
  } catch (error) {
    // Something our walk let through and v8 refused (a WeakMap, a SharedArrayBuffer …).
    throw new SerializationError(`Cannot copy ${what}: ${path} ${(error as Error).message}`, path, { cause: error });
  }
  return serializer.releaseBuffer();
}

export function deserialize(buffer: Buffer): unknown {
  return v8.deserialize(buffer);
}
