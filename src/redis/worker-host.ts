/**
 * A worker host of a Redis pool (`procsafe worker`, or a Redis Pool's own `workers`): takes tasks from Redis under one
 * lease for the whole host (renewed by the lease thread, so a busy event loop never loses it), runs them with the
 * local engine (timeouts, memory caps, recycling and crash attribution as in any Pool), and reports each result in its
 * next call, fenced by the lease: once the lease lapsed and the tasks were taken over, nothing this host says counts.
 * It holds one task per worker (a few more for sub-millisecond tasks, as a local worker's pipe does): if the host
 * dies, its oldest task per worker (the ones running) is charged an attempt, the rest go back uncharged.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PassThrough } from 'node:stream';
import { PoolClosed, WorkerCrashed } from '../errors.js';
import { LocalEngine } from '../pool/local-engine.js';
import type { ResolvedPoolOptions } from '../pool/options.js';
import type { PoolStats, WorkerInfo } from '../pool/stats.js';
import { nextTaskId, type Task } from '../pool/task.js';
import { RedisConnection } from './connection.js';
import { leaseThread } from './lease-thread.js';
import { decodeTask, encodeResult, idOf, poolKeys, poolWakeChannel, type TaskRecord } from './pool-records.js';

/** Results reported per call: a script's arguments are unpacked on Redis's Lua stack. */
const kMaxReports = 300;
/** At most this many tasks per worker, for sub-millisecond tasks (the local dispatcher's window); 1 for longer ones. */
const kMaxDepth = 16;

export interface WorkerHostOptions {
  readonly url: string;
  readonly name: string;
  readonly leaseMs: number;
  readonly redisTimeoutMs: number;
  /** The local engine's options: `workers` is how many tasks run at once here. */
  readonly local: ResolvedPoolOptions;
  readonly sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined };
  /** Whether the host keeps its process alive while idle (the `procsafe worker` command), or not (a Pool's own). */
  readonly keepAlive: boolean;
}

interface Running {
  readonly record: TaskRecord;
  readonly task: Task;
  /** The lease it was taken under: a result under an older one is dropped (it was taken over). */
  readonly token: string;
}

type Report = readonly [kind: 'r' | 'c', id: string, data: Buffer | string];

export class RedisWorkerHost {
  readonly #options: WorkerHostOptions;
  readonly #engine: LocalEngine;
  readonly #connection: RedisConnection;
  readonly #keys: string[];
  readonly #info: string;
  readonly #running = new Map<string, Running>();
  #reports: Report[] = [];
  #token = '';
  #lost = false;
  #state: 'serving' | 'draining' | 'stopped' = 'serving';
  #generation = 0;
  #wake: (() => void) | undefined;
  readonly #unlisten: () => void;
  readonly #loop: Promise<void>;
  #left: Promise<void> | undefined;

