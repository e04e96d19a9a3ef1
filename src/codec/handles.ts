/**
 * Queues, locks, events and barriers are values too: passed as an argument (or
 * put in a queue, or returned) they travel as a *handle* (where the owner
 * listens, the object's id and secret) and arrive as a working object that
 * reaches the same state. v8 copies an object's own enumerable properties, so
 * each shareable instance carries its handle under one key and nothing else
 * enumerable; the receiver turns such objects back into instances.
 */

/** The one own enumerable property of a shareable object, and how the receiver spots it. */
export const kHandleKey = '__procsafe_handle__';
const kHandleKeyBytes = Buffer.from(kHandleKey, 'latin1');
/** On the prototype of every shareable class: findUncopyable lets them through. */
export const kShareable = Symbol.for('procsafe.shareable');

export type HandleKind = 'queue' | 'joinable-queue' | 'lock' | 'semaphore' | 'event' | 'barrier';

export interface Handle {
  readonly kind: HandleKind;
  /** The owner's Unix socket. */
  readonly path: string;
  /** The owner's pid: a client that cannot reach the socket tells "not listening yet" from "gone". */
  readonly pid: number;
  /** The object's id at its owner. */
  readonly object: string;
  /** Proves to the owner that the holder was handed this object. */
  readonly secret: string;
  readonly maxMessageBytes: number;
  /** The kind's own settings: maxsize of a queue, permits of a semaphore, parties of a barrier. */
  readonly size: number;
}

type Reviver = (handle: Handle) => object;
const revivers = new Map<HandleKind, Reviver>();

/** Called once by each shareable class's module, so handles of that kind come back to life. */
export function registerHandleKind(kinds: readonly HandleKind[], revive: Reviver): void {
  for (const kind of kinds) revivers.set(kind, revive);
}

export function isShareable(value: object): boolean {
  return (value as { [kShareable]?: unknown })[kShareable] === true;
}

/** Whether serialized v8 bytes may hold a handle (the key appears verbatim: v8 writes one-byte strings as is). */
export function mayHoldHandles(v8Bytes: Buffer): boolean {
  return v8Bytes.indexOf(kHandleKeyBytes) !== -1;
}

function asHandle(value: object): Handle | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== kHandleKey) return undefined;
  const handle = (value as Record<string, unknown>)[kHandleKey] as Handle | undefined;
  return typeof handle === 'object' && handle !== null && revivers.has(handle.kind) ? handle : undefined;
}

/** Replaces, in place, every handle inside a freshly deserialized value by a working object. */
export function reviveHandles(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  const handle = asHandle(value);
  if (handle !== undefined) return (revivers.get(handle.kind) as Reviver)(handle);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveHandles(value[i], seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, reviveHandles(v, seen));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(reviveHandles(item, seen));
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = reviveHandles(record[key], seen);
  }
  return value;
}
