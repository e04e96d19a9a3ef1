/**
 * The crash scenarios of `procsafe demo`, run for real: each one starts a fresh
 * Pool, runs a victim next to a bystander, injects the fault, and records what
 * procsafe reported, how fast, and whether the rest of the pool carried on.
 * Nothing here is canned: every field of a result is measured, and a scenario
 * that misbehaves says so in `problems`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolOptions, TaskTimeout, WorkerCrashed } from '../../index.js';
import { now } from './clock.js';
import type * as Tasks from './tasks.js';
import type { BystanderResult, Marker } from './tasks.js';

type DemoPool = Pool<typeof Tasks>;

export type ScenarioName = 'sigkill' | 'exit' | 'abort' | 'timeout' | 'memory';

interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  /** Pool options beyond the ones every scenario shares. */
  readonly options: Partial<PoolOptions>;
  /** Starts the victim; it writes its marker to `path` just before the fault. */
  readonly victim: (pool: DemoPool, path: string) => Promise<unknown>;
  /** How long the bystander runs: long enough to span the fault, within any taskTimeoutMs. */
  readonly bystanderMs: number;
  /** Where the clock starts: the demo's own kill, or the victim's marker (fault or start). */
  readonly faultIs: 'kill' | 'marker-fault' | 'marker-start';
  /** How the time column names that moment. */
  readonly since: string;
  /** What should have happened; returns what did not. */
  readonly check: (error: unknown, marker: Marker | undefined, elapsedMs: number | undefined) => string[];
}

const kTimeoutMs = 300;
const kMemoryMb = 64;
/** The bystander runs this long, so that the fault happens while it is running. */
const kBystanderMs = 600;

export const kScenarios: readonly Scenario[] = [
  {
    name: 'sigkill',
    title: 'worker SIGKILLed mid-task',
    options: {},
    bystanderMs: kBystanderMs,
    victim: (pool, path) => pool.apply('reportThenHang', [path]),
    faultIs: 'kill',
    since: 'after kill',
    check: (error, marker) => crashChecks(error, marker, (e) => e.signal === 'SIGKILL', 'signal SIGKILL'),
  },
  {
    name: 'exit',
    title: 'task calls process.exit(3)',
    options: {},
    bystanderMs: kBystanderMs,
    victim: (pool, path) => pool.apply('exitWith', [path, 3]),
    faultIs: 'marker-fault',
    since: 'after exit(3)',
    check: (error, marker) => crashChecks(error, marker, (e) => e.exitCode === 3 && e.signal === null, 'exitCode 3'),
  },
  {
    name: 'abort',
    title: 'task calls process.abort()',
    options: {},
    bystanderMs: kBystanderMs,
    victim: (pool, path) => pool.apply('abort', [path]),
    faultIs: 'marker-fault',
    since: 'after abort()',
    check: (error, marker) => crashChecks(error, marker, (e) => e.signal === 'SIGABRT', 'signal SIGABRT'),
  },
  {
    name: 'timeout',
    title: `infinite loop, taskTimeoutMs ${kTimeoutMs}`,
    options: { taskTimeoutMs: kTimeoutMs },
    // It must finish within the limit too: it shows that only the looping task is stopped.
    bystanderMs: kTimeoutMs - 100,
    victim: (pool, path) => pool.apply('spinForever', [path]),
    faultIs: 'marker-start',
    since: 'after start',
    check: (error, _marker, elapsedMs) => {
      if (!(error instanceof TaskTimeout)) return [`expected TaskTimeout, got ${describe(error)}`];
      // The pool's clock starts when it sends the task, a little before the task's own: only lateness is wrong.
      if (elapsedMs !== undefined && elapsedMs > kTimeoutMs + 2000) {
        return [`expected the timeout about ${kTimeoutMs} ms after the start, got ${Math.round(elapsedMs)} ms`];
      }
      return [];
    },
  },
  {
    name: 'memory',
    title: `allocates forever, maxMemoryMb ${kMemoryMb}`,
    options: { maxMemoryMb: kMemoryMb },
    bystanderMs: kBystanderMs,
    victim: (pool, path) => pool.apply('eatMemory', [path]),
    faultIs: 'marker-start',
    since: 'after start',
    check: (error, marker) => {
      const problems = crashChecks(error, marker, () => true, '');
      if (error instanceof WorkerCrashed && !/out of memory/i.test(error.message)) {
        problems.push('expected the message to say the worker ran out of memory');
      }
      return problems;
    },
  },
];

export const kScenarioNames: readonly ScenarioName[] = kScenarios.map((s) => s.name);

