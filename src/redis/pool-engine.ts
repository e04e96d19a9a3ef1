/**
 * The engine of a Redis Pool (pool/engine.ts's seam): it submits tasks to Redis and waits for their results on a
 * connection of its own (a blocking pop on this pool's result list), and, with `workers`, also serves the pool from
 * a worker host inside this process (worker-host.ts). Every accepted task is settled exactly once, through the same
 * ledger a local pool uses.
 */
import { randomBytes } from 'node:crypto';
import type { PassThrough } from 'node:stream';
import { PoolClosed, ProcsafeError, WorkerCrashed } from '../errors.js';
import type { PoolEngine } from '../pool/engine.js';
import type { RedisPoolTarget, ResolvedPoolOptions } from '../pool/options.js';
import { Ledger } from '../pool/settlement.js';
import type { PoolStats, WorkerInfo } from '../pool/stats.js';
import { nextTaskId as nextId, type Outcome, type Task } from '../pool/task.js';
import { RedisConnection } from './connection.js';
import { decodeResult, type DecodedResult, encodeTask, poolKeys, resultsKey } from './pool-records.js';
import { assertNoLocalHandles } from './queue-handle.js';
import { RedisWorkerHost } from './worker-host.js';

/** Task records per submit call (Lua's unpack limit is near 8000 values). */
const kMaxSubmit = 1000;
/** Results read per pop. */
const kMaxPop = 1000;

export class RedisPoolEngine implements PoolEngine {
  readonly #options: ResolvedPoolOptions;
  readonly #target: RedisPoolTarget;
  readonly #ledger = new Ledger();
  readonly #connection: RedisConnection;
  readonly #keys: string[];
  readonly #submitter = randomBytes(6).toString('base64url');
  readonly #resultsKey: string;
  #results: RedisConnection | undefined;
  /** Tasks in Redis (or about to be), by their Redis id. */
  readonly #owed = new Map<string, Task>();
  #outbox: { readonly id: string; readonly task: Task; readonly record: Buffer }[] = [];
  #flushing = false;
  #listening = false;
  #mode: 'open' | 'draining' | 'stopping' = 'open';
  readonly #host: RedisWorkerHost | undefined;
  #lastReclaim = 0;

  constructor(options: ResolvedPoolOptions, sinks: { stdout: PassThrough | undefined; stderr: PassThrough | undefined }) {
    this.#options = options;
    this.#target = options.redis as RedisPoolTarget;
    const { url, name, redisTimeoutMs, leaseMs } = this.#target;
    this.#connection = RedisConnection.for(url, redisTimeoutMs);
    this.#keys = poolKeys(name);
    this.#resultsKey = resultsKey(name, this.#submitter);
    if (options.workers > 0) {
      this.#host = new RedisWorkerHost({ url, name, leaseMs, redisTimeoutMs, local: options, sinks, keepAlive: false });
    }
  }

