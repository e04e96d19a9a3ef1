/**
 * The Queue and Lock scenarios of `procsafe demo`, run for real: this process
 * creates a Queue or Lock (it owns its state), child Processes use it, and one
 * of them is SIGKILLed at the moment that wedges Python's multiprocessing. Each
 * scenario then measures what the others got, how fast, and whether the counts
 * are still right. As in scenarios.ts, nothing is canned: a scenario that
 * misbehaves says so in `problems`, and every wait is bounded by a deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Lock, Process, Queue, QueueEmpty, type ProcessResult } from '../../index.js';
import type { Report } from './queue-tasks.js';
import { describeExit } from '../../pool/crash-report.js';
import { now } from './clock.js';
import { deadline, describe, failure, within } from './scenarios.js';

export type QueueScenarioName = 'queue-reader' | 'queue-writer' | 'lock-holder';

interface QueueScenario {
  readonly name: QueueScenarioName;
  readonly title: string;
  /** Runs the scenario, filling in `run`'s cells and problems; throws when it cannot go on. */
  readonly run: (run: ScenarioRun) => Promise<void>;
}

/** How long a child's own get, put or acquire may wait: longer than any scenario, so only the demo ends it. */
const kChildWaitMs = 30_000;
/** How long the demo's own put or get waits where it must not have to wait at all. */
const kNoWaitMs = 1_000;
const kBigItemBytes = 10 * 1024 * 1024;

export const kQueueScenarios: readonly QueueScenario[] = [
  {
    name: 'queue-reader',
    title: 'reader SIGKILLed inside get()',
    run: async (run) => {
      const queue = new Queue<string>({ maxsize: 1 });
      const events = new Queue<Report>();
      // Two readers parked in get(), in this order: the first is killed, the second must get the item.
      const victim = await run.start('reader-1', 'readOne', [queue, events, kChildWaitMs]);
      await run.report(events, victim, 'waiting');
      const next = await run.start('reader-2', 'readOne', [queue, events, kChildWaitMs]);
      await run.report(events, next, 'waiting');
      run.step = 'the owner\'s view before the kill';
      const before = await run.within(queue.inspect());
      if (before.gets.length !== 2) {
        run.problems.push(`expected both readers parked in get() before the kill, the owner had ${before.gets.length}`);
      }

      const killedAt = run.kill(victim);
      run.step = 'a put after the kill';
      await run.within(queue.put('the item', { timeoutMs: kNoWaitMs }));
      const got = await run.report(events, next, 'got');
      run.elapsedMs = got.at - killedAt;
      // Delivery 2: the put reached the owner before the death did, so the item went to the dead reader first.
      run.did = got.deliveries === 1 ? 'the reader behind it got the item'
        : 'the reader behind it got the item, taken back from the dead one';
      if (got.value !== 'the item') run.problems.push(`the second reader got ${JSON.stringify(got.value)}, expected "the item"`);

      run.step = 'qsize() and full()';
      const [qsize, full] = await run.within(Promise.all([queue.qsize(), queue.full()]));
      run.counts = `qsize ${qsize}, full ${full}`;
      if (qsize !== 0 || full) {
        run.problems.push(`after the item was read, expected qsize 0 and full false (maxsize 1), got qsize ${qsize}, full ${full}`);
      }

      await run.roundTrip(queue, 'another item');
      await run.exited(victim, 'SIGKILL');
      await run.exited(next, 0);
    },
  },
  {
    name: 'queue-writer',
    title: `writer SIGKILLed mid-put of a ${kBigItemBytes / 1024 / 1024} MiB item into a full queue (maxsize 1)`,
    run: async (run) => {
      const queue = new Queue<unknown>({ maxsize: 1 });
      const events = new Queue<Report>();
      run.step = 'the first put';
      await run.within(queue.put('first', { timeoutMs: kNoWaitMs }));
      const writer = await run.start('writer', 'putBig', [queue, events, kBigItemBytes, kChildWaitMs]);
      await run.report(events, writer, 'waiting');
      run.step = 'the owner\'s view before the kill';
      const before = await run.within(queue.inspect());
      if (before.puts.length !== 1) {
        run.problems.push(`expected the ${kBigItemBytes} byte put parked (the queue is full) before the kill, ` +
          `the owner had ${before.puts.length} parked puts`);
      }

      const killedAt = run.kill(writer);
      // The owner hears of the death on its own socket; until then the put is rightly parked.
      run.step = 'the owner to drop the dead writer\'s put';
      for (;;) {
        const snapshot = await run.within(queue.inspect());
        if (snapshot.puts.length === 0) {
          run.elapsedMs = now() - killedAt;
          if (snapshot.accepted !== 1) {
            run.problems.push(`the owner accepted ${snapshot.accepted} items, expected 1 (the dead writer's must not be)`);
          }
          break;
        }
        await sleep(1);
      }
      run.did = 'the owner dropped the dead writer\'s parked put';

      run.step = 'qsize() and full()';
      const [qsize, full] = await run.within(Promise.all([queue.qsize(), queue.full()]));
      run.counts = `qsize ${qsize}, full ${full}`;
      if (qsize !== 1 || !full) run.problems.push(`expected qsize 1 and full true as before the kill, got qsize ${qsize}, full ${full}`);

      // Exactly what it should: "first", then a new put fits at once and comes back, then nothing.
      run.step = 'get() of the first item';
      const first = await run.within(queue.get({ timeoutMs: kNoWaitMs }));
      if (first !== 'first') run.problems.push(`get() returned ${describeValue(first)}, expected "first"`);
      await run.roundTrip(queue, 'second');
      run.step = 'getNowait() on the drained queue';
      const extra = await run.within(queue.getNowait().then((value) => ({ value }), (error: unknown) => ({ error })));
      if (!('error' in extra) || !(extra.error instanceof QueueEmpty)) {
        run.problems.push('getNowait() after everything was read: expected QueueEmpty, ' +
          `got ${'error' in extra ? describe(extra.error) : describeValue(extra.value)}`);
        run.works = 'no: the dead writer\'s item appeared';
      }
      await run.exited(writer, 'SIGKILL');
      const reports = await run.within(events.qsize());
      if (reports !== 0) run.problems.push('the writer reported that its put completed, though it was killed while the queue was full');
    },
  },
  {
    name: 'lock-holder',
    title: 'lock holder SIGKILLed',
    run: async (run) => {
      const lock = new Lock();
      const events = new Queue<Report>();
      const holder = await run.start('holder', 'holdLock', [lock, events, kChildWaitMs]);
      await run.report(events, holder, 'holding');
      const next = await run.start('acquirer', 'acquireLock', [lock, events, kChildWaitMs]);
      await run.report(events, next, 'waiting');
      run.step = 'the owner\'s view before the kill';
      const before = await run.within(lock.inspect());
      if (before.holders.length !== 1 || before.waiters.length !== 1) {
        run.problems.push('expected 1 holder and 1 waiter before the kill, ' +
          `the owner had ${before.holders.length} and ${before.waiters.length}`);
      }

      const killedAt = run.kill(holder);
      const acquired = await run.report(events, next, 'acquired');
      run.elapsedMs = acquired.at - killedAt;
      run.did = `the next acquirer got it, previousOwnerDied: ${acquired.previousOwnerDied}`;
      if (!acquired.previousOwnerDied) run.problems.push('the lease granted after the holder died has previousOwnerDied false');

      await run.report(events, next, 'released');
      run.step = 'the owner\'s view after the release';
      const after = await run.within(lock.inspect());
      run.counts = `${after.free} free, ${after.holders.length} held, ${after.waiters.length} waiting`;
      if (after.free !== 1 || after.holders.length !== 0 || after.waiters.length !== 0 || after.orphaned !== 0) {
        run.problems.push(`after the release expected 1 free (0 orphaned), 0 held, 0 waiting; got ${JSON.stringify(after)}`);
      }

      run.step = 'acquire() without waiting';
      const lease = await run.within(lock.acquire({ timeoutMs: 0 }));
      lease.release();
      if (lease.previousOwnerDied) {
        run.problems.push('a lease after a clean release still says previousOwnerDied');
        run.works = 'no: previousOwnerDied stuck';
      } else {
        run.works = 'yes';
      }
      await run.exited(holder, 'SIGKILL');
      await run.exited(next, 0);
    },
  },
];

