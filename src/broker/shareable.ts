// What every Queue, Lock, Semaphore, Event and Barrier class shares: where its handle comes from (a new object at this
// process's broker, or the handle it arrived as), how it travels (codec/handles.ts), and one instance per object per
// thread, so that bookkeeping such as `taskDone()`'s "the oldest item this process holds" does not depend on which copy
// of the handle is used.
import { type Handle, type HandleKind, kHandleKey, kShareable, registerHandleKind } from '../codec/handles.js';
import { createObject } from './owner.js';

const instances = new Map<string, object>();
let reviving: Handle | undefined;

const keyOf = (handle: Handle): string => `${handle.path}#${handle.object}`;

/** The handle of the object being constructed: the one it arrived as, or a new object owned here. */
export function claimHandle(kind: HandleKind, size: number, maxMessageBytes: number): Handle {
  const handle = reviving ?? createObject(kind, size, maxMessageBytes);
  reviving = undefined;
  return handle;
}

/** Makes `instance` travel as `handle` and be the one instance of it in this thread. */
export function adopt(instance: object, handle: Handle): void {
  Object.defineProperty(instance, kHandleKey, { value: handle, enumerable: true });
  instances.set(keyOf(handle), instance);
}

/** Registers a class: its instances pass findUncopyable, and its handles come back as instances. */
export function shareable(ctor: { prototype: object }, kinds: readonly HandleKind[], make: (handle: Handle) => object): void {
  Object.defineProperty(ctor.prototype, kShareable, { value: true });
  registerHandleKind(kinds, (handle) => {
    const existing = instances.get(keyOf(handle));
    if (existing !== undefined) return existing;
    reviving = handle;
    try {
      return make(handle);
    } finally {
      reviving = undefined;
    }
  });
}

/** A short description for messages and `util.inspect`. */
export function describeHandle(handle: Handle): string {
  return `${handle.kind} ${handle.object} of pid ${handle.pid}`;
}
