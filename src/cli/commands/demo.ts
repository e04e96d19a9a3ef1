/**
 * `procsafe demo`: the crash reports filed against Python's multiprocessing,
 * replayed live against procsafe's Pool, one fresh pool per scenario, then
 * against a Queue or Lock shared with child Processes, with a table of what
 * procsafe reported, how fast, and what kept working.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteStream } from 'node:tty';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../command.js';
import { kQueueScenarioNames, kQueueScenarios, type QueueScenarioResult, runQueueScenario } from '../demo/queue-scenarios.js';
import { type FreshStartResult, kFreshStartName, kFreshStartTitle, runFreshStart } from '../demo/fresh-start.js';
import { type PythonRun, pythonCommand, runPython } from '../demo/python.js';
import { kScenarioNames, kScenarios, runScenario, type ScenarioResult } from '../demo/scenarios.js';
import { formatTable, wrap } from '../table.js';

const kTasks = new URL('../demo/tasks.js', import.meta.url);
/** The Python reproductions, for the header (python.ts runs them). */
const pythonScriptName = 'dist/cli/demo/python/seeds.py';
const kQueueTasks = new URL('../demo/queue-tasks.js', import.meta.url);
/** Per scenario; the eight of them stay under a minute even if every one wedges. */
const kScenarioDeadlineMs = 6_000;
const kQueueScenarioDeadlineMs = 5_000;
const kCloseDeadlineMs = 2_000;
/** A Python call still waiting this long after it began is stopped and shown as hung. */
const kPythonHangMs = 2_000;
/** A bound on one whole Python reproduction, its setup included. */
const kPythonCapMs = 15_000;
/** Python reproductions run two at a time: while hung they only wait, and the procsafe rows are done. */
const kPythonConcurrency = 2;
/** Width of the Python and procsafe cells of the comparison table. */
const kCellWidth = 46;

export const kDemoUsage =
  `  demo [--only NAME]   run the crash scenarios live against procsafe and, when python3 is\n` +
  `                       present, against Python's multiprocessing; print both side by side\n` +
  `                       NAME: ${[...kScenarioNames, ...kQueueScenarioNames, kFreshStartName].join(', ')}\n`;

