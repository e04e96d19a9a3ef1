/**
 * The demo's row for seeds 002 and 003: a lock in module state is held in the
 * parent while its Pool starts. Under fork() a worker would inherit it held,
 * with no thread left to release it; procsafe's workers are spawned fresh and
 * must find it free. Measured like the other rows: nothing is canned.
 */
import { Pool } from '../../index.js';
import type * as Tasks from './tasks.js';
import { now } from './clock.js';
import { deadline, describe, failure, shutDown, within } from './scenarios.js';

export const kFreshStartName = 'fork-lock';
export const kFreshStartTitle = 'a module lock held in the parent as the pool starts (seeds 002, 003)';

export interface FreshStartResult {
  readonly name: typeof kFreshStartName;
  readonly title: string;
  readonly did: string;
  /** From `new Pool()` to both workers' answers. */
  readonly elapsedMs: number | undefined;
  readonly problems: readonly string[];
  readonly interrupted: boolean;
}

/** How long a worker may wait for the lock before it reports it held. */
const kLockWaitMs = 1_000;
/** How long each worker keeps it: long enough for the second worker to boot under load, so the second task goes to it. */
const kHoldMs = 800;

export async function runFreshStart(
  context: { module: URL; deadlineMs: number; closeDeadlineMs: number; interrupt: AbortSignal },
): Promise<FreshStartResult> {
  // This process's own instance of the demo's worker module: the lock it holds is the parent's.
  const tasks = await import(context.module.href) as typeof Tasks;
  const problems: string[] = [];
  let did = '-';
  let elapsedMs: number | undefined;
  let pool: Pool<typeof Tasks> | undefined;
  let step = 'the pool to start';
  const limit = deadline(context.deadlineMs, context.interrupt);
  try {
    tasks.holdModuleLock();
    const startedAt = now();
    const started = new Pool<typeof Tasks>({ module: context.module, workers: 2, stderr: 'ignore' });
    pool = started;
    step = 'both workers to take the lock';
    // Two at once, each holding the lock a moment, so that both workers start and take it.
    const answers = await within(
      Promise.allSettled([0, 1].map(() => started.apply('takeModuleLock', [kLockWaitMs, kHoldMs]))), limit.signal);
    elapsedMs = now() - startedAt;
    const pids = new Set<number>();
    for (const answer of answers) {
      if (answer.status === 'fulfilled') pids.add(answer.value.pid);
      else problems.push(`a worker could not take the lock: ${describe(answer.reason)}`);
    }
    if (problems.length === 0) {
      did = `${pids.size === 2 ? 'both workers' : 'one worker, twice,'} took the lock at once: workers start fresh (spawned, never forked)`;
    }
  } catch (error) {
    const { cell, problem } = failure(error, context.interrupt, step);
    did = cell;
    if (problem !== undefined) problems.push(problem);
  } finally {
    limit.cancel();
    tasks.releaseModuleLock();
  }
  // Bounded like every row's shutdown: a pool that wedged is reported, never waited on.
  if (pool !== undefined) await shutDown(pool, false, context.closeDeadlineMs, context.interrupt.aborted ? [] : problems);
  return { name: kFreshStartName, title: kFreshStartTitle, did, elapsedMs, problems, interrupted: context.interrupt.aborted };
}