  get closed(): boolean { return this.#mode !== 'open'; }

  stats(): PoolStats {
    const local = this.#host?.stats();
    return {
      workers: local?.workers ?? 0, busy: local?.busy ?? 0, queued: this.#owed.size, ...this.#ledger.counts,
    };
  }

  workers(): WorkerInfo[] {
    return this.#host?.workers() ?? [];
  }

  moduleExports(): Promise<readonly string[]> {
    if (this.#host !== undefined) return this.#host.moduleExports();
    return Promise.reject(new ProcsafeError('a Redis pool without local workers (workers: 0) does not load its module, so it ' +
      'cannot list its exports; give workers >= 1'));
  }

  submit(task: Task): void {
    if (this.#mode === 'stopping') {
      task.state = 'settled';
      task.cleanup?.();
      task.done(false, new PoolClosed('the pool is terminated and accepts no new tasks; create a new Pool'));
      return;
    }
    // Each item of a chunk is a task of its own in Redis: a crash is charged to its own item, on whichever host.
    const parts = task.chunk ? splitChunk(task) : [task];
    if (task.chunk) task.state = 'sent';
    for (const part of parts) {
      this.#ledger.accept();
      const id = `${this.#submitter}.${part.id}`;
      let record: Buffer;
      try {
        // No other machine could reach a local (Unix-socket) object.
        assertNoLocalHandles(part.args, 'args');
        record = encodeTask(id, this.#submitter, this.#options.retries, part.fn, part.args);
      } catch (error) {
        this.#ledger.settle(part, false, error);
        continue;
      }
      this.#owed.set(id, part);
      this.#outbox.push({ id, task: part, record });
    }
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  cancel(task: Task, error: Error): void {
    // A task already in Redis still runs there; its result is dropped when it comes.
    for (const part of task.parts ?? [task]) {
      if (part.state === 'settled') continue;
      this.#owed.delete(`${this.#submitter}.${part.id}`);
      this.#ledger.settle(part, false, error);
    }
  }

  async drain(): Promise<void> {
    if (this.#mode === 'open') this.#mode = 'draining';
    await this.#ledger.idle();
  }

  async shutdown(graceful: boolean): Promise<void> {
    this.#mode = 'stopping';
    this.#ledger.hold();
    const error = new PoolClosed('the pool was terminated before this task finished; its result, if it comes, is dropped');
    for (const task of [...this.#owed.values()]) this.#ledger.settle(task, false, error);
    this.#owed.clear();
    this.#outbox = [];
    try {
      if (this.#host !== undefined) await (graceful ? this.#host.drain() : this.#host.stop());
    } finally {
      this.#connection.release();
      // A pop in flight lets go of its connection when it ends (#listen); an idle one is let go here.
      if (!this.#listening) {
        this.#results?.release();
        this.#results = undefined;
      }
      this.#ledger.release();
      this.#ledger.dispose();
    }
  }

  /** Sends what this turn submitted, a thousand records per call. */
  async #flush(): Promise<void> {
    try {
      while (this.#outbox.length > 0) {
        const batch = this.#outbox.splice(0, kMaxSubmit).filter(({ task }) => task.state !== 'settled');
        if (batch.length === 0) continue;
        for (const { task } of batch) task.state = 'sent';
        try {
          await this.#connection.script('pool-submit', this.#keys, batch.map(({ record }) => record));
        } catch (error) {
          for (const { id, task } of batch) {
            this.#owed.delete(id);
            this.#ledger.settle(task, false, error);
          }
        }
        this.#listen();
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Pops results while any task is owed (the pop blocks for a quarter lease at most, then dead hosts are looked for). */
  #listen(): void {
    if (this.#listening || this.#owed.size === 0) return;
    this.#listening = true;
    const { url, redisTimeoutMs, leaseMs } = this.#target;
    this.#results ??= RedisConnection.for(url, redisTimeoutMs, `results-${this.#submitter}`);
    const results = this.#results;
    const waitSeconds = Math.max(0.01, leaseMs / 4000).toFixed(3);
    void (async () => {
      try {
        while (this.#owed.size > 0 && this.#mode !== 'stopping') {
          // blmpopBuffer, not callBuffer: ioredis 6 drops callBuffer's command name when it auto-pipelines.
          const reply = await results.run((client) => (client as unknown as {
            blmpopBuffer(...args: (string | number)[]): Promise<[Buffer, Buffer[]] | null>;
          }).blmpopBuffer(waitSeconds, 1, this.#resultsKey, 'LEFT', 'COUNT', kMaxPop));
          for (const record of reply?.[1] ?? []) this.#settle(record);
          if (this.#owed.size > 0 && Date.now() - this.#lastReclaim >= leaseMs / 4) {
            // No host may be idle to notice a dead one: its tasks past their retries must still reach us.
            this.#lastReclaim = Date.now();
            await this.#connection.script('pool-reclaim', this.#keys, []);
          }
        }
      } catch (error) {
        for (const [id, task] of this.#owed) {
          this.#owed.delete(id);
          this.#ledger.settle(task, false, error);
        }
      } finally {
        this.#listening = false;
        if (this.#mode === 'stopping') {
          this.#results?.release();
          this.#results = undefined;
        } else {
          this.#listen();
        }
      }
    })();
  }

  #settle(record: Buffer): void {
    let result: DecodedResult;
    try {
      result = decodeResult(record);
    } catch (error) {
      const id = record.toString('latin1', 0, Math.max(0, record.indexOf(0x20)));
      const task = this.#owed.get(id);
      if (task === undefined) return;
      this.#owed.delete(id);
      this.#ledger.settle(task, false, new ProcsafeError(`the result of task ${task.id} could not be read: ${(error as Error).message}`));
      return;
    }
    const task = this.#owed.get(result.id);
    // Cancelled, or a second copy (a submit retried after a lost answer ran twice): settled once already.
    if (task === undefined) return;
    this.#owed.delete(result.id);
    if (result.kind === 'o') {
      this.#ledger.settle(task, true, result.value);
    } else if (result.kind === 'e') {
      if (result.error instanceof WorkerCrashed) this.#ledger.counts.crashed++;
      this.#ledger.settle(task, false, result.error);
    } else {
      this.#ledger.counts.crashed++;
      const { attempts, retries, host } = result.lost;
      const who = `host ${host.host ?? 'unknown'} (pid ${host.pid ?? 'unknown'})`;
      this.#ledger.settle(task, false, new WorkerCrashed(
        `${who} stopped renewing its lease (it died or was cut off) while running task ${task.id} ("${task.fn}"); ` +
        `${Math.max(0, retries - (attempts - 1))} of ${retries} retries left`,
        { workerId: 0, pid: host.pid, exitCode: null, signal: null, taskId: task.id, fn: task.fn, attempts, retries }));
    }
  }
}

/** One task per item of a chunk; the chunk settles with their outcomes once all have. */
function splitChunk(chunk: Task): Task[] {
  const outcomes = new Array<Outcome>(chunk.args.length);
  let left = chunk.args.length;
  const parts = chunk.args.map((item, i): Task => ({
    id: nextId(), fn: chunk.fn, args: [item], chunk: false, state: 'queued', slot: undefined, attempts: 0, cleanup: undefined,
    done: (ok, value) => {
      outcomes[i] = ok ? { ok: true, value } : { ok: false, error: value as Error };
      if (--left === 0) {
        chunk.state = 'settled';
        chunk.cleanup?.();
        chunk.done(true, outcomes);
      }
    },
  }));
  chunk.parts = parts;
  return parts;
}