  constructor(options: WorkerHostOptions) {
    this.#options = options;
    // Deaths are counted in Redis, against the submitter's retries: locally a crash settles at once.
    this.#engine = new LocalEngine({ ...options.local, retries: 0, redis: undefined }, options.sinks);
    this.#connection = RedisConnection.for(options.url, options.redisTimeoutMs);
    this.#keys = poolKeys(options.name);
    this.#info = JSON.stringify({
      host: hostname(), pid: process.pid, workers: options.local.workers, leaseMs: options.leaseMs, since: Date.now(),
    });
    this.#unlisten = this.#connection.listen(poolWakeChannel(options.name), () => this.#kick());
    this.#finished = new Promise((resolve) => { this.#resolveFinished = resolve; });
    this.#loop = this.#serve();
  }

  /** Resolves once the host is registered, or rejects with why it could not be (BrokerLost). */
  get ready(): Promise<void> { return this.#registered; }
  #registered: Promise<void> = Promise.resolve();

  stats(): PoolStats { return this.#engine.stats(); }
  workers(): WorkerInfo[] { return this.#engine.workers(); }
  moduleExports(): Promise<readonly string[]> { return this.#engine.moduleExports(); }
  get running(): number { return this.#running.size; }
  /** Resolves once the host has left (drained, or stopped at once), or could not join. */
  get finished(): Promise<void> { return this.#finished; }
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;

  /** Finishes the tasks it runs, takes no new ones, then leaves. A second call joins the first. */
  drain(): Promise<void> {
    if (this.#state === 'serving') this.#state = 'draining';
    this.#kick();
    this.#left ??= this.#loop.then(() => this.#leave(true));
    return this.#left;
  }

  /** Stops at once: the tasks it holds go back to Redis uncharged, and its workers are killed. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#kick();
    await this.#loop;
    await (this.#left ??= this.#leave(false));
  }

  async #leave(graceful: boolean): Promise<void> {
    this.#unlisten();
    const token = this.#token;
    this.#dropLease(token);
    try {
      if (token !== '') await this.#connection.script('pool-leave', this.#keys, [token]);
    } catch (error) {
      // Unreachable: the lease lapses by itself and live hosts take the tasks over.
      process.emitWarning(`procsafe: worker host could not leave pool "${this.#options.name}" cleanly: ${(error as Error).message}`);
    } finally {
      this.#running.clear();
      try {
        await this.#engine.shutdown(graceful);
      } finally {
        this.#connection.release();
        this.#resolveFinished();
      }
    }
  }

  async #register(): Promise<void> {
    this.#dropLease(this.#token);
    const token = `${hostname().replace(/\s/g, '_')}.${process.pid}.${randomBytes(4).toString('hex')}`;
    const { url, redisTimeoutMs, leaseMs } = this.#options;
    await this.#connection.script('pool-register', this.#keys, [token, leaseMs, this.#info]);
    this.#token = token;
    this.#lost = false;
    leaseThread.add({ url, redisTimeoutMs, key: this.#keys[1] as string, member: token, leaseMs }, () => {
      if (this.#token === token) this.#lost = true;
      this.#kick();
    });
  }

  #dropLease(token: string): void {
    if (token === '') return;
    const { url, redisTimeoutMs } = this.#options;
    leaseThread.remove({ url, redisTimeoutMs, key: this.#keys[1] as string, member: token });
  }

  async #serve(): Promise<void> {
    leaseThread.warm(this.#options.url, this.#options.redisTimeoutMs);
    this.#registered = this.#register();
    this.#registered.catch(() => {});
    try {
      await this.#registered;
    } catch (error) {
      process.emitWarning(`procsafe: worker host could not join pool "${this.#options.name}": ${(error as Error).message}`);
      this.#state = 'stopped';
      this.#left ??= this.#leave(false);
      return;
    }
    const workers = this.#options.local.workers;
    while (this.#state !== 'stopped') {
      if (this.#lost) {
        await this.#register().catch(() => this.#sleep());
        continue;
      }
      const reports = this.#reports.splice(0, kMaxReports);
      const capacity = workers * Math.min(kMaxDepth, this.#engine.window);
      const want = this.#state === 'serving' ? capacity - this.#running.size : 0;
      if (reports.length === 0 && want <= 0) {
        if (this.#state === 'draining' && this.#running.size === 0) return;
        await this.#sleep();
        continue;
      }
      const generation = this.#generation;
      const token = this.#token;
      let taken: Buffer[];
      try {
        taken = await this.#work(token, want, reports);
      } catch (error) {
        // Redis unreachable past redisTimeoutMs: by now the lease lapsed and the tasks went elsewhere.
        process.emitWarning(`procsafe: worker host of pool "${this.#options.name}" lost Redis: ${(error as Error).message}`);
        this.#lost = true;
        continue;
      }
      for (const record of taken) this.#start(record, token);
      if (taken.length === 0 && this.#reports.length === 0 && generation === this.#generation) await this.#sleep();
    }
  }

  /** One pool-work call; on a lost lease, marks it and takes nothing (the reports are refused: taken over). */
  async #work(token: string, want: number, reports: readonly Report[]): Promise<Buffer[]> {
    const args: (string | number | Buffer)[] = [token, Math.max(0, want), reports.length];
    for (const report of reports) args.push(...report);
    const reply = await this.#connection.run((client, scripts, retry) =>
      scripts.run(client, 'pool-work', this.#keys, [...args, retry ? '1' : '0'], true)) as [number, Buffer[]?];
    if (Number(reply[0]) === -1) {
      this.#lost = true;
      return [];
    }
    // After a retried call the reply lists everything held: only the tasks this host does not run yet are new.
    return (reply[1] ?? []).filter((record) => !this.#running.has(idOf(record)));
  }

  #start(record: Buffer, token: string): void {
    let decoded: TaskRecord;
    try {
      decoded = decodeTask(record);
    } catch (error) {
      this.#reports.push(['r', idOf(record), encodeResult(idOf(record), false, error)]);
      return;
    }
    const task: Task = {
      id: nextTaskId(), fn: decoded.fn, args: decoded.args, chunk: false, state: 'queued', slot: undefined, attempts: 0,
      cleanup: undefined, done: (ok, value) => this.#onAnswer(entry, ok, value),
    };
    const entry: Running = { record: decoded, task, token };
    this.#running.set(decoded.id, entry);
    this.#engine.submit(task);
  }

  #onAnswer(entry: Running, ok: boolean, value: unknown): void {
    const { id } = entry.record;
    if (this.#running.get(id) === entry) this.#running.delete(id);
    // Taken over (lease lost) or handed back (stopped at once): this result is not ours to give.
    if (entry.token !== this.#token || this.#state === 'stopped' || value instanceof PoolClosed) return;
    if (!ok && value instanceof WorkerCrashed) {
      const attempts = entry.record.attempts + 1;
      if (attempts <= entry.record.retries) this.#reports.push(['c', id, String(attempts)]);
      else this.#reports.push(['r', id, encodeResult(id, false, this.#crashed(entry, value, attempts))]);
    } else {
      this.#reports.push(['r', id, encodeResult(id, ok, value)]);
    }
    this.#kick();
  }

  /** The local WorkerCrashed, worded for the submitter: which host, and the pool's retries. */
  #crashed(entry: Running, local: WorkerCrashed, attempts: number): WorkerCrashed {
    const { id, retries, fn } = entry.record;
    const taskId = Number(id.slice(id.lastIndexOf('.') + 1));
    const how = local.signal !== null ? `was killed by ${local.signal}` : `exited with code ${local.exitCode}`;
    return new WorkerCrashed(
      `worker ${local.workerId} (pid ${local.pid ?? 'unknown'}) on host ${hostname()} (pid ${process.pid}) ${how} while running ` +
      `task ${taskId} ("${fn}"); ${Math.max(0, retries - (attempts - 1))} of ${retries} retries left`,
      { workerId: local.workerId, pid: local.pid, exitCode: local.exitCode, signal: local.signal, taskId, fn, attempts, retries },
    );
  }

  /** Until something changes (a task finished, a wake-up, a stop) or a quarter lease passes (dead hosts to take over). */
  #sleep(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(10, Math.floor(this.#options.leaseMs / 4)));
      if (!this.#options.keepAlive) timer.unref();
      this.#wake = done;
    });
  }

  #kick(): void {
    this.#generation++;
    this.#wake?.();
  }
}
