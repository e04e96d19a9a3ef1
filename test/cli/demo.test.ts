import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
function run(t: TestContext, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * The comparison table (the first one): its rows may span several lines, set apart by blank
 * lines; each cell's lines are joined with a space. Columns start where the rule's dashes do.
 */
function comparison(stdout: string): { header: string[]; rows: string[][] } {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => /^-+( +-+)+$/.test(line));
  assert.ok(at > 0, `no table in:\n${stdout}`);
  const starts = [...(lines[at] as string).matchAll(/-+/g)].map((m) => m.index);
  const cut = (line: string) => starts.map((start, i) => line.slice(start, starts[i + 1]).trim());
  const rows: string[][] = [];
  let group: string[][] = [];
  const flush = () => {
    if (group.length > 0) rows.push(starts.map((_, i) => group.map((g) => g[i]).filter((c) => c !== '').join(' ')));
    group = [];
  };
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('procsafe in detail:') || /^(close|All|The|\d+ of)/.test(line)) break;
    if (line.trim() === '') flush();
    else group.push(cut(line));
  }
  flush();
  return { header: cut(lines[at - 1] as string), rows };
}

/** python3 is here: the Python column must then show what multiprocessing really does. */
const kHavePython = spawnSync('python3', ['--version']).status === 0;

/** Each row's title, and what Python's multiprocessing does there (the seeds' failures). */
const kPythonCells: readonly [string, RegExp][] = [
  ['worker SIGKILLed mid-task', /^Pool: the task's get\(\) hung \(stopped after 2\ss\); ProcessPoolExecutor: task BrokenProcessPool, bystander BrokenProcessPool$/],
  ['task calls process.exit(3)', /^Pool: the task's get\(\) hung \(stopped after 2\ss\); ProcessPoolExecutor: task SystemExit, bystander 81$/],
  ['task calls process.abort()', /^Pool: the task's get\(\) hung \(stopped after 2\ss\); ProcessPoolExecutor: task BrokenProcessPool, bystander BrokenProcessPool$/],
  ['infinite loop, taskTimeoutMs 300', /^Pool\.join\(\) hung \(stopped after 2\ss\); Pool: get\(timeout=0\.3\) raised TimeoutError, the task kept running/],
  ['allocates forever, maxMemoryMb 64', /^no memory option; RLIMIT_AS 512 MiB set by hand; Pool: the task raised MemoryError; join\(\) returned$/],
  ['reader SIGKILLed inside get()', /^the next reader got 0 of 2 queued items in 1\.5 s, Empty \d+ times \(the dead reader holds _rlock\); writers get Full$/],
  ['writer SIGKILLed mid-put of a 10 MiB item into a full queue (maxsize 1)', /^get\(timeout=1\) of the half-written item hung \(stopped after 2\ss\)$/],
  ['lock holder SIGKILLed', /^the next Lock\.acquire\(\) hung \(stopped after 2\ss\)$/],
  ['a module lock held in the parent as the pool starts (seeds 002, 003)', /^a task taking the lock in a forked worker hung \(stopped after 2\ss\)$/],
];

/** The comparison row of `title`: Python's cell as expected (when python3 is here), procsafe's as promised. */
function assertCompared(table: { rows: string[][] }, title: string, stdout: string): void {
  const cells = table.rows.find((row) => row[0] === title);
  assert.ok(cells !== undefined, `no comparison row for "${title}" in:\n${stdout}`);
  const [, python, procsafe, time, expected] = cells;
  const pattern = kPythonCells.find(([t]) => t === title)?.[1] as RegExp;
  if (kHavePython) assert.match(python ?? '', pattern, `row "${title}" Python: ${python}`);
  else assert.match(python ?? '', /^not run \(python3 not found\)$/);
  assert.notEqual(procsafe, '', `row "${title}" procsafe`);
  assert.match(time ?? '', title.includes('seeds 002') ? /^nothing to recover \(both answered \d+ ms after new Pool\(\)\)$/ : /^\d+ ms after /, `row "${title}" time to recover: ${time}`);
  assert.equal(expected, 'yes', `row "${title}" as expected: ${expected}`);
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
  const compared = comparison(result.stdout);
  assert.deepEqual(compared.header, ['scenario', 'Python multiprocessing (live)', 'procsafe', 'time to recover', 'as expected']);
  assert.equal(compared.rows.length, kPythonCells.length, result.stdout);
  for (const [title] of kPythonCells) assertCompared(compared, title, result.stdout);
  const [, pools, shared, ...more] = tables(result.stdout);
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
  assert.match(result.stdout, /^All 9 scenarios behaved as promised\.$/m);
  // Every hung Python reproduction was stopped with its whole process group.
  assert.deepEqual(pythonPids(), [], 'no Python process of the demo is left');
});

test('procsafe demo --only NAME runs that scenario alone', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'exit']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const compared = comparison(result.stdout);
  assert.equal(compared.rows.length, 1, result.stdout);
  assertCompared(compared, 'task calls process.exit(3)', result.stdout);
  const found = tables(result.stdout);
  assert.equal(found.length, 2, result.stdout);
  const table = found[1]?.rows ?? [];
  assert.equal(table.length, 1, result.stdout);
  assertRow(table[0], 'task calls process.exit(3)', 'WorkerCrashed', result.stdout);
});

