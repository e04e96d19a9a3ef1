/** Pool options: documented, validated and defaulted in one place. */
import { availableParallelism } from 'node:os';
import {
  validateArray, validateInteger, validateKnownKeys, validateObject, validateOneOf, validateString,
} from '../internal/validate.js';
import { type OutputMode, kOutputModes } from '../process/output.js';
import { inheritedExecArgv, toModuleUrl } from '../internal/worker-module.js';
import { checkModuleFile, validateEnv } from '../internal/child-options.js';
import { resolveTimeout } from '../internal/timeout.js';
import { kDefaultLeaseMs, validateRedisName } from '../redis/queue-handle.js';
import { parseRedisUrl, validateRedisTimeout } from '../redis/connection.js';

export interface PoolOptions {
  /** The worker module, whose named exports are the tasks: a `URL` or absolute path, e.g. `new URL('./tasks.js', import.meta.url)`. */
  readonly module: URL | string;
  /**
   * How many workers run at once (with `redis`: this process's own workers serving the pool).
   * @default os.availableParallelism(); 0 with `redis`
   */
  readonly workers?: number;
  /**
   * `'process'`: a crash of any kind (SIGKILL, segfault, out of memory) costs only that worker. `'thread'`: faster to
   * start and to talk to, the same for exceptions, `process.exit()`, timeouts and heap limits, but a segfault or a signal
   * takes the whole process down.
   * @default 'process'
   */
  readonly isolation?: 'process' | 'thread';
  /** Name of an export run once in every worker before its first task. */
  readonly initializer?: string;
  /** Arguments for `initializer`. @default [] */
  readonly initArgs?: readonly unknown[];
  /** Replace a worker after it has run this many tasks (as Python's `maxtasksperchild`). */
  readonly maxTasksPerWorker?: number;
  /**
   * A task running longer has its worker stopped and rejects with TaskTimeout. Read as every timeoutMs (a fraction
   * rounds up), but 0 or less is a RangeError: it would fail every task.
   * @default undefined (no limit; Infinity too)
   */
  readonly taskTimeoutMs?: number;
  /** Re-run a task whose worker died (SIGKILL, segfault, OOM, `process.exit()`) up to this many times; a throw never is. @default 0 */
  readonly retries?: number;
  /** Tasks waiting for a worker beyond this many make `apply()` wait for room (backpressure). */
  readonly maxQueue?: number;
  /** Heap cap per worker in MiB; exceeding it is a crash of that worker (`WorkerCrashed`), never a hang. */
  readonly maxMemoryMb?: number;
  /**
   * The workers' stdout: `'prefix'` forwards each whole line as `[worker-1 4127] line`; `'inherit'` passes it through;
   * `'pipe'` makes whole lines readable on `pool.stdout`; `'ignore'` drops it.
   * @default 'prefix'
   */
  readonly stdout?: OutputMode;
  /** As `stdout`, for stderr. @default 'prefix' */
  readonly stderr?: OutputMode;
  /** Node options for the workers. @default process.execArgv (so a loader such as tsx is inherited), less --inspect flags */
  readonly execArgv?: readonly string[];
  /** Environment of worker processes. @default process.env */
  readonly env?: Readonly<Record<string, string>>;
  /** Name used in output prefixes and messages. @default 'worker' */
  readonly name?: string;
  /**
   * The largest message (a task's arguments, a result) between pool and worker: a larger one fails its own task with
   * SerializationError; a worker that sends one anyway is cut off.
   * @default 268435456 (256 MiB)
   */
  readonly maxMessageBytes?: number;
  /**
   * Workers kept alive however idle the pool is; with `idleTimeoutMs`, the rest exit when idle and start again on demand.
   * A pool starts this many (none with 0: the first task starts one). As piscina's `minThreads`.
   * @default workers (no scaling down)
   */
  readonly minWorkers?: number;
  /**
   * A worker idle this long exits, down to `minWorkers`. Read as every timeoutMs, but 0 or less is a RangeError.
   * @default undefined (never; Infinity too)
   */
  readonly idleTimeoutMs?: number;
  /**
   * A `redis://` or `rediss://` URL: tasks go into that Redis, under `name`, and are run by worker hosts on any machine
   * (`procsafe worker`, or this pool's own `workers`). README "Redis Pool".
   */
  readonly redis?: string;
  /** With `redis`: how long a worker host keeps its tasks without renewing its lease (renewed every leaseMs / 3). @default 10000 */
  readonly leaseMs?: number;
  /** With `redis`: how long calls wait for an unreachable Redis before rejecting BrokerLost. @default 30000 */
  readonly redisTimeoutMs?: number;
}

/** Where a Redis pool lives; undefined for a local one. */
export interface RedisPoolTarget {
  readonly url: string;
  readonly name: string;
  readonly leaseMs: number;
  readonly redisTimeoutMs: number;
}

export interface ResolvedPoolOptions {
  readonly module: string;
  readonly workers: number;
  readonly isolation: 'process' | 'thread';
  readonly initializer: string | undefined;
  readonly initArgs: readonly unknown[];
  readonly maxTasksPerWorker: number;
  readonly taskTimeoutMs: number | undefined;
  readonly retries: number;
  readonly maxQueue: number;
  readonly maxMemoryMb: number | undefined;
  readonly stdout: OutputMode;
  readonly stderr: OutputMode;
  readonly execArgv: readonly string[];
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly name: string;
  readonly maxMessageBytes: number;
  readonly minWorkers: number;
  readonly idleTimeoutMs: number | undefined;
  readonly redis: RedisPoolTarget | undefined;
}

