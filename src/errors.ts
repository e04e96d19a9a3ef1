/**
 * Every error procsafe raises: one base class, a stable `code` per subclass (E and the class name in capitals, less a
 * trailing "Error"; SPEC fixes ESERIALIZE and ABORT_ERR), and an `instanceof` comparing a registered brand plus the code,
 * so it works across two installed copies (a worker module may resolve its own) and no subclass passes for another.
 */
const kBrand = Symbol.for('procsafe.error');

export class ProcsafeError extends Error {
  static readonly code: string = 'EPROCSAFE';
  declare readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    Object.defineProperty(this, 'name', { value: new.target.name, configurable: true, writable: true });
    Object.defineProperty(this, 'code', { value: new.target.code, enumerable: true, configurable: true });
    Object.defineProperty(this, kBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && kBrand in value &&
      (this === ProcsafeError || (value as { code?: unknown }).code === this.code);
  }
}

/**
 * An item was taken out of the queue because every reader that took it died (kQuarantineAfterDeaths of them,
 * queue/quarantine.ts). One reader's next get rejects with this, once per item; the queue carries on with the next items.
 */
export class ItemQuarantined extends ProcsafeError {
  static override readonly code: string = 'EITEMQUARANTINED';
  /** The quarantined item's id (as `getEntry().id`), and how many readers died holding it. */
  readonly itemId: string;
  readonly deaths: number;
  constructor(message: string, info: { readonly itemId: string; readonly deaths: number }, options?: ErrorOptions) {
    super(message, options);
    this.itemId = info.itemId;
    this.deaths = info.deaths;
  }
}
/** `put` could not find space within its timeout (or at once, for `putNowait`). */
export class QueueFull extends ProcsafeError { static override readonly code: string = 'EQUEUEFULL'; }
/**
 * A Redis lease lapsed before its holder could use it: this process could not renew it for `leaseMs` (Redis unreachable,
 * or this process cut off), so the item went to another reader. Nothing is lost; get again.
 */
export class LeaseLost extends ProcsafeError { static override readonly code: string = 'ELEASELOST'; }
/** `get` found no item within its timeout (or at once, for `getNowait`). */
export class QueueEmpty extends ProcsafeError { static override readonly code: string = 'EQUEUEEMPTY'; }
/** The queue was closed and, for readers, drained. */
export class QueueClosed extends ProcsafeError { static override readonly code: string = 'EQUEUECLOSED'; }
/** The process that owns a queue, lock or pool died; the object is gone. */
/** The other end of a Pipe was closed (or every process holding it died) and nothing is left to read. */
export class PipeClosed extends ProcsafeError { static override readonly code: string = 'EPIPECLOSED'; }

export class BrokerLost extends ProcsafeError { static override readonly code: string = 'EBROKERLOST'; }
/** A task's time limit (`taskTimeoutMs` or the call's `timeoutMs`) passed. */
export class TaskTimeout extends ProcsafeError { static override readonly code: string = 'ETASKTIMEOUT'; }
/** The pool was closed or terminated before the task could run or finish. */
export class PoolClosed extends ProcsafeError { static override readonly code: string = 'EPOOLCLOSED'; }
/** A value cannot be copied between processes; `path` names the offending part. */
export class SerializationError extends ProcsafeError {
  static override readonly code: string = 'ESERIALIZE';
  /** Where in the value the problem is, e.g. `args[0].conn`. */
  readonly path: string;
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}
/** `lock.acquire()` or `sem.acquire()` did not get it within its timeout. */
export class LockTimeout extends ProcsafeError { static override readonly code: string = 'ELOCKTIMEOUT'; }
/** A party of the barrier died, timed out or the barrier was aborted. */
export class BarrierBroken extends ProcsafeError { static override readonly code: string = 'EBARRIERBROKEN'; }
/** The call's `signal` was aborted; `cause` holds the signal's reason. */
export class AbortError extends ProcsafeError { static override readonly code: string = 'ABORT_ERR'; }

