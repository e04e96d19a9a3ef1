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

/** Each Queue and Lock scenario's row title, what procsafe must have done, and the counts it must show afterwards. */
const kQueueRows: readonly [string, RegExp, string][] = [
  ['reader SIGKILLed inside get()', /^the reader behind it got the item/, 'qsize 0, full false'],
  ['writer SIGKILLed mid-put of a 10 MiB item into a full queue (maxsize 1)', /^the owner dropped the dead writer's parked put$/, 'qsize 1, full true'],
  ['lock holder SIGKILLed', /^the next acquirer got it, previousOwnerDied: true$/, '1 free, 0 held, 0 waiting'],
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

/** Every table's header and data rows, split into cells (columns are two or more spaces apart). */
function tables(stdout: string): { header: string[]; rows: string[][] }[] {
  const lines = stdout.split('\n');
  const found: { header: string[]; rows: string[][] }[] = [];
  for (const [at, line] of lines.entries()) {
    if (!/^-+( +-+)+$/.test(line) || at === 0) continue;
    const rows: string[][] = [];
    for (const row of lines.slice(at + 1)) {
      if (row.trim() === '') break;
      rows.push(row.split(/ {2,}/));
    }
    found.push({ header: (lines[at - 1] as string).split(/ {2,}/), rows });
  }
  assert.notEqual(found.length, 0, `no table in:\n${stdout}`);
  return found;
}

/** The first table's data rows (the Pool table, when it is there). */
function rows(stdout: string): string[][] {
  return (tables(stdout)[0] as { rows: string[][] }).rows;
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

function assertQueueRow(cells: string[] | undefined, title: string, did: RegExp, counts: string, stdout: string): void {
  assert.ok(cells !== undefined, `no row for "${title}" in:\n${stdout}`);
  const [, reported, time, after, works, expected] = cells;
  assert.match(reported ?? '', did, `row "${title}" procsafe did: ${reported}`);
  assert.match(time ?? '', /^\d+ ms after kill$/, `row "${title}" time: ${time}`);
  assert.equal(after, counts, `row "${title}" counts after: ${after}`);
  assert.equal(works, 'yes', `row "${title}" still works: ${works}`);
  assert.equal(expected, 'yes', `row "${title}" as expected: ${expected}`);
}

test('procsafe demo runs every crash scenario live and the pool, queues and lock survive each one', { timeout: 90_000 }, async (t) => {
  const result = await run(t, ['demo']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^procsafe demo: 5 crash scenarios, each on a fresh Pool of 2 worker processes, then 3 scenarios on a Queue or Lock /m);
  const [pools, shared, ...more] = tables(result.stdout);
  assert.equal(more.length, 0, result.stdout);
  assert.equal(pools?.rows.length, kRows.length, result.stdout);
  for (const [title, errorClass] of kRows) {
    assertRow(pools?.rows.find((cells) => cells[0] === title), title, errorClass, result.stdout);
  }
  assert.deepEqual(shared?.header, ['scenario', 'procsafe did', 'kill → recovery', 'counts after', 'still works', 'as expected']);
  assert.equal(shared?.rows.length, kQueueRows.length, result.stdout);
  for (const [title, did, counts] of kQueueRows) {
    assertQueueRow(shared?.rows.find((cells) => cells[0] === title), title, did, counts, result.stdout);
  }
  assert.match(result.stdout, /^close\(\) returned after every scenario/m);
  assert.match(result.stdout, /^All 8 scenarios behaved as promised\.$/m);
});

test('procsafe demo --only NAME runs that scenario alone', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'exit']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const table = rows(result.stdout);
  assert.equal(table.length, 1, result.stdout);
  assertRow(table[0], 'task calls process.exit(3)', 'WorkerCrashed', result.stdout);
  assert.equal(table[0]?.[0], 'task calls process.exit(3)');
  assert.equal(tables(result.stdout).length, 1, result.stdout);
});

test('procsafe demo --only lock-holder runs that Queue/Lock scenario alone, without a pool', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'lock-holder']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^procsafe demo: 1 scenario on a Queue or Lock shared with child Processes, run live/m);
  const found = tables(result.stdout);
  assert.equal(found.length, 1, result.stdout);
  assert.equal(found[0]?.rows.length, 1, result.stdout);
  const [title, did, counts] = kQueueRows[2] as [string, RegExp, string];
  assertQueueRow(found[0]?.rows[0], title, did, counts, result.stdout);
  assert.doesNotMatch(result.stdout, /close\(\)/);
  assert.match(result.stdout, /^The scenario behaved as promised\.$/m);
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
  assert.match(only.stderr, /^procsafe: unknown scenario "nope" for --only; choose one of sigkill, exit, abort, timeout, memory, queue-reader, queue-writer, lock-holder\n/);
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