/** One measured row: every field comes from the run. */
export interface ScenarioResult {
  readonly name: ScenarioName;
  readonly title: string;
  /** `Class: message`, or what happened instead of a rejection. */
  readonly reported: string;
  /** The full message, for the notes. */
  readonly fullMessage: string | undefined;
  readonly elapsedMs: number | undefined;
  readonly since: string;
  readonly bystander: string;
  readonly poolWorks: string;
  /** How long close() took, or undefined if it did not return in time. */
  readonly closeMs: number | undefined;
  /** Everything that did not go as promised; empty when the scenario passed. */
  readonly problems: readonly string[];
  /** Ctrl-C stopped it: it neither passed nor failed. */
  readonly interrupted: boolean;
}

export interface RunContext {
  readonly module: URL;
  /** A private temporary directory for the markers. */
  readonly dir: string;
  /** How long the scenario may take before it is abandoned and its pool terminated. */
  readonly deadlineMs: number;
  /** How long close() and terminate() may take. */
  readonly closeDeadlineMs: number;
  /** Aborted on Ctrl-C. */
  readonly interrupt: AbortSignal;
}

export class Deadline extends Error {}

interface Settled {
  readonly ok: boolean;
  readonly value: unknown;
  readonly at: number;
}

/** Records when a promise settled, without ever rejecting. */
function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then((value) => ({ ok: true, value, at: now() }), (value: unknown) => ({ ok: false, value, at: now() }));
}

/** `promise`, unless `signal` aborts first: then its reason. */
export function within<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A signal that aborts after `ms` with a Deadline naming the limit, or when `parent` aborts. */
export function deadline(ms: number, parent: AbortSignal): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Deadline(`no answer within ${ms / 1000} s`)), ms);
  const onParent = () => controller.abort(parent.reason);
  if (parent.aborted) onParent();
  else parent.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    cancel: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParent);
    },
  };
}

/** Polls for the victim's marker until it appears, or the victim settles without writing one. */
async function waitForMarker(path: string, victim: Promise<Settled>, signal: AbortSignal): Promise<Marker | undefined> {
  let settled = false;
  void victim.then(() => { settled = true; });
  for (;;) {
    const marker = await readMarker(path);
    if (marker !== undefined || settled) return marker;
    if (signal.aborted) throw signal.reason as Error;
    await sleep(2);
  }
}

async function readMarker(path: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** Until two different workers answer, so that the victim and the bystander land on different ones. */
async function warmUp(pool: DemoPool, signal: AbortSignal): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pids = await within(Promise.all([pool.apply('whoami', [30]), pool.apply('whoami', [30])]), signal);
    if (pids[0] !== pids[1]) return;
  }
}

function crashChecks(error: unknown, marker: Marker | undefined, ok: (e: WorkerCrashed) => boolean, what: string): string[] {
  if (!(error instanceof WorkerCrashed)) return [`expected WorkerCrashed, got ${describe(error)}`];
  const problems: string[] = [];
  if (!ok(error)) problems.push(`expected ${what}, got exitCode ${error.exitCode}, signal ${error.signal}`);
  if (marker !== undefined && error.pid !== marker.pid) problems.push(`error.pid is ${error.pid}, the victim ran in pid ${marker.pid}`);
  return problems;
}

export function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return `a resolved value (${JSON.stringify(value) ?? String(value)})`;
}

/**
 * After a throw while waiting for `step`: the cell for the first column not filled, and the
 * problem to list below the table (none on Ctrl-C: that is not a failure of procsafe).
 */
export function failure(error: unknown, interrupt: AbortSignal, step: string): { cell: string; problem: string | undefined } {
  if (interrupt.aborted && !(error instanceof Deadline)) return { cell: 'interrupted', problem: undefined };
  if (error instanceof Deadline) return { cell: 'NO ANSWER (see below)', problem: `${error.message} (waiting for ${step})` };
  return { cell: 'FAILED (see below)', problem: `${describe(error)} (while waiting for ${step})` };
}

/**
 * `WorkerCrashed: worker 1 (pid 123) was killed by SIGKILL …`: the message up to
 * its first `;`, without the task it names (the row says which).
 */
export function shortMessage(error: Error): string {
  const full = error.message;
  let short = full.split(';')[0] ?? full;
  short = short.replace(/ while running task \d+ \("[^"]*"\)/, '').replace(/^task \d+ \("[^"]*"\) /, '');
  if (short.length > 110) short = short.slice(0, 109);
  return `${error.name}: ${short}${short.length < full.length ? ' …' : ''}`;
}

