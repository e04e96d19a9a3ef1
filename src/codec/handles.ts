/**
 * Queues, locks, events and barriers are values too: passed as an argument (or
 * put in a queue, or returned) they travel as a *handle* (where the owner
 * listens, the object's id and secret) and arrive as a working object that
 * reaches the same state. v8 copies an object's own enumerable properties, so
 * each shareable instance carries its handle under one key and nothing else
 * enumerable; the receiver turns such objects back into instances.
 */

import { asErrorRecord, rebuildError } from './rich-errors.js';

/** The one own enumerable property of a shareable object, and how the receiver spots it. */
export const kHandleKey = '__procsafe_handle__';
/** What the handle key and a carried error's key (rich-errors.ts) start with. */
const kRecordPrefixBytes = Buffer.from('__procsafe_', 'latin1');
/** On the prototype of every shareable class: findUncopyable lets them through. */
export const kShareable = Symbol.for('procsafe.shareable');

export type HandleKind = 'queue' | 'joinable-queue' | 'lock' | 'semaphore' | 'bounded-semaphore' | 'event' | 'barrier';

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

/**
 * Whether serialized v8 bytes may hold a handle or a carried error (their keys
 * appear verbatim: v8 writes one-byte strings as is).
 */
export function mayHoldRecords(v8Bytes: Buffer): boolean {
  return v8Bytes.indexOf(kRecordPrefixBytes) !== -1;
}

function asHandle(value: object): Handle | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== kHandleKey) return undefined;
  const handle = (value as Record<string, unknown>)[kHandleKey] as Handle | undefined;
  return typeof handle === 'object' && handle !== null && revivers.has(handle.kind) ? handle : undefined;
}

/**
 * Replaces, in place, every handle inside a freshly deserialized value by a
 * working object, and every carried error by the Error it stands for.
 */
export function reviveRecords(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  // A record met twice (a shared or cyclic reference) gives the same revived object.
  if (seen.has(value)) return seen.get(value);
  seen.set(value, value);
  const handle = asHandle(value);
  if (handle !== undefined) {
    const revived = (revivers.get(handle.kind) as Reviver)(handle);
    seen.set(value, revived);
    return revived;
  }
  const carried = asErrorRecord(value);
  if (carried !== undefined) return rebuildError(carried, (inner) => reviveRecords(inner, seen), (error) => seen.set(value, error));
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveRecords(value[i], seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, reviveRecords(v, seen));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(reviveRecords(item, seen));
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = reviveRecords(record[key], seen);
    // An Error v8 copied itself: its cause is its own, but not enumerable.
    if (value instanceof Error && 'cause' in value) value.cause = reviveRecords(value.cause, seen);
  }
  return value;
}