export const kQueueScenarioNames: readonly QueueScenarioName[] = kQueueScenarios.map((s) => s.name);

/** One measured row: every field comes from the run. */
export interface QueueScenarioResult {
  readonly name: QueueScenarioName;
  readonly title: string;
  /** What procsafe did after the kill (what the survivors saw). */
  readonly did: string;
  /** From the kill to the recovery the `did` cell names. */
  readonly elapsedMs: number | undefined;
  /** qsize/full, or the lock's counts, measured afterwards. */
  readonly counts: string;
  /** Whether the queue or lock still does exactly what it should. */
  readonly works: string;
  readonly problems: readonly string[];
  readonly interrupted: boolean;
}

export interface QueueRunContext {
  readonly module: URL;
  /** How long the scenario may take before it is abandoned and its children killed. */
  readonly deadlineMs: number;
  /** How long the children may take to exit once killed. */
  readonly closeDeadlineMs: number;
  /** Aborted on Ctrl-C. */
  readonly interrupt: AbortSignal;
}

/** One scenario's state: its cells, its problems, the step it is waiting for, and the children to clean up. */
class ScenarioRun {
  did = '-';
  elapsedMs: number | undefined;
  counts = '-';
  works = '-';
  readonly problems: string[] = [];
  step = 'starting';
  readonly #context: QueueRunContext;
  readonly #signal: AbortSignal;
  readonly #children: Process[] = [];

  constructor(context: QueueRunContext, signal: AbortSignal) {
    this.#context = context;
    this.#signal = signal;
  }