/** The limits of `workers` and `retries`, and a timer's range (`procsafe map --timeout`), shared with `procsafe map`. */
export const kMaxWorkers = 1024;
export const kMaxRetries = 1000;
export const kMaxTimeoutMs = 2 ** 31 - 1;

const kKnown = [
  'module', 'workers', 'isolation', 'initializer', 'initArgs', 'maxTasksPerWorker', 'taskTimeoutMs', 'retries',
  'maxQueue', 'maxMemoryMb', 'stdout', 'stderr', 'execArgv', 'env', 'name', 'maxMessageBytes',
  'minWorkers', 'idleTimeoutMs', 'redis', 'leaseMs', 'redisTimeoutMs',
] as const;

export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  validateObject(options, 'Pool options');
  validateKnownKeys(options as unknown as Record<string, unknown>, 'Pool options', kKnown);
  const redis = resolveRedisTarget(options);
  const {
    workers = redis === undefined ? availableParallelism() : 0, isolation = 'process', initializer, initArgs = [], maxTasksPerWorker,
    taskTimeoutMs, retries = 0, maxQueue, maxMemoryMb, stdout = 'prefix', stderr = 'prefix', execArgv, env,
    name = 'worker', maxMessageBytes = 256 * 1024 * 1024, minWorkers = workers, idleTimeoutMs,
  } = options;
  const module = toModuleUrl(options.module);
  checkModuleFile(module);
  // A Redis pool may only submit: its tasks are run by worker hosts elsewhere.
  validateInteger(workers, 'workers', redis === undefined ? 1 : 0, kMaxWorkers);
  validateOneOf(isolation, 'isolation', ['process', 'thread']);
  if (initializer !== undefined) validateString(initializer, 'initializer');
  validateArray(initArgs, 'initArgs');
  if (maxTasksPerWorker !== undefined) validateInteger(maxTasksPerWorker, 'maxTasksPerWorker', 1);
  validateInteger(minWorkers, 'minWorkers', 0, workers);
  const taskLimit = resolvePositiveTimeout(taskTimeoutMs, 'taskTimeoutMs', 'it would fail every task');
  const idleLimit = resolvePositiveTimeout(idleTimeoutMs, 'idleTimeoutMs', 'workers would exit between tasks');
  validateInteger(retries, 'retries', 0, kMaxRetries);
  if (maxQueue !== undefined) validateInteger(maxQueue, 'maxQueue', 1);
  if (maxMemoryMb !== undefined) validateInteger(maxMemoryMb, 'maxMemoryMb', 16);
  validateOneOf(stdout, 'stdout', kOutputModes);
  validateOneOf(stderr, 'stderr', kOutputModes);
  if (execArgv !== undefined && (!Array.isArray(execArgv) || !execArgv.every((a) => typeof a === 'string'))) {
    throw new TypeError('Expected `execArgv` to be an array of strings');
  }
  if (env !== undefined) validateEnv(env);
  validateString(name, 'name');
  validateInteger(maxMessageBytes, 'maxMessageBytes', 1024, 2 ** 32 - 1);
  return Object.freeze({
    module, workers, isolation, initializer, initArgs, maxTasksPerWorker: maxTasksPerWorker ?? Infinity,
    taskTimeoutMs: taskLimit, retries, maxQueue: maxQueue ?? Infinity, maxMemoryMb, stdout, stderr,
    execArgv: execArgv ?? inheritedExecArgv(), env, name, maxMessageBytes, minWorkers, idleTimeoutMs: idleLimit, redis,
  });
}

/** `redis`, `name`, `leaseMs` and `redisTimeoutMs` of a Redis pool; the last two only with `redis`. */
function resolveRedisTarget(options: PoolOptions): RedisPoolTarget | undefined {
  const { redis, leaseMs, redisTimeoutMs } = options;
  if (redis === undefined) {
    if (leaseMs !== undefined || redisTimeoutMs !== undefined) {
      throw new TypeError('`leaseMs` and `redisTimeoutMs` are options of a Redis pool: give `redis` and `name` too');
    }
    return undefined;
  }
  parseRedisUrl(redis);
  validateRedisName(options.name);
  if (leaseMs !== undefined) validateInteger(leaseMs, 'leaseMs', 30, 2 ** 31 - 1);
  return { url: redis, name: options.name, leaseMs: leaseMs ?? kDefaultLeaseMs, redisTimeoutMs: validateRedisTimeout(redisTimeoutMs) };
}

// As resolveTimeout, except "do not wait": for a pool option it is a mistake (`why`), so it is refused rather than read
// as no limit, which would hide it.
function resolvePositiveTimeout(value: unknown, name: string, why: string): number | undefined {
  const limit = resolveTimeout(value, name);
  if (limit === 0) {
    throw new RangeError(`Expected \`${name}\` to be more than 0 ms (or Infinity for no limit), got ${String(value)}: ${why}`);
  }
  return limit;
}
