/**
 * SharedArray: a typed array over one file of its owner's private directory on /dev/shm, mapped (MAP_SHARED) into every
 * process its handle reaches, so reads and writes are plain memory accesses everywhere. Lifetime, by the kernel's rules:
 * the file stays while the creating process lives, and goes with the owner's directory when it ends however it ends
 * (queue/spill.ts: at exit, by the watcher after a kill, else by the next owner to start); a mapping outlives the file,
 * so a holder keeps its memory until it lets go, and the memory is freed once the last mapping is gone.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inspect as utilInspect } from 'node:util';
import { type Handle, kHandleKey, reviveRecords } from '../codec/handles.js';
import { adopt, describeHandle, shareable } from '../broker/shareable.js';
import { ProcsafeError } from '../errors.js';
import { validateArgumentCount, validateInteger } from '../internal/validate.js';
import { loadNative, nativeUnavailable, type NativeAddon } from '../native/load.js';
import { prepareOwnerDir, sharedDirFor } from '../transport/shared-dir.js';
import { Lock } from '../sync/lock.js';

/** The element types, by name: the name travels in the handle, and each process maps it to its own constructor. */
const kTypes = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
} as const;

export type SharedArrayType = (typeof kTypes)[keyof typeof kTypes];
type TypeName = keyof typeof kTypes;

// Names this module gives its files: nothing else in the directory matches (spill files are `<16 hex>-<n>`).
const kFileName = /^array-[0-9a-f]{16}$/;

let arriving: Handle | undefined;

/** A fixed-length typed array whose memory every process holding it shares (Python's multiprocessing.Array). */
export class SharedArray<C extends SharedArrayType = SharedArrayType> {
  readonly #handle: Handle;
  readonly #lock: Lock;
  #array: InstanceType<C> | undefined;
  /** Why this process could not map it (an arrived handle whose file is gone); thrown by `array`. */
  #unmapped: ProcsafeError | undefined;

  /**
   * Zero-filled memory for `length` elements of `type`, in a file of this process's /dev/shm directory.
   * Throws ProcsafeError where the native addon is not available (saying why), or /dev/shm cannot hold it.
   */
  constructor(...args: [type: C, length: number]) {
    const [type, length] = args;
    const handle = arriving;
    arriving = undefined;
    if (handle !== undefined) {
      this.#handle = handle;
      this.#lock = reviveRecords({ [kHandleKey]: handle.array?.lock }) as Lock;
      try {
        this.#array = mapArray<C>(handle, false);
      } catch (error) {
        // Reported where the memory is used, not where the handle arrived: an argument or queue item still arrives.
        this.#unmapped = error as ProcsafeError;
      }
    } else {
      validateArgumentCount(args, 'SharedArray', 2, 'two arguments (type, length)');
      const name = typeName(type);
      validateInteger(length, 'length', 0, Math.floor(Number.MAX_SAFE_INTEGER / kTypes[name].BYTES_PER_ELEMENT));
      const native = requireNative();
      this.#lock = new Lock();
      const lockHandle = (this.#lock as unknown as Record<string, Handle>)[kHandleKey] as Handle;
      const dir = prepareOwnerDir(lockHandle.path);
      if (dir === undefined) {
        const where = sharedDirFor(lockHandle.path);
        throw new ProcsafeError(`cannot create a SharedArray: this process has no private directory on /dev/shm (${where}); ` +
          'check that /dev/shm is mounted and writable');
      }
      this.#handle = {
        kind: 'shared-array', path: lockHandle.path, pid: lockHandle.pid, object: `array-${randomBytes(8).toString('hex')}`, secret: '',
        maxMessageBytes: 0, size: length, array: { type: name, lock: lockHandle },
      };
      this.#array = mapArray<C>(this.#handle, true, native);
    }
    adopt(this, this.#handle);
  }

  /** The typed array over the shared memory: the same elements in every process. Atomics work on the integer types. */
  get array(): InstanceType<C> {
    if (this.#array === undefined) throw this.#unmapped as ProcsafeError;
    return this.#array;
  }

  /** A Lock for compound updates (Python's Array(lock=True)); the same lock in every process. */
  get lock(): Lock { return this.#lock; }

  get length(): number { return this.#handle.size; }

  [utilInspect.custom](): string {
    return `SharedArray { ${describeHandle(this.#handle)}, ${this.#handle.array?.type}(${this.#handle.size}) }`;
  }
}

function typeName(type: unknown): TypeName {
  for (const [name, ctor] of Object.entries(kTypes)) if (ctor === type) return name as TypeName;
  const shown = typeof type === 'function' ? type.name || 'an anonymous function' : typeof type;
  throw new TypeError(`SharedArray: type must be one of ${Object.keys(kTypes).join(', ')} (the constructor itself); got ${shown}`);
}

function requireNative(): NativeAddon {
  const native = loadNative();
  if (native !== undefined) return native;
  throw new ProcsafeError(`SharedArray needs procsafe's native addon, which did not load: ${nativeUnavailable() ?? 'unknown reason'}`);
}

function mapArray<C extends SharedArrayType>(handle: Handle, create: boolean, native = requireNative()): InstanceType<C> {
  const type = kTypes[handle.array?.type as TypeName];
  const file = join(sharedDirFor(handle.path), handle.object);
  let memory: ArrayBuffer;
  try {
    memory = native.map(file, handle.size * type.BYTES_PER_ELEMENT, create);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = `SharedArray ${describeHandle(handle)}`;
    throw new ProcsafeError(code === 'ENOENT' && !create
      ? `${what} is gone: its file ${file} was removed when the process that created it ended (processes that mapped it before ` +
        'keep their memory); create SharedArrays in a process that outlives every newcomer'
      : code === 'ENOSPC' || code === 'ENOMEM'
        ? `cannot ${create ? 'create' : 'map'} ${what}: /dev/shm has no room for ${handle.size} ${handle.array?.type} elements ` +
          `(${(error as Error).message}); free memory there, or raise its size (Docker: --shm-size)`
        : `cannot ${create ? 'create' : 'map'} ${what}: ${(error as Error).message}`, { cause: error });
  }
  return new type(memory) as InstanceType<C>;
}

/** Rejects what procsafe never sends: a file outside the owner's directory, an unknown type, a length that is not one. */
function checkHandle(handle: Handle): Handle {
  const { object, size, array } = handle;
  if (!kFileName.test(object) || !Number.isSafeInteger(size) || size < 0 || typeof array !== 'object' || array === null ||
    !Object.hasOwn(kTypes, array.type) || typeof array.lock !== 'object' || array.lock === null || array.lock.kind !== 'lock') {
    const named = JSON.stringify(object).slice(0, 40);
    throw new ProcsafeError(`a SharedArray handle that procsafe did not make arrived (${named}); it was not mapped`);
  }
  return handle;
}

shareable(SharedArray, ['shared-array'], (handle) => {
  arriving = checkHandle(handle);
  try {
    return new SharedArray(kTypes[handle.array?.type as TypeName], handle.size);
  } finally {
    arriving = undefined;
  }
});
