// Errors as values, whole. v8 copies an Error's message, stack, cause and the seven standard names, and drops the rest:
// own properties such as Node's `code`, `errno` and `path`, a custom `name`, an AggregateError's `errors`; a DOMException
// (an AbortSignal's reason) arrives as `{}`. An Error that would lose something travels as a plain record under one key
// instead, and the receiver rebuilds it (handles.ts revives both kinds of record in one walk).

import { isElementKey, setOwn, someIndex } from './elements.js';
import { escapeKey, isReservedKey } from './reserved-keys.js';

/** The one key of a carried error's record; shares its prefix with the handle key (reserved-keys.ts). */
export const kErrorKey = '__procsafe_error__';

const kStandard = new Map<string, ErrorConstructor>([
  ['Error', Error], ['EvalError', EvalError], ['RangeError', RangeError], ['ReferenceError', ReferenceError],
  ['SyntaxError', SyntaxError], ['TypeError', TypeError], ['URIError', URIError],
]);

interface ErrorRecord {
  /** The constructor to rebuild with: a standard one, 'AggregateError', 'DOMException', else Error. */
  readonly kind: string;
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly hasCause: boolean;
  readonly cause: unknown;
  /** An AggregateError's errors (own, but not enumerable). */
  readonly errors: unknown[] | undefined;
  /** Own enumerable properties, in order. */
  readonly props: Record<string, unknown>;
}

/** Whether v8 would copy `error` with a loss. */
export function isRichError(error: Error): boolean {
  for (const key in error) {
    if (Object.prototype.hasOwnProperty.call(error, key)) return true;
  }
  return !kStandard.has(error.name) || error instanceof AggregateError || error instanceof DOMException;
}

// `value` with every Error v8 would copy with a loss replaced by its record and every reserved key of user data escaped
// (reserved-keys.ts), or `value` itself if it needs neither; `holdsOne`: the caller's walk met such an Error in it.
// Containers on the way (arrays, plain objects, Maps, Sets) are copied, keeping shared references, cycles and holes;
// `value` is not touched. An array's named properties are copied but not searched: the receiver (handles.ts) reads
// arrays by index only, as listing their keys costs a copy, so an Error there travels as v8 copies it, a key as it is.
export function carryErrors(value: unknown, holdsOne = false): unknown {
  return holdsOne || needsCarrying(value, new Set()) ? copy(value, new Map()) : value;
}

function isPlainContainer(value: object): boolean {
  if (Array.isArray(value) || value instanceof Map || value instanceof Set) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  // Another realm's plain object (findUncopyable lets it through): v8 writes it as a plain one.
  return Object.getPrototypeOf(proto) === null && (value as { constructor?: { name?: unknown } }).constructor?.name === 'Object';
}

/** Whether `value` holds an Error to carry or a plain object with a reserved key. */
function needsCarrying(value: unknown, seen: Set<object>): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Error) {
    if (isRichError(value)) return true;
    return 'cause' in value && needsCarrying(value.cause, seen);
  }
  if (!isPlainContainer(value)) return false;
  if (value instanceof Map) {
    for (const [k, v] of value) if (needsCarrying(k, seen) || needsCarrying(v, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const v of value) if (needsCarrying(v, seen)) return true;
    return false;
  }
  if (Array.isArray(value)) return someIndex(value, (i) => needsCarrying(value[i], seen));
  for (const key of Object.keys(value)) {
    if (isReservedKey(key) || needsCarrying((value as Record<string, unknown>)[key], seen)) return true;
  }
  return false;
}

function copy(value: unknown, done: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (done.has(value)) return done.get(value);
  if (value instanceof Error) {
    if (!isRichError(value)) {
      // v8 copies it faithfully, unless its cause needs carrying: then it is carried too.
      if (!('cause' in value) || !needsCarrying(value.cause, new Set())) return value;
    }
    const record: Record<string, ErrorRecord> = {};
    done.set(value, record);
    // The record's own containers: their keys are read as they are, never as records.
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setOwn(props, key, copy((value as unknown as Record<string, unknown>)[key], done));
    const kind = value instanceof AggregateError ? 'AggregateError' : value instanceof DOMException ? 'DOMException'
      : kStandard.has(value.constructor?.name) ? value.constructor.name : 'Error';
    record[kErrorKey] = {
      kind,
      name: String(value.name),
      message: String(value.message),
      stack: typeof value.stack === 'string' ? value.stack : undefined,
      hasCause: 'cause' in value,
      cause: 'cause' in value ? copy(value.cause, done) : undefined,
      errors: value instanceof AggregateError ? (value.errors as unknown[]).map((e) => copy(e, done)) : undefined,
      props,
    };
    return record;
  }
  if (!isPlainContainer(value)) return value;
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    done.set(value, out);
    for (const [k, v] of value) out.set(copy(k, done), copy(v, done));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    done.set(value, out);
    for (const v of value) out.add(copy(v, done));
    return out;
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    done.set(value, out);
    someIndex(value, (i) => { out[i] = copy(value[i], done); return false; });
    // Named properties go as they are: the receiver would not look there for a record.
    for (const key of Object.keys(value)) {
      if (!isElementKey(key, value.length)) setOwn(out, key, (value as unknown as Record<string, unknown>)[key]);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  done.set(value, out);
  for (const key of Object.keys(value)) setOwn(out, escapeKey(key), copy((value as Record<string, unknown>)[key], done));
  return out;
}

/** The record inside `value` if it is a carried error's, else undefined. */
export function asErrorRecord(value: object): ErrorRecord | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== kErrorKey) return undefined;
  const record = (value as Record<string, unknown>)[kErrorKey] as ErrorRecord | undefined;
  // Anything not shaped as carryErrors writes it stays the plain object it is.
  if (typeof record !== 'object' || record === null) return undefined;
  const { kind, name, message, stack, props, errors } = record;
  const shaped = typeof kind === 'string' && typeof name === 'string' && typeof message === 'string'
    && (stack === undefined || typeof stack === 'string') && typeof props === 'object' && props !== null
    && (errors === undefined || Array.isArray(errors));
  return shaped ? record : undefined;
}

// Rebuilds a carried error. `revive` revives what it holds (handles, nested errors); `register` hears of the new Error
// first, so that a cause or a property leading back to it gets this same Error.
export function rebuildError(record: ErrorRecord, revive: (inner: unknown) => unknown, register: (error: Error) => void): Error {
  let error: Error;
  if (record.kind === 'AggregateError') error = new AggregateError([], record.message);
  else if (record.kind === 'DOMException') error = new DOMException(record.message, record.name);
  else error = new (kStandard.get(record.kind) ?? Error)(record.message);
  register(error);
  // As the originals have them: name, stack, cause and errors own but not enumerable.
  const hidden = (key: string, value: unknown): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: false });
  };
  if (error.name !== record.name) hidden('name', record.name);
  if (record.stack !== undefined) hidden('stack', record.stack);
  if (record.hasCause) hidden('cause', revive(record.cause));
  if (record.kind === 'AggregateError') hidden('errors', (record.errors ?? []).map(revive));
  for (const [key, value] of Object.entries(record.props)) {
    Object.defineProperty(error, key, { value: revive(value), writable: true, configurable: true, enumerable: true });
  }
  return error;
}