test('procsafe demo --only lock-holder runs that Queue/Lock scenario alone, without a pool', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'lock-holder']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^procsafe demo: 1 scenario on a Queue or Lock shared with child Processes, run live/m);
  const [title, did, counts] = kQueueRows[2] as [string, RegExp, string];
  assertCompared(comparison(result.stdout), title, result.stdout);
  const found = tables(result.stdout);
  assert.equal(found.length, 2, result.stdout);
  assert.equal(found[1]?.rows.length, 1, result.stdout);
  assertQueueRow(found[1]?.rows[0], title, did, counts, result.stdout);
  assert.doesNotMatch(result.stdout, /close\(\)/);
  assert.match(result.stdout, /^The scenario behaved as promised\.$/m);
});

test('procsafe demo --only fork-lock: workers started while the parent holds a module lock find it free',
  { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'fork-lock']);
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const compared = comparison(result.stdout);
  assert.equal(compared.rows.length, 1, result.stdout);
  const title = 'a module lock held in the parent as the pool starts (seeds 002, 003)';
  assertCompared(compared, title, result.stdout);
  assert.equal(compared.rows[0]?.[2], 'both workers took the lock at once: workers start fresh (spawned, never forked)');
  assert.equal(tables(result.stdout).length, 1, result.stdout);
});

/** Pids of processes running the demo's Python reproductions (their command line names the script). */
function pythonPids(): string[] {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('demo/python/seeds.py');
    } catch {
      return false; // gone meanwhile
    }
  });
}

test('Ctrl-C while Python hangs stops its whole process group and exits 130',
  { timeout: 30_000, skip: !kHavePython && 'no python3' }, async (t) => {
  const child = spawn(process.execPath, [bin, 'demo', '--only', 'lock-holder'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  // The procsafe row runs first; interrupt once the Python reproduction is running.
  const deadline = Date.now() + 20_000;
  while (pythonPids().length === 0) {
    assert.ok(Date.now() < deadline, 'the Python reproduction never started');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGINT');
  assert.equal(await closed, 130, stdout);
  assert.match(stdout, /^Interrupted during Python's reproductions, after 0 of 1; their processes were stopped\.$/m);
  assert.deepEqual(pythonPids(), [], 'no Python process of the demo is left');
});

test('without Python the Python column says "not run", and the procsafe rows still run', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['demo', '--only', 'sigkill'], { ...process.env, PROCSAFE_DEMO_PYTHON: '/nonexistent/python3' });
  assert.equal(result.code, 0, `exit ${result.code} ${result.signal}\n${result.stdout}\n${result.stderr}`);
  const [row] = comparison(result.stdout).rows;
  assert.equal(row?.[1], 'not run (/nonexistent/python3 not found)');
  assert.equal(row?.[4], 'yes');
});

test('an unknown command exits 2 with one line, procsafe: <message>, and where to look', { timeout: 10_000 }, async (t) => {
  const result = await run(t, ['nope']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'procsafe: unknown command "nope" (commands: demo, map, status, worker)\nSee procsafe --help.\n');
});

test('bad options and an unknown --only scenario are usage errors (exit 2), one line each', { timeout: 10_000 }, async (t) => {
  const [flag, only, none] = await Promise.all([
    run(t, ['demo', '--bogus']),
    run(t, ['demo', '--only', 'nope']),
    run(t, []),
  ]);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr, "procsafe demo: unknown option '--bogus'\nSee procsafe demo --help.\n");
  assert.equal(only.code, 2);
  assert.equal(only.stderr, 'procsafe demo: unknown scenario "nope" for --only; ' +
    'choose one of sigkill, exit, abort, timeout, memory, queue-reader, queue-writer, lock-holder, fork-lock\n' +
    'See procsafe demo --help.\n');
  assert.equal(none.code, 2);
  assert.equal(none.stderr, 'procsafe: missing command (commands: demo, map, status, worker)\nSee procsafe --help.\n');
});

test('--help prints the usage on stdout and exits 0', { timeout: 10_000 }, async (t) => {
  const result = await run(t, ['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: procsafe <command>/);
  assert.match(result.stdout, /^ {2}demo \[--only NAME\]/m);
  assert.equal(result.stderr, '');
});
