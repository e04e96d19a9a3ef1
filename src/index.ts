/** procsafe: Python's multiprocessing for Node.js, where no participant's death can wedge, leak or drop anything. */
export {
  AbortError, BarrierBroken, BoundedError, BrokerLost, ConditionNotHeld, ItemQuarantined, LeaseLost, LockTimeout, PipeClosed,
  PipeDirectionError, PoolClosed, ProcsafeError, QueueClosed, QueueEmpty, QueueFull, ProcessStateError, ReleasedError, RemoteError,
  SerializationError, TaskDoneError, TaskTimeout, WorkerCrashed,
} from './errors.js';
export type { CrashInfo, RemoteErrorInfo } from './errors.js';
export { Pool } from './pool/pool.js';
export { reportProgress } from './child/progress.js';
export type { ApplyOptions, MapOptions, Outcome } from './pool/pool.js';
export type { PoolOptions } from './pool/options.js';
export type { PoolStats } from './pool/stats.js';
export type { Args, FnName, Result, UntypedModule, WorkerModuleShape } from './internal/module-types.js';
export { Process } from './process/process.js';
export type { JoinOptions, ProcessResult } from './process/process.js';
export type { ProcessBaseOptions, ProcessOptions, ProcessTarget } from './process/options.js';
export { activeChildren } from './process/children.js';
export { cpuCount, currentProcess, parentProcess } from './process/current.js';
export type { CurrentProcessInfo, ParentProcessInfo } from './process/current.js';
export type { OutputMode } from './process/output.js';
export { JoinableQueue, Queue } from './queue/queue.js';
export { SimpleQueue } from './queue/simple-queue.js';
export type { QueueCloseOptions, QueueEntry, QueueGetOptions, QueueIterateOptions, QueueOptions, QueuePutOptions } from './queue/queue.js';
export type { QueueSnapshot } from './queue/state.js';
export { BoundedSemaphore, Lease, Lock, Semaphore } from './sync/lock.js';
export type { AcquireOptions } from './sync/lock.js';
export { Event } from './sync/event.js';
export { Barrier } from './sync/barrier.js';
export { Condition } from './sync/condition.js';
export type { ConditionSnapshot } from './sync/condition-state.js';
export { SharedArray } from './shared/shared-array.js';
export type { SharedArrayType } from './shared/shared-array.js';
export { SharedMap } from './shared/shared-map.js';
export { Pipe, PipeEnd } from './pipe/pipe.js';
export type { PipeOptions, PipePollOptions } from './pipe/pipe.js';
export type { WaitOptions } from './broker/link.js';