  within<T>(promise: Promise<T>): Promise<T> {
    return within(promise, this.#signal);
  }

  /** Runs an export of queue-tasks.ts in a new child Process (a daemon: it cannot outlive the demo). */
  async start(name: string, fn: keyof typeof import('./queue-tasks.js'), args: unknown[]): Promise<Process> {
    this.step = `${name} to start`;
    const child = new Process({ module: this.#context.module, fn, args, name, stdout: 'ignore', stderr: 'ignore', daemon: true });
    this.#children.push(child);
    await this.within(child.start());
    return child;
  }

  /** The next report on `events`: it must come from `from` and be `kind`. Fails at once if `from` exits first. */
  async report<K extends Report['kind']>(events: Queue<Report>, from: Process, kind: K): Promise<Extract<Report, { kind: K }>> {
    this.step = `${from.name} to report "${kind}"`;
    const cancel = new AbortController();
    const exited = from.join().then((result): never => {
      throw new Error(`${from.name} (pid ${from.pid}) ${howItEnded(result)} before it reported "${kind}"`);
    });
    try {
      const report = await this.within(Promise.race([events.get({ signal: cancel.signal }), exited]));
      if (report.kind !== kind || report.pid !== from.pid) {
        throw new Error(`expected "${kind}" from ${from.name} (pid ${from.pid}), got ${JSON.stringify(report)}`);
      }
      return report as Extract<Report, { kind: K }>;
    } finally {
      cancel.abort();
    }
  }

  /** SIGKILLs `child` and returns when (on the clock the children report with). */
  kill(child: Process): number {
    const at = now();
    if (!child.kill('SIGKILL')) throw new Error(`${child.name} had exited before the demo could kill it`);
    return at;
  }

  /** A put that must be accepted at once and a get that must return it; sets `works`. */
  async roundTrip(queue: Queue<string> | Queue<unknown>, item: string): Promise<void> {
    this.step = 'a put and a get after the kill';
    await this.within((queue as Queue<unknown>).put(item, { timeoutMs: kNoWaitMs }));
    const value = await this.within(queue.get({ timeoutMs: kNoWaitMs }));
    const [qsize, full] = await this.within(Promise.all([queue.qsize(), queue.full()]));
    if (value !== item) {
      this.works = `no: got ${describeValue(value)}`;
      this.problems.push(`put(${JSON.stringify(item)}) then get() returned ${describeValue(value)}`);
    } else if (qsize !== 0 || full) {
      this.works = `no: qsize ${qsize}, full ${full}`;
      this.problems.push(`after a put and a get, expected qsize 0 and full false, got qsize ${qsize}, full ${full}`);
    } else {
      this.works = 'yes';
    }
  }

  /** Waits for `child` to end, and checks how: killed by `expected`, or exited with that code. */
  async exited(child: Process, expected: NodeJS.Signals | number): Promise<void> {
    this.step = `${child.name} to exit`;
    const result = await this.within(child.join());
    const ok = typeof expected === 'number' ? result.exitCode === expected && result.error === undefined : result.signal === expected;
    if (!ok) {
      this.problems.push(`${child.name} (pid ${child.pid}) ${howItEnded(result)}; ` +
        `expected ${typeof expected === 'number' ? `exit code ${expected}` : expected}`);
    }
  }

  /** Kills whatever child is still running (after a failure or a deadline) and waits, bounded, for each to go. */
  async cleanUp(): Promise<void> {
    const alive = this.#children.filter((child) => child.isAlive);
    for (const child of alive) child.kill('SIGKILL');
    const results = await Promise.all(alive.map((child) => child.join({ timeoutMs: this.#context.closeDeadlineMs })));
    for (const [i, result] of results.entries()) {
      if (result.exitCode === null && result.signal === null) {
        this.problems.push(`${alive[i]?.name} did not exit within ${this.#context.closeDeadlineMs / 1000} s of SIGKILL`);
      }
    }
  }
}

/** How a child ended, in the pool's words, with the error it reported if any. */
function howItEnded(result: ProcessResult): string {
  return `${describeExit(result)}${result.error === undefined || result.exitCode === null ? '' : ` (${result.error.message})`}`;
}

function describeValue(value: unknown): string {
  if (Buffer.isBuffer(value)) return `a ${value.length} byte Buffer`;
  return JSON.stringify(value) ?? String(value);
}

/** Runs one scenario; never throws and never outlives its deadline (plus the children's exit). */
export async function runQueueScenario(scenario: QueueScenario, context: QueueRunContext): Promise<QueueScenarioResult> {
  const limit = deadline(context.deadlineMs, context.interrupt);
  const run = new ScenarioRun(context, limit.signal);
  try {
    await scenario.run(run);
  } catch (error) {
    const { cell, problem } = failure(error, context.interrupt, run.step);
    if (run.did === '-') run.did = cell;
    else if (run.counts === '-') run.counts = cell;
    else run.works = cell;
    if (problem !== undefined) run.problems.push(problem);
  } finally {
    limit.cancel();
  }
  await run.cleanUp();
  const { did, elapsedMs, counts, works, problems } = run;
  return { name: scenario.name, title: scenario.title, did, elapsedMs, counts, works, problems, interrupted: context.interrupt.aborted };
}