/** Runs one scenario from a fresh pool to its closing; never throws and never outlives its deadlines. */
export async function runScenario(scenario: Scenario, context: RunContext): Promise<ScenarioResult> {
  const problems: string[] = [];
  const row = {
    reported: '-', fullMessage: undefined as string | undefined, elapsedMs: undefined as number | undefined,
    bystander: '-', poolWorks: '-', closeMs: undefined as number | undefined,
  };
  const markerPath = join(context.dir, `${scenario.name}.json`);
  const limit = deadline(context.deadlineMs, context.interrupt);
  let pool: DemoPool | undefined;
  let step = 'starting the pool';
  try {
    pool = new Pool<typeof Tasks>({
      module: context.module, workers: 2, isolation: 'process', stdout: 'ignore', stderr: 'ignore', ...scenario.options,
    });
    step = 'two workers to start';
    await warmUp(pool, limit.signal);

    step = 'the victim to start';
    const victim = settle(scenario.victim(pool, markerPath));
    const bystander = settle(pool.apply('bystander', [7, scenario.bystanderMs]));
    let marker = await waitForMarker(markerPath, victim, limit.signal);
    let faultAt: number | undefined;
    if (scenario.faultIs === 'kill' && marker !== undefined) {
      faultAt = now();
      process.kill(marker.pid, 'SIGKILL');
    }

    step = 'the victim to be rejected';
    const outcome = await within(victim, limit.signal);
    marker ??= await readMarker(markerPath);
    if (scenario.faultIs !== 'kill') faultAt = marker?.at;
    if (marker === undefined) problems.push('the victim never reported its pid');
    if (outcome.ok) {
      row.reported = `resolved with ${JSON.stringify(outcome.value) ?? String(outcome.value)} (expected a rejection)`;
    } else {
      const error = outcome.value;
      row.reported = error instanceof Error ? shortMessage(error) : `rejected with a non-Error: ${String(error)}`;
      row.fullMessage = error instanceof Error ? error.message : undefined;
    }
    if (faultAt !== undefined) row.elapsedMs = outcome.at - faultAt;
    problems.push(...scenario.check(outcome.value, marker, row.elapsedMs));

    step = 'the bystander';
    const other = await within(bystander, limit.signal);
    const result = other.value as BystanderResult;
    if (!other.ok) {
      row.bystander = `no: ${other.value instanceof Error ? other.value.name : 'rejected'}`;
      problems.push(`the bystander task failed: ${describe(other.value)}`);
    } else if (result.value !== 49) {
      row.bystander = `no: returned ${JSON.stringify(result)}`;
      problems.push('the bystander returned a wrong value');
    } else if (result.startedAt >= outcome.at) {
      // It had been queued behind the victim on the same worker, and was re-run elsewhere.
      row.bystander = 'yes (re-run after the crash)';
    } else {
      row.bystander = 'yes';
    }

    step = 'a new task after the fault';
    const after = await within(settle(pool.apply('square', [12])), limit.signal);
    if (after.ok && after.value === 144) {
      row.poolWorks = 'yes';
    } else {
      row.poolWorks = `no: ${after.ok ? `returned ${String(after.value)}` : after.value instanceof Error ? after.value.name : 'rejected'}`;
      problems.push('the pool did not serve a new task: ' +
        `${after.ok ? `square(12) returned ${String(after.value)}` : describe(after.value)}`);
    }
  } catch (error) {
    const { cell, problem } = failure(error, context.interrupt, step);
    if (row.reported === '-') row.reported = cell;
    else if (row.bystander === '-') row.bystander = cell;
    else row.poolWorks = cell;
    if (problem !== undefined) problems.push(problem);
  } finally {
    limit.cancel();
  }
  const interrupted = context.interrupt.aborted;
  if (pool !== undefined) row.closeMs = await shutDown(pool, !interrupted, context.closeDeadlineMs, interrupted ? [] : problems);
  return { name: scenario.name, title: scenario.title, since: scenario.since, ...row, problems, interrupted };
}

/**
 * close() (terminate() on Ctrl-C), which must return promptly even after the fault: that is
 * the point. Each is bounded, so a pool that wedges is reported and terminated, never waited on.
 */
export async function shutDown(
  pool: Pick<DemoPool, 'close' | 'terminate'>, graceful: boolean, closeDeadlineMs: number, problems: string[],
): Promise<number | undefined> {
  const started = now();
  const limit = deadline(closeDeadlineMs, new AbortController().signal);
  try {
    await within(graceful ? pool.close() : pool.terminate(), limit.signal);
    return graceful ? now() - started : undefined;
  } catch (error) {
    problems.push(`${graceful ? 'close()' : 'terminate()'}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    limit.cancel();
  }
  if (!graceful) return undefined;
  const last = deadline(closeDeadlineMs, new AbortController().signal);
  try {
    await within(pool.terminate(), last.signal);
  } catch (error) {
    problems.push(`terminate() after close(): ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    last.cancel();
  }
  return undefined;
}