export const demo: Command = async (args, io) => {
  const { values } = parseArgs({
    args, options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false,
  });
  if (values.help === true) {
    io.stdout.write(`Usage: procsafe demo [--only NAME]\n\n${kDemoUsage}`);
    return 0;
  }
  const only = values.only;
  const names: readonly string[] = [...kScenarioNames, ...kQueueScenarioNames, kFreshStartName];
  if (only !== undefined && !names.includes(only)) {
    throw new UsageError('demo', `unknown scenario "${only}" for --only; choose one of ${names.join(', ')}`);
  }
  const scenarios = kScenarios.filter((s) => only === undefined || s.name === only);
  const queueScenarios = kQueueScenarios.filter((s) => only === undefined || s.name === only);
  const freshStart = only === undefined || only === kFreshStartName;
  const total = scenarios.length + queueScenarios.length + (freshStart ? 1 : 0);

  // Ctrl-C: abandon the running scenario, terminate its pool (its victim never ends by itself), exit 130.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  const dir = await mkdtemp(join(tmpdir(), 'procsafe-demo-'));
  const tty = (io.stderr as Partial<WriteStream>).isTTY === true;
  const results: ScenarioResult[] = [];
  const queueResults: QueueScenarioResult[] = [];
  const freshResults: FreshStartResult[] = [];
  const python = new Map<string, PythonRun>();
  try {
    const pools = scenarios.length === 0 ? []
      : [`${scenarios.length === 1 ? '1 crash scenario on a fresh Pool' : `${scenarios.length} crash scenarios, each on a fresh Pool`}` +
        ' of 2 worker processes'];
    const shared = queueScenarios.length === 0 ? []
      : [`${queueScenarios.length === 1 ? '1 scenario' : `${queueScenarios.length} scenarios`}` +
        ' on a Queue or Lock shared with child Processes'];
    const fresh = freshStart ? ['a Pool started while this process holds a module lock'] : [];
    io.stdout.write(
      `procsafe demo: ${[...pools, ...shared, ...fresh].join(', then ')}, run live (Node ${process.version}, ${process.platform}).\n` +
      (scenarios.length === 0 ? '' : `Pool rows: a victim task meets the fault next to a bystander task on the other worker.\n`) +
      (queueScenarios.length === 0 ? '' : 'Queue and Lock rows: this process owns the Queue or Lock; ' +
        'one child Process using it is SIGKILLed at the worst moment.\n') +
      `Python column: the seeds' reproductions (${pythonScriptName}) with the same fault, run live;\n` +
      `a call still waiting ${kPythonHangMs / 1000} s after it began is stopped and shown as hung.\n\n`);
    for (const [i, scenario] of scenarios.entries()) {
      if (interrupt.signal.aborted) break;
      if (tty) io.stderr.write(`\r\x1b[Krunning ${i + 1}/${total}: ${scenario.title} …`);
      results.push(await runScenario(scenario, {
        module: kTasks, dir, deadlineMs: kScenarioDeadlineMs, closeDeadlineMs: kCloseDeadlineMs, interrupt: interrupt.signal,
      }));
    }
    for (const [i, scenario] of queueScenarios.entries()) {
      if (interrupt.signal.aborted) break;
      if (tty) io.stderr.write(`\r\x1b[Krunning ${scenarios.length + i + 1}/${total}: ${scenario.title} …`);
      queueResults.push(await runQueueScenario(scenario, {
        module: kQueueTasks, deadlineMs: kQueueScenarioDeadlineMs, closeDeadlineMs: kCloseDeadlineMs, interrupt: interrupt.signal,
      }));
    }
    if (freshStart && !interrupt.signal.aborted) {
      if (tty) io.stderr.write(`\r\x1b[Krunning ${total}/${total}: ${kFreshStartTitle} …`);
      freshResults.push(await runFreshStart({
        module: kTasks, deadlineMs: kScenarioDeadlineMs, closeDeadlineMs: kCloseDeadlineMs, interrupt: interrupt.signal,
      }));
    }
    const names = [...results, ...queueResults, ...freshResults].map((r) => r.name);
    let next = 0;
    const worker = async () => {
      while (next < names.length && !interrupt.signal.aborted) {
        const name = names[next++] as string;
        if (tty) io.stderr.write(`\r\x1b[Krunning Python's reproductions: ${python.size + 1}/${names.length} …`);
        python.set(name, await runPython(name, {
          hangMs: kPythonHangMs, capMs: kPythonCapMs, interrupt: interrupt.signal, python: pythonCommand(),
        }));
      }
    };
    await Promise.all(Array.from({ length: kPythonConcurrency }, worker));
    if (tty) io.stderr.write('\r\x1b[K');
  } finally {
    process.removeListener('SIGINT', onSigint);
    await rm(dir, { recursive: true, force: true });
  }

  const pythonCell = (name: string) => wrap(python.get(name)?.cell ?? 'not run (interrupted)', kCellWidth);
  const compared = [
    ...results.map((r) => [
      r.title, pythonCell(r.name),
      wrap(`${r.reported.split(':')[0]}${r.bystander.startsWith('yes') ? '; the bystander finished' : ''}` +
        `${r.poolWorks === 'yes' ? '; the pool works on' : ''}`, kCellWidth),
      r.elapsedMs === undefined ? '-' : `${Math.round(r.elapsedMs)} ms ${r.since}`,
      r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
    ]),
    ...queueResults.map((r) => [
      r.title, pythonCell(r.name), wrap(r.did, kCellWidth),
      r.elapsedMs === undefined ? '-' : `${Math.round(r.elapsedMs)} ms after kill`,
      r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
    ]),
    ...freshResults.map((r) => [
      r.title, pythonCell(r.name), wrap(r.did, kCellWidth),
      r.elapsedMs === undefined ? '-' : wrap(`nothing to recover (both answered ${Math.round(r.elapsedMs)} ms after new Pool())`, 20),
      r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
    ]),
  ];
  if (compared.length > 0) {
    io.stdout.write(formatTable(['scenario', 'Python multiprocessing (live)', 'procsafe', 'time to recover', 'as expected'],
      compared.map(([title, ...rest]) => [wrap(title as string, 28), ...rest] as string[])));
    if (results.length + queueResults.length > 0) io.stdout.write('\nprocsafe in detail:\n\n');
  }
  if (results.length > 0) {
    io.stdout.write(formatTable(
      ['scenario', 'procsafe reported', 'fault → rejection', 'bystander done', 'pool still works', 'as expected'],
      results.map((r) => [
        r.title, r.reported, r.elapsedMs === undefined ? '-' : `${Math.round(r.elapsedMs)} ms ${r.since}`,
        r.bystander, r.poolWorks, r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
      ])));
  }
  if (queueResults.length > 0) {
    io.stdout.write((results.length > 0 ? '\n' : '') + formatTable(
      ['scenario', 'procsafe did', 'kill → recovery', 'counts after', 'still works', 'as expected'],
      queueResults.map((r) => [
        r.title, r.did, r.elapsedMs === undefined ? '-' : `${Math.round(r.elapsedMs)} ms after kill`,
        r.counts, r.works, r.interrupted ? 'interrupted' : r.problems.length === 0 ? 'yes' : 'NO',
      ])));
  }

  const failed = [...results, ...queueResults, ...freshResults].filter((r) => !r.interrupted && r.problems.length > 0);
  for (const r of failed) {
    io.stdout.write(`\n${r.name}: did NOT behave as expected:\n${r.problems.map((p) => `  - ${p}\n`).join('')}`);
    if ('fullMessage' in r && r.fullMessage !== undefined) io.stdout.write(`  full message: ${r.fullMessage}\n`);
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
    io.stdout.write(`close() did NOT return within ${kCloseDeadlineMs / 1000} s after: ${stuck.join(', ')}` +
      ' (the pool was terminated instead).\n');
  }
  if (interrupt.signal.aborted) {
    const done = finished.length + [...queueResults, ...freshResults].filter((r) => !r.interrupted).length;
    const pythonDone = [...python.values()].filter((run) => run.ran).length;
    io.stdout.write(done === total
      ? `Interrupted during Python's reproductions, after ${pythonDone} of ${total}; their processes were stopped.\n`
      : `Interrupted after ${done} of ${total} scenarios; the running pool or child processes were stopped.\n`);
    return 130;
  }
  const ran = results.length + queueResults.length + freshResults.length;
  io.stdout.write(failed.length === 0
    ? (ran === 1 ? 'The scenario behaved as promised.\n' : `All ${ran} scenarios behaved as promised.\n`)
    : `${failed.length} of ${ran} scenario${ran === 1 ? '' : 's'} did NOT behave as expected.\n`);
  return failed.length === 0 ? 0 : 1;
};
