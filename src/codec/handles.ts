// Queues, locks, events and barriers are values too: passed, put or returned, each travels as a *handle* (where the
// owner listens, the object's id and secret) and arrives as a working object on the same state. v8 copies own
// enumerable properties, so each shareable instance carries its handle under one key and nothing else enumerable.

import { setOwn, someIndex } from './elements.js';
import { isEscapedKey, unescapeKey } from './reserved-keys.js';
import { asErrorRecord, rebuildError } from './rich-errors.js';

/** The one own enumerable property of a shareable object, and how the receiver spots it (reserved-keys.ts). */
export const kHandleKey = '__procsafe_handle__';
/** On the prototype of every shareable class: findUncopyable lets them through. */
export const kShareable = Symbol.for('procsafe.shareable');

export type HandleKind =
  'queue' | 'joinable-queue' | 'simple-queue' | 'lock' | 'semaphore' | 'bounded-semaphore' | 'event' | 'barrier' | 'shared-array' |
  'condition' | 'shared-map' | 'pipe';

export interface Handle {
  readonly kind: HandleKind;
  readonly path: string;
  /** The owner's pid: a client that cannot reach the socket tells "not listening yet" from "gone". */
  readonly pid: number;
  readonly object: string;
  /** Proves to the owner that the holder was handed this object. */
  readonly secret: string;
  readonly maxMessageBytes: number;
  /** The kind's own settings: maxsize of a queue, permits of a semaphore, parties of a barrier, length of a SharedArray. */
  readonly size: number;
  /** A SharedArray's element type and Lock; its file is `object` in its owner's directory (shared/shared-array.ts). */
  readonly array?: { readonly type: string; readonly lock: Handle };
  /** A Condition's Lock, which may be owned by another process than the condition's waits (sync/condition.ts). */
  readonly lock?: Handle;
  /** An object whose state lives in Redis (redis/queue-handle.ts): found by URL and name; no socket, pid or secret. */
  readonly redis?: RedisHandle;
}

export interface RedisHandle {
  readonly url: string;
  readonly name: string;
  readonly leaseMs: number;
  readonly redisTimeoutMs: number;
  /** Whether the creating handle gave `maxsize` (else it took the queue's own): a revived handle asks the same. */
  readonly sized: boolean;
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

function asHandle(value: object): Handle | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== kHandleKey) return undefined;
  const handle = (value as Record<string, unknown>)[kHandleKey] as Handle | undefined;
  return typeof handle === 'object' && handle !== null && revivers.has(handle.kind) ? handle : undefined;
}

// Replaces, in place, every handle in a freshly deserialized value by a working object, every carried error by its
// Error, and every escaped key of user data by the key it was sent with. Writes only what changes: holes stay holes.
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
    const array = value as unknown[];
    someIndex(array, (i) => {
      const item = array[i];
      const revived = reviveRecords(item, seen);
      if (revived !== item) array[i] = revived;
      return false;
    });
  } else if (value instanceof Map) {
    reviveMap(value, seen);
  } else if (value instanceof Set) {
    const items = [...value];
    const revived = items.map((item) => reviveRecords(item, seen));
    if (revived.some((item, i) => item !== items[i])) {
      value.clear();
      for (const item of revived) value.add(item);
    }
  } else {
    reviveProperties(value as Record<string, unknown>, seen);
    // An Error v8 copied itself: its cause is its own, but not enumerable.
    if (value instanceof Error && 'cause' in value) {
      const revived = reviveRecords(value.cause, seen);
      if (revived !== value.cause) value.cause = revived;
    }
  }
  return value;
}

function reviveMap(map: Map<unknown, unknown>, seen: Map<object, unknown>): void {
  const entries = [...map];
  let keyChanged = false;
  for (const entry of entries) {
    const key = reviveRecords(entry[0], seen);
    keyChanged ||= key !== entry[0];
    entry[0] = key;
    entry[1] = reviveRecords(entry[1], seen);
  }
  // A changed key would move to the end if set alone: rebuild, to keep the order.
  if (keyChanged) map.clear();
  for (const [key, item] of entries) map.set(key, item);
}

function reviveProperties(record: Record<string, unknown>, seen: Map<object, unknown>): void {
  const keys = Object.keys(record);
  let escaped = false;
  for (const key of keys) {
    escaped ||= isEscapedKey(key);
    const item = record[key];
    const revived = reviveRecords(item, seen);
    if (revived !== item) setOwn(record, key, revived);
  }
  if (!escaped) return;
  // Renamed in place, each would move to the end: define them all again in their order.
  const values = keys.map((key) => record[key]);
  for (const key of keys) delete record[key];
  keys.forEach((key, i) => setOwn(record, isEscapedKey(key) ? unescapeKey(key) : key, values[i]));
}
