/**
 * `procsafe demo`: the crash reports filed against Python's multiprocessing,
 * replayed live against procsafe's Pool, one fresh pool per scenario, with a
 * table of what procsafe reported, how fast, and what kept working.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteStream } from 'node:tty';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../command.js';
import { kScenarioNames, kScenarios, runScenario, type ScenarioResult } from '../demo/scenarios.js';
import { formatTable } from '../table.js';

/** The worker module: dist/cli/demo/tasks.js, beside this file's folder. */
const kTasks = new URL('../demo/tasks.js', import.meta.url);
/** Per scenario; five of them stay well under a minute even if every one wedges. */
const kScenarioDeadlineMs = 6_000;
const kCloseDeadlineMs = 2_000;

export const kDemoUsage =
  `  demo [--only NAME]   run the crash scenarios live and print what procsafe did\n` +
  `                       NAME: ${kScenarioNames.join(', ')}\n`;

export const demo: Command = async (args, io) => {
  const { values } = parseArgs({
    args, options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout.write(`Usage: procsafe demo [--only NAME]\n\n${kDemoUsage}`);
    return 0;
  }
  const only = values.only;
  if (only !== undefined && !kScenarioNames.some((name) => name === only)) {
    throw new UsageError(`unknown scenario "${only}" for --only; choose one of ${kScenarioNames.join(', ')}`);
  }
  const scenarios = kScenarios.filter((s) => only === undefined || s.name === only);

  // Ctrl-C: abandon the running scenario, terminate its pool (its victim never ends by itself), exit 130.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  const dir = await mkdtemp(join(tmpdir(), 'procsafe-demo-'));
  const tty = (io.stderr as Partial<WriteStream>).isTTY === true;
  const results: ScenarioResult[] = [];
  try {
    io.stdout.write(
      `procsafe demo: ${scenarios.length === 1 ? '1 crash scenario on a fresh Pool' : `${scenarios.length} crash scenarios, each on a fresh Pool`} of 2 worker ` +
      `processes, run live (Node ${process.version}, ${process.platform}).\n` +
      `Each row: a victim task meets the fault next to a bystander task on the other worker.\n` +
      `For comparison, Python: a worker killed mid-task leaves multiprocessing.Pool.join() waiting for ever,\n` +
      `and concurrent.futures.ProcessPoolExecutor fails every pending future with BrokenProcessPool.\n\n`);
    for (const [i, scenario] of scenarios.entries()) {
      if (interrupt.signal.aborted) break;
      if (tty) io.stderr.write(`\r\x1b[Krunning ${i + 1}/${scenarios.length}: ${scenario.title} …`);
      results.push(await runScenario(scenario, {
        module: kTasks, dir, deadlineMs: kScenarioDeadlineMs, closeDeadlineMs: kCloseDeadlineMs, interrupt: interrupt.signal,
      }));
    }
    if (tty) io.stderr.write('\r\x1b[K');
  } finally {
    process.removeListener('SIGINT', onSigint);
    await rm(dir, { recursive: true, force: true });
  }

  io.stdout.write(formatTable(
    ['scenario', 'procsafe reported', 'fault → rejection', 'bystander done', 'pool still works', 'as expected'],
    results.map((r) => [
      r.title, r.reported, r.elapsedMs === undefined ? '-' : `${Math.round(r.elapsedMs)} ms ${r.since}`,
      r.bystander, r.poolWorks, r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
    ])));

  const failed = results.filter((r) => !r.interrupted && r.problems.length > 0);
  for (const r of failed) {
    io.stdout.write(`\n${r.name}: did NOT behave as expected:\n${r.problems.map((p) => `  - ${p}\n`).join('')}`);
    if (r.fullMessage !== undefined) io.stdout.write(`  full message: ${r.fullMessage}\n`);
  }

  const finished = results.filter((r) => !r.interrupted);
  const closed = finished.filter((r) => r.closeMs !== undefined);
  io.stdout.write('\n');
  if (closed.length === finished.length && finished.length > 0) {
    const slowest = Math.max(...closed.map((r) => r.closeMs as number));
    io.stdout.write(finished.length === 1
      ? `close() returned in ${Math.round(slowest)} ms: the pool was not left waiting on a dead worker.\n`
      : `close() returned after every scenario (slowest: ${Math.round(slowest)} ms): no pool was left waiting on a dead worker.\n`);
  } else if (closed.length < finished.length) {
    const stuck = finished.filter((r) => r.closeMs === undefined).map((r) => r.name);
    io.stdout.write(`close() did NOT return within ${kCloseDeadlineMs / 1000} s after: ${stuck.join(', ')} (the pool was terminated instead).\n`);
  }
  if (interrupt.signal.aborted) {
    io.stdout.write(`Interrupted after ${finished.length} of ${scenarios.length} scenarios; the running pool was terminated.\n`);
    return 130;
  }
  io.stdout.write(failed.length === 0
    ? (results.length === 1 ? 'The scenario behaved as promised.\n' : `All ${results.length} scenarios behaved as promised.\n`)
    : `${failed.length} of ${results.length} scenario${results.length === 1 ? '' : 's'} did NOT behave as expected.\n`);
  return failed.length === 0 ? 0 : 1;
};
