import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';

// Compiled to dist-test/cli/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = 'dist/cli/main.js';

/** Each scenario's row title, and the error class procsafe must report for it. */
const kRows: readonly [string, string][] = [
  ['worker SIGKILLed mid-task', 'WorkerCrashed'],
  ['task calls process.exit(3)', 'WorkerCrashed'],
  ['task calls process.abort()', 'WorkerCrashed'],
  ['infinite loop, taskTimeoutMs 300', 'TaskTimeout'],
  ['allocates forever, maxMemoryMb 64', 'WorkerCrashed'],
];

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built binary; the child is killed when the test ends, whatever happened. */
function run(t: TestContext, args: string[]): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The table's data rows, split into cells (columns are two or more spaces apart). */
function rows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const rule = lines.findIndex((line) => /^-+( +-+)+$/.test(line));
  assert.notEqual(rule, -1, `no table in:\n${stdout}`);
  const body: string[][] = [];
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === '') break;
    body.push(line.split(/ {2,}/));
  }
  return body;
}

function assertRow(cells: string[] | undefined, title: string, errorClass: string, stdout: string): void {
  assert.ok(cells !== undefined, `no row for "${title}" in:\n${stdout}`);
  const [, reported, time, bystander, poolWorks, expected] = cells;
  assert.match(reported ?? '', new RegExp(`^${errorClass}: \\S`), `row "${title}" reported: ${reported}`);
  assert.match(time ?? '', /^\d+ ms after /, `row "${title}" time: ${time}`);
  assert.match(bystander ?? '', /^yes/, `row "${title}" bystander: ${bystander}`);
  assert.equal(poolWorks, 'yes', `row "${title}" pool still works: ${poolWorks}`);
  assert.equal(expected, 'yes', `row "${title}" as expected: ${expected}`);
}

test('procsafe demo runs every crash scenario live and the pool survives each one', { timeout: 90_000 }, async (t) => {
  const result = await run(t, ['demo']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const table = rows(result.stdout);
  assert.equal(table.length, kRows.length, result.stdout);
  for (const [title, errorClass] of kRows) {
    assertRow(table.find((cells) => cells[0] === title), title, errorClass, result.stdout);
  }
  assert.match(result.stdout, /^close\(\) returned after every scenario/m);
  assert.match(result.stdout, /^All 5 scenarios behaved as promised\.$/m);
});

test('procsafe demo --only NAME runs that scenario alone', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'exit']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const table = rows(result.stdout);
  assert.equal(table.length, 1, result.stdout);
  assertRow(table[0], 'task calls process.exit(3)', 'WorkerCrashed', result.stdout);
  assert.equal(table[0]?.[0], 'task calls process.exit(3)');
});

test('an unknown command exits 2 with procsafe: <message> and the usage on stderr', { timeout: 10_000 }, async (t) => {
  const result = await run(t, ['nope']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^procsafe: unknown command "nope"\n/);
  assert.match(result.stderr, /Usage: procsafe <command>/);
  assert.match(result.stderr, /^ {2}demo /m);
});

test('bad options and an unknown --only scenario are usage errors (exit 2)', { timeout: 10_000 }, async (t) => {
  const [flag, only, none] = await Promise.all([
    run(t, ['demo', '--bogus']),
    run(t, ['demo', '--only', 'nope']),
    run(t, []),
  ]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^procsafe: Unknown option '--bogus'/);
  assert.equal(only.code, 2);
  assert.match(only.stderr, /^procsafe: unknown scenario "nope" for --only; choose one of sigkill, exit, abort, timeout, memory\n/);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^procsafe: missing command\n/);
});

test('--help prints the usage on stdout and exits 0', { timeout: 10_000 }, async (t) => {
  const result = await run(t, ['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: procsafe <command>/);
  assert.match(result.stdout, /^ {2}demo \[--only NAME\]/m);
  assert.equal(result.stderr, '');
});
