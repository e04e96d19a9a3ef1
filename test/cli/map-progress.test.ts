// `procsafe map`'s per-task progress: the real binary under a real pseudo-terminal (util-linux `script`),
// and through pipes, where the reports are not shown; plus the text a report becomes.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { describeReport, TaskReports } from '../../dist/cli/map/task-progress.js';
import { tempDir } from '../helpers/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tasks = 'test/fixtures/map-tasks.mjs';

/** Shell-quotes one argument for `script -c`. */
const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

interface Watched {
  readonly child: ChildProcess;
  /** Everything written so far (stdout and stderr: under `script`, both are the terminal). */
  readonly output: () => string;
  /** Resolves once the output matches `pattern`; rejects if the process ends first. */
  readonly waitFor: (pattern: RegExp) => Promise<void>;
  readonly exited: Promise<number | null>;
}

function watch(t: TestContext, file: string, args: readonly string[], env: Readonly<Record<string, string>>): Watched {
  const child = spawn(file, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: string): void => {
    text += chunk;
    for (const check of waiters) check();
  };
  child.stdout?.setEncoding('utf8').on('data', onData);
  child.stderr?.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      resolve(code);
      for (const check of waiters) check();
    });
  });
  const waitFor = (pattern: RegExp): Promise<void> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (pattern.test(text)) {
        waiters.delete(check);
        resolve();
      } else if (child.exitCode !== null || child.signalCode !== null) {
        waiters.delete(check);
        reject(new Error(`exited before ${pattern} was written; output:\n${JSON.stringify(text.slice(-3000))}`));
      }
    };
    waiters.add(check);
    check();
  });
  return { child, output: () => text, waitFor, exited };
}

test('on a terminal, a line under the bar per running task shows its latest report, oldest input first; the lines go as tasks end',
  { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t);
    const input = join(dir, 'in.jsonl');
    const out = join(dir, 'out.jsonl');
    writeFileSync(input, '0\n1\n2\n');
    const command = [process.execPath, 'dist/cli/main.js', 'map', `${tasks}#reportSteps`, input, '-o', out, '-j', '2'].map(quote).join(' ');
    const run = watch(t, 'script', ['-qfc', command, '/dev/null'], { MAP_TASKS_DIR: dir });

    // Inputs 0 and 1 run (two workers) and each reported 3 of 5 steps, then wait to be released.
    await run.waitFor(/input 0: 3\/5 \(60%\)\x1b\[0K\r?\n\x1b\[1G {2}input 1: 3\/5 \(60%\)/);
    assert.doesNotMatch(run.output(), /input 2:/, 'input 2 has not started: no line for it');
    writeFileSync(join(dir, 'release-0'), '');
    // Input 0 answered: its line goes, input 2 takes a worker and reports.
    await run.waitFor(/input 1: 3\/5 \(60%\)\x1b\[0K\r?\n\x1b\[1G {2}input 2: 3\/5 \(60%\)/);
    const afterFirst = run.output();
    const lastFrame = afterFirst.slice(afterFirst.lastIndexOf('input 1: 3/5'));
    assert.doesNotMatch(lastFrame, /input 0:/);
    writeFileSync(join(dir, 'release-1'), '');
    writeFileSync(join(dir, 'release-2'), '');

    assert.equal(await run.exited, 0, run.output());
    const text = run.output();
    // The final picture is the bar alone: everything below it cleared (ESC[0J) after the last task line was drawn.
    const end = text.slice(text.lastIndexOf('  input '));
    assert.match(end, /\x1b\[0J/);
    assert.match(end.slice(end.lastIndexOf('\x1b[0J')), /100% 3\/3 /);
    assert.match(text, /procsafe map: 3 inputs answered in .*out\.jsonl: 3 ok, 0 failed; /);
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown),
      [0, 1, 2].map((i) => ({ i, ok: true, value: i * 2 })));
  });

test('without a terminal, the tasks\' reports are not shown: the plain progress lines only', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, '0\n1\n2\n');
  for (const i of [0, 1, 2]) writeFileSync(join(dir, `release-${i}`), '');
  const run = watch(t, process.execPath, ['dist/cli/main.js', 'map', `${tasks}#reportSteps`, input, '-j', '2'],
    { MAP_TASKS_DIR: dir, PROCSAFE_MAP_PROGRESS_MS: '50' });
  assert.equal(await run.exited, 0, run.output());
  const text = run.output();
  assert.doesNotMatch(text, /input \d+:|finishing|\x1b\[/);
  assert.match(text, /^\{"i":2,"ok":true,"value":4\}$/m);
});

test('a report becomes short text: a fraction as a percentage, { done, total }, a string without control characters, else JSON', () => {
  assert.equal(describeReport(0.425), '42%');
  assert.equal(describeReport(1), '100%');
  assert.equal(describeReport(17), '17');
  assert.equal(describeReport(Number.NaN), 'NaN');
  assert.equal(describeReport({ done: 3, total: 5 }), '3/5 (60%)');
  assert.equal(describeReport({ done: 3, total: 0 }), '3/0');
  assert.equal(describeReport('resizing \x1b[2Jb.png\n'), 'resizing  [2Jb.png ');
  assert.equal(describeReport({ stage: 'upload', bytes: 10n }), '{"stage":"upload","bytes":"10n"}');
  assert.equal(describeReport(undefined), 'undefined');
  const cycle: { self?: unknown } = {};
  cycle.self = cycle;
  assert.equal(describeReport(cycle), '[object Object]');
  assert.equal(describeReport('x'.repeat(500)).length, 200);
});

test('task lines: the latest report per input, oldest input first, at most the cap with the rest counted', () => {
  const reports = new TaskReports();
  assert.deepEqual(reports.lines(), []);
  reports.report(7, 0.1);
  reports.report(3, 'a');
  reports.report(7, 0.5);
  assert.deepEqual(reports.lines(), ['  input 3: a', '  input 7: 50%']);
  for (let i = 10; i < 20; i++) reports.report(i, i);
  assert.deepEqual(reports.lines(4), ['  input 3: a', '  input 7: 50%', '  input 10: 10', '  \u2026 and 9 more reporting']);
  reports.settle(3);
  reports.settle(7);
  for (let i = 10; i < 18; i++) reports.settle(i);
  assert.deepEqual(reports.lines(4), ['  input 18: 18', '  input 19: 19']);
});