// Misuse: a call the object's state does not allow. A class each, so its code follows docs/errors.md and `instanceof` tells them apart.
/** `release()` of a lease that was already released. */
export class ReleasedError extends ProcsafeError { static override readonly code: string = 'ERELEASED'; }
/** `release()` of a BoundedSemaphore (or a Lock) that would raise it past the permits it was created with. */
export class BoundedError extends ProcsafeError { static override readonly code: string = 'EBOUNDED'; }
/** `taskDone()` with no item left to finish in this process (Python's "task_done() called too many times"). */
export class TaskDoneError extends ProcsafeError { static override readonly code: string = 'ETASKDONE'; }
/** A `Process` call its state does not allow: a second `start()`, or `join()` before `start()`. */
/** Misuse: `send` on the receive-only end of a one-way Pipe, or `recv`/`poll` on its send-only end. */
export class PipeDirectionError extends ProcsafeError { static override readonly code: string = 'EPIPEDIRECTION'; }

export class ProcessStateError extends ProcsafeError { static override readonly code: string = 'EPROCESSSTATE'; }

/** `notify()`, `notifyAll()`, `wait()` or `waitFor()` of a Condition without holding its lock (acquired through the Condition). */
export class ConditionNotHeld extends ProcsafeError { static override readonly code: string = 'ECONDITIONNOTHELD'; }

/** What a pool knows of a worker death, carried by {@link WorkerCrashed}. */
export interface CrashInfo {
  readonly workerId: number;
  readonly pid: number | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly taskId: number | undefined;
  readonly fn: string | undefined;
  readonly attempts: number;
  readonly retries: number;
}

/** The worker running this task died (SIGKILL, segfault, out of memory, `process.exit()`, an uncaught error), no retries left. */
export class WorkerCrashed extends ProcsafeError {
  static override readonly code: string = 'EWORKERCRASHED';
  declare readonly workerId: number;
  declare readonly pid: number | undefined;
  declare readonly exitCode: number | null;
  declare readonly signal: NodeJS.Signals | null;
  declare readonly taskId: number | undefined;
  declare readonly fn: string | undefined;
  /** How many times the task ran and took its worker down with it. */
  declare readonly attempts: number;

  constructor(message: string, info: CrashInfo, options?: ErrorOptions) {
    super(message, options);
    // `retries` is the pool's setting, already in the message; the rest describes this death.
    const fields: Omit<CrashInfo, 'retries'> & { retries?: number } = { ...info };
    delete fields.retries;
    Object.assign(this, fields);
  }
}

/** What crossed the wire of an error thrown in a worker. */
export interface RemoteErrorInfo {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The remote error's own enumerable properties (`code`, `errno`, …), copied. */
  readonly properties: Readonly<Record<string, unknown>>;
  readonly cause?: RemoteErrorInfo | undefined;
}

const kReserved = new Set(['name', 'message', 'stack', 'code', 'cause', 'remote', 'remoteName', 'remoteStack', 'properties']);

/**
 * A task threw (or rejected) in its worker: `message`, `remoteName` and `remoteStack` are the remote ones. The remote
 * error's own enumerable properties are all in `properties`, and copied onto this error except the names this class owns
 * (a remote `code` is `remoteCode`) or has already (such as `toString`, so `${error}` works). A remote `cause` arrives as a
 * RemoteError `cause`.
 */
export class RemoteError extends ProcsafeError {
  static override readonly code: string = 'EREMOTE';
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  readonly remoteCode: unknown;
  readonly properties: Readonly<Record<string, unknown>>;

  constructor(info: RemoteErrorInfo, prefix = '') {
    super(prefix + info.message, info.cause ? { cause: new RemoteError(info.cause) } : undefined);
    this.remoteName = info.name;
    this.remoteStack = info.stack;
    this.properties = info.properties;
    this.remoteCode = info.properties['code'];
    for (const [key, value] of Object.entries(info.properties)) {
      if (!kReserved.has(key) && !(key in this)) {
        Object.defineProperty(this, key, { value, enumerable: true, configurable: true, writable: true });
      }
    }
    // The stack that helps is where it was thrown, in the worker.
    if (info.stack !== undefined) {
      const stack = `RemoteError (${info.name} in worker): ${prefix}${info.stack}`;
      Object.defineProperty(this, 'stack', { value: stack, configurable: true, writable: true });
    }
  }
}
