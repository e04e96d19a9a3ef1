// `procsafe map` end to end: the real binary, real workers, real signals.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { samplePeakRss, tempDir } from '../helpers/index.js';

// Compiled to dist-test/cli/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = 'dist/cli/main.js';
const tasks = 'test/fixtures/map-tasks.mjs';

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<Run>;
}

interface StartOptions {
  /** Written to stdin, then stdin is closed; `'open'` leaves stdin open and empty. */
  readonly stdin?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Own process group, as a shell gives a foreground job: `process.kill(-pid)` then reaches the workers too. */
  readonly detached?: boolean;
  readonly nodeArgs?: readonly string[];
  /** The program and arguments that start procsafe, instead of `node [nodeArgs] dist/cli/main.js`. */
  readonly command?: readonly string[];
}

/** Starts the built binary; it (and its process group, if detached) is SIGKILLed when the test ends. */
function start(t: TestContext, args: readonly string[], options: StartOptions = {}): Started {
  const [file, ...argv] = options.command ?? [process.execPath, ...(options.nodeArgs ?? []), bin];
  const child = spawn(file as string, [...argv, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    detached: options.detached === true,
  });
  t.after(() => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      if (options.detached === true) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  });
  if (options.stdin !== 'open') child.stdin?.end(options.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

function run(t: TestContext, args: readonly string[], options: StartOptions = {}): Promise<Run> {
  return start(t, args, options).done;
}

interface Line {
  readonly i: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly name: string; readonly message: string; readonly code: string | number; readonly [key: string]: unknown };
}

/** Every line parsed; the text must be whole lines of JSON and nothing else. */
function parseLines(text: string): Line[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `output does not end with a newline: ${JSON.stringify(text.slice(-80))}`);
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as Line);
}

function numbers(count: number): string {
  return Array.from({ length: count }, (_, i) => `${i}\n`).join('');
}

function describeRun(result: Run): string {
  return `exit ${result.code} ${result.signal}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 4000)}`;
}

/** Polls until `path` holds at least `lines` lines. */
async function waitForLines(path: string, lines: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path) && readFileSync(path, 'utf8').split('\n').length - 1 >= lines) return;
    await sleep(20);
  }
  throw new Error(`${path} did not reach ${lines} lines within ${timeoutMs} ms`);
}

/** Asserts OUT holds exactly one well-formed line per input 0..count-1, each x * 2. */
function assertOnePerInput(path: string, count: number): void {
  const lines = parseLines(readFileSync(path, 'utf8'));
  const seen = new Map<number, Line>();
  for (const line of lines) {
    assert.ok(!seen.has(line.i), `input ${line.i} answered twice in ${path}`);
    seen.set(line.i, line);
  }
  assert.equal(lines.length, count, `${path} has ${lines.length} lines for ${count} inputs`);
  for (let i = 0; i < count; i++) assert.deepEqual(seen.get(i), { i, ok: true, value: i * 2 }, `input ${i}`);
}

/** How many times slowDouble ran for each input, from its run log. */
function runsPerInput(path: string): Map<number, number> {
  const runs = new Map<number, number>();
  if (!existsSync(path)) return runs;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line !== '') runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  }
  return runs;
}

test('results come in input order, one JSON line per input, on stdout; the summary goes to stderr', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['map', `${tasks}#jitter`, '-j', '3'], { stdin: numbers(60) });
  assert.equal(result.code, 0, describeRun(result));
  const lines = parseLines(result.stdout);
  assert.deepEqual(lines, Array.from({ length: 60 }, (_, i) => ({ i, ok: true, value: i * 2 })));
  assert.match(result.stderr, /^procsafe map: 60 inputs answered: 60 ok, 0 failed; 0 worker crashes, 0 retries; /m);
});

test('--unordered writes each result as it finishes, still exactly one per input', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, numbers(60));
  const out = join(dir, 'out.jsonl');
  const result = await run(t, ['map', `${tasks}#jitter`, input, '-o', out, '--unordered', '-j', '3']);
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stdout, '');
  assertOnePerInput(out, 60);
});

test('bad command lines exit 2 with one line naming the argument at fault and where to look, not the whole usage',
  { timeout: 30_000 }, async (t) => {
  const cases: [string[], RegExp][] = [
    [['map'], /^procsafe map: missing MODULE#FN/],
    [['map', tasks], /^procsafe map: MODULE#FN must name a module and an export, as tasks\.mjs#resize; got "test\/fixtures\/map-tasks\.mjs"/],
    [['map', `${tasks}#double`, '-j', '0'], /^procsafe map: -j expects a whole number from 1 to 1024, got "0"\n/],
    [['map', `${tasks}#double`, '--retries', 'x'], /^procsafe map: --retries expects a whole number from 0 to 1000, got "x"\n/],
    [['map', `${tasks}#double`, '--timeout=-1'], /^procsafe map: --timeout expects a number of seconds above 0 \(as 30 or 0\.5\), got "-1"\n/],
    [['map', `${tasks}#double`, '--timeout', 'soon'], /^procsafe map: --timeout expects a number of seconds above 0 \(as 30 or 0\.5\), got "soon"\n/],
    [['map', `${tasks}#double`, '--resume'], /^procsafe map: --resume needs -o OUT/],
    [['map', `${tasks}#double`, 'a', 'b'], /^procsafe map: unexpected argument "b"/],
    [['map', `${tasks}#double`, 'no-such-input.jsonl'], /^procsafe map: INPUT "no-such-input\.jsonl": no such file /],
    [['map', `${tasks}#double`, '--bogus'], /^procsafe map: unknown option '--bogus'\n/],
    [['map', `${tasks}#double`, tasks, '-o', tasks], /^procsafe map: -o ".*" is INPUT itself/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(t, args, { stdin: '1\n' })));
  for (const [index, result] of results.entries()) {
    const [args, message] = cases[index] as [string[], RegExp];
    assert.equal(result.code, 2, `${args.join(' ')}: ${describeRun(result)}`);
    assert.match(result.stderr, message, args.join(' '));
    const lines = result.stderr.split('\n');
    assert.deepEqual(lines.slice(1), ['See procsafe map --help.', ''], `${args.join(' ')}: one line, then where to look: ${result.stderr}`);
    assert.equal(result.stdout, '', args.join(' '));
  }
  const help = await run(t, ['map', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: procsafe map MODULE#FN \[INPUT\] \[options\]/);
  assert.match(help.stdout, /Exit status: 0 all inputs ok, 1 some failed, 2 usage error, 130 interrupted\./);
});

test('a line that is not JSON gets an error line of its own and the run goes on', { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['map', `${tasks}#identity`], { stdin: '1\nnot json\n\n{"a":[1,2]}\r\n"last, no newline"' });
  assert.equal(result.code, 1, describeRun(result));
  const lines = parseLines(result.stdout);
  assert.equal(lines.length, 5, result.stdout);
  assert.deepEqual(lines[0], { i: 0, ok: true, value: 1 });
  assert.equal(lines[1]?.ok, false);
  assert.equal(lines[1]?.error?.code, 'EINPUTJSON');
  assert.equal(lines[1]?.error?.name, 'SyntaxError');
  assert.match(lines[1]?.error?.message ?? '', /^input 1 \(line 2\) is not JSON: /);
  assert.deepEqual(lines[2], {
    i: 2, ok: false, error: { name: 'SyntaxError', message: 'input 2 (line 3) is an empty line', code: 'EINPUTJSON' },
  });
  assert.deepEqual(lines[3], { i: 3, ok: true, value: { a: [1, 2] } });
  assert.deepEqual(lines[4], { i: 4, ok: true, value: 'last, no newline' });
  assert.match(result.stderr, /5 inputs answered: 3 ok, 2 failed/);
});

test('a missing module or export fails at once, before any input is read, with a clear message', { timeout: 30_000 }, async (t) => {
  // stdin stays open and empty: a CLI that read input first would wait for ever.
  const [noFile, noExport, notFunction, broken] = await Promise.all([
    run(t, ['map', 'test/fixtures/no-such-module.mjs#double'], { stdin: 'open' }),
    run(t, ['map', `${tasks}#tripple`], { stdin: 'open' }),
    run(t, ['map', `${tasks}#notAFunction`], { stdin: 'open' }),
    run(t, ['map', 'test/fixtures/broken-syntax.mjs#anything'], { stdin: 'open' }),
  ]);
  assert.equal(noFile.code, 2, describeRun(noFile));
  assert.match(noFile.stderr, /^procsafe map: MODULE "test\/fixtures\/no-such-module\.mjs": no such file \/.*no-such-module\.mjs\n/);
  assert.equal(noExport.code, 2, describeRun(noExport));
  assert.match(noExport.stderr, /^procsafe map: MODULE "test\/fixtures\/map-tasks\.mjs" has no exported function "tripple"; its exported functions are: [^\n]*\bdouble\b/);
  assert.equal(notFunction.code, 2, describeRun(notFunction));
  assert.match(notFunction.stderr, /has no exported function "notAFunction"/);
  assert.equal(broken.code, 1, describeRun(broken));
  assert.match(broken.stderr, /^procsafe map: MODULE "test\/fixtures\/broken-syntax\.mjs" failed to load: SyntaxError/);
  for (const result of [noFile, noExport, notFunction, broken]) assert.equal(result.stdout, '');
});

test('without a terminal, progress is a plain line every interval on stderr; --quiet prints nothing', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, numbers(24));
  const env = { PROCSAFE_MAP_PROGRESS_MS: '100', MAP_TASKS_SLEEP_MS: '60' };
  const [loud, quiet] = await Promise.all([
    run(t, ['map', `${tasks}#slowDouble`, input, '-o', join(dir, 'loud.jsonl')], { env }),
    run(t, ['map', `${tasks}#slowDouble`, input, '-o', join(dir, 'quiet.jsonl'), '--quiet'], { env }),
  ]);
  assert.equal(loud.code, 0, describeRun(loud));
  const progress = loud.stderr.split('\n').filter((line) => line.startsWith('procsafe map slowDouble: '));
  assert.ok(progress.length >= 3, `expected several progress lines:\n${loud.stderr}`);
  for (const line of progress) {
    assert.match(line, /^procsafe map slowDouble: \d+\/24 \(\d+%\), [\d.]+\/s, ETA (\d+[smh]|\d+m\d\ds|\?), \d+ failed, \d+ crash(es)?, \d+ retr(y|ies)$/);
  }
  assert.doesNotMatch(loud.stderr, /\r|\x1b\[/, 'no terminal control sequences when stderr is not a terminal');
  assert.match(loud.stderr, /^procsafe map: 24 inputs answered in .*loud\.jsonl: 24 ok, 0 failed; /m);
  assert.equal(quiet.code, 0, describeRun(quiet));
  assert.equal(quiet.stderr, '');
  assertOnePerInput(join(dir, 'quiet.jsonl'), 24);
});

test('a task that throws gets an error line with its name, message, code and fields, and the exit status is 1',
  { timeout: 30_000 }, async (t) => {
  const result = await run(t, ['map', `${tasks}#failOnThirds`], { stdin: numbers(10) });
  assert.equal(result.code, 1, describeRun(result));
  const lines = parseLines(result.stdout);
  assert.equal(lines.length, 10);
  for (const line of lines) {
    if (line.i % 3 === 0) {
      assert.deepEqual(line, {
        i: line.i, ok: false,
        error: { name: 'BadInput', message: `no multiples of 3: ${line.i}`, code: 'EBADINPUT', input: `no multiples of 3: ${line.i}` },
      });
    } else {
      assert.deepEqual(line, { i: line.i, ok: true, value: line.i * 2 });
    }
  }
  assert.match(result.stderr, /10 inputs answered: 6 ok, 4 failed; 0 worker crashes, 0 retries/);
  // The first failure with the stack from the worker: the user's frame, not procsafe's.
  assert.match(result.stderr, /first failure: input 0: BadInput: no multiples of 3: 0\n\s+at failOnThirds \(.*map-tasks\.mjs:\d+:\d+\)/);
  assert.doesNotMatch(result.stderr, /dist\/child\/runtime\.js/);
});

test('a task that kills its worker runs again with --retries; without, it fails as WorkerCrashed; --timeout fails a slow one',
  { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const [retried, crashed, slow] = await Promise.all([
    run(t, ['map', `${tasks}#killOnce`, '--retries', '1'], { stdin: numbers(4), env: { MAP_TASKS_DIR: dir } }),
    run(t, ['map', `${tasks}#alwaysKill`, '--retries', '1'], { stdin: numbers(2) }),
    run(t, ['map', `${tasks}#slowDouble`, '--timeout', '0.3', '-j', '1'], { stdin: numbers(1), env: { MAP_TASKS_SLEEP_MS: '20000' } }),
  ]);
  assert.equal(retried.code, 0, describeRun(retried));
  assert.deepEqual(parseLines(retried.stdout), [0, 1, 2, 3].map((i) => ({ i, ok: true, value: i * 2 })));
  assert.match(retried.stderr, /4 inputs answered: 4 ok, 0 failed; 4 worker crashes, 4 retries/);
  assert.equal(crashed.code, 1, describeRun(crashed));
  const lines = parseLines(crashed.stdout);
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.equal(line.ok, false);
    assert.equal(line.error?.name, 'WorkerCrashed');
    assert.equal(line.error?.code, 'EWORKERCRASHED');
    assert.equal(line.error?.['signal'], 'SIGKILL');
    assert.equal(line.error?.['attempts'], 2);
  }
  assert.match(crashed.stderr, /2 inputs answered: 0 ok, 2 failed; 4 worker crashes, 2 retries/);
  assert.equal(slow.code, 1, describeRun(slow));
  const [late] = parseLines(slow.stdout);
  assert.equal(late?.error?.name, 'TaskTimeout');
  assert.equal(late?.error?.code, 'ETASKTIMEOUT');
  // A CLI user has no taskTimeoutMs to raise: the message speaks of the flag.
  assert.match(late?.error?.message ?? '', /ran longer than --timeout 0\.3 s; its worker was stopped and replaced\. If it needs longer, raise --timeout S/);
  assert.doesNotMatch(`${late?.error?.message} ${slow.stderr}`, /taskTimeoutMs/);
  assert.match(slow.stderr, /first failure: input 0: TaskTimeout: .*--timeout S/);
});

test('worker output goes to stderr, never among the results; a result JSON cannot hold is an error line',
  { timeout: 30_000 }, async (t) => {
  const [chatty, bigint] = await Promise.all([
    run(t, ['map', `${tasks}#chatty`], { stdin: numbers(3) }),
    run(t, ['map', `${tasks}#bigint`], { stdin: '5\n' }),
  ]);
  assert.equal(chatty.code, 0, describeRun(chatty));
  assert.deepEqual(parseLines(chatty.stdout), [0, 1, 2].map((i) => ({ i, ok: true, value: i })));
  for (const i of [0, 1, 2]) assert.match(chatty.stderr, new RegExp(`^\\[worker\\] chatty says ${i}$`, 'm'));
  assert.equal(bigint.code, 1, describeRun(bigint));
  const [line] = parseLines(bigint.stdout);
  assert.equal(line?.error?.code, 'ERESULTJSON');
  assert.match(line?.error?.message ?? '', /^the result cannot be written as JSON: .*BigInt/);
});

test('a TypeScript worker module runs when procsafe runs under tsx', { timeout: 30_000 }, async (t) => {
  const [withLoader, without] = await Promise.all([
    run(t, ['map', 'test/fixtures/ts-tasks.ts#triple'], { stdin: '1\n2\n', nodeArgs: ['--import', 'tsx'] }),
    run(t, ['map', 'test/fixtures/ts-tasks.ts#triple'], { stdin: '1\n2\n' }),
  ]);
  assert.equal(withLoader.code, 0, describeRun(withLoader));
  assert.deepEqual(parseLines(withLoader.stdout), [{ i: 0, ok: true, value: 3 }, { i: 1, ok: true, value: 6 }]);
  assert.equal(without.code, 2, describeRun(without));
  assert.match(without.stderr, /is TypeScript and Node needs a loader for it: run procsafe under tsx, as NODE_OPTIONS='--import tsx' procsafe map/);
});

test('Ctrl-C (SIGINT to the process group) lets running tasks finish; a second kills them; ' +
  '--resume completes with exactly one line per input', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  const out = join(dir, 'out.jsonl');
  const runLog = join(dir, 'runs.log');
  const count = 40;
  writeFileSync(input, numbers(count));
  const env = { MAP_TASKS_RUN_LOG: runLog, MAP_TASKS_SLEEP_MS: '150', PROCSAFE_MAP_PROGRESS_MS: '60000' };
  const args = ['map', `${tasks}#slowDouble`, input, '-o', out, '-j', '2'];

  // 1. One Ctrl-C, as a terminal sends it: to the CLI and its workers alike.
  const first = start(t, args, { env, detached: true });
  await waitForLines(out, 4);
  process.kill(-(first.child.pid as number), 'SIGINT');
  const interrupted = await first.done;
  assert.equal(interrupted.code, 130, describeRun(interrupted));
  assert.match(interrupted.stderr, /procsafe map: stopping: waiting for the \d+ tasks? already started \(Ctrl-C again to kill them\)/);
  assert.match(interrupted.stderr, /^procsafe map: interrupted: \d+ of 40 inputs answered in .*out\.jsonl \(\d+ ok, 0 failed; 0 worker crashes, 0 retries\)\.$/m);
  const resume = `Resume with: node dist/cli/main.js map 'test/fixtures/map-tasks.mjs#slowDouble' ${input} -o ${out} -j 2 --resume\n`;
  assert.ok(interrupted.stderr.includes(resume), interrupted.stderr);
  const afterFirst = parseLines(readFileSync(out, 'utf8'));
  assert.ok(afterFirst.length < count, `the run was not interrupted: ${afterFirst.length} lines`);
  // Every task that started also finished and was written: the workers ignored the group's SIGINT.
  assert.deepEqual([...runsPerInput(runLog).keys()].sort((a, b) => a - b), afterFirst.map((line) => line.i));

  // 2. Resumed, then two Ctrl-C: the tasks in flight are killed and left unanswered.
  const second = start(t, [...args, '--resume'], { env, detached: true });
  await waitForLines(out, afterFirst.length + 4);
  process.kill(-(second.child.pid as number), 'SIGINT');
  await sleep(30);
  process.kill(-(second.child.pid as number), 'SIGINT');
  const killed = await second.done;
  assert.equal(killed.code, 130, describeRun(killed));
  const stopped = /; (\d+) tasks? in flight (was|were) stopped and will run again\./.exec(killed.stderr);
  const afterSecond = parseLines(readFileSync(out, 'utf8'));
  assert.ok(afterSecond.length < count, `the resumed run was not interrupted: ${afterSecond.length} lines`);

  // 3. Resumed to the end.
  const third = await run(t, [...args, '--resume'], { env: { ...env, MAP_TASKS_SLEEP_MS: '5' } });
  assert.equal(third.code, 0, describeRun(third));
  assert.match(third.stderr, /40 inputs answered in .*: 40 ok, 0 failed; .*\(\d+ answered by earlier runs\)/);
  assertOnePerInput(out, count);
  // Only a task in flight at the second Ctrl-C ran twice.
  const twice = [...runsPerInput(runLog).entries()].filter(([, runs]) => runs > 1);
  assert.ok(twice.every(([, runs]) => runs === 2), `ran more than twice: ${JSON.stringify(twice)}`);
  assert.ok(twice.length <= Number(stopped?.[1] ?? 0), `ran twice: ${JSON.stringify(twice)}, stopped: ${stopped?.[0]}`);
  assert.equal(runsPerInput(runLog).size, count);
});

test('the resume command printed at Ctrl-C is the command that was run: its launcher, node options and NODE_OPTIONS, shell-quoted',
  { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in put.jsonl');
  writeFileSync(input, numbers(30));
  // A `procsafe` on PATH as a global install gives it, and one in node_modules/.bin as npm run and npx give it.
  const binDir = join(dir, 'bin');
  const npmBin = join(dir, 'node_modules', '.bin');
  mkdirSync(binDir);
  mkdirSync(npmBin, { recursive: true });
  // npm makes a package's bin executable when it installs it; tsc does not.
  chmodSync(join(root, bin), 0o755);
  symlinkSync(join(root, bin), join(binDir, 'procsafe'));
  symlinkSync(join(root, bin), join(npmBin, 'procsafe'));
  const path = `${binDir}:${process.env['PATH'] ?? ''}`;
  const env = { MAP_TASKS_SLEEP_MS: '100', PROCSAFE_MAP_PROGRESS_MS: '60000', PATH: path, NODE_OPTIONS: '' };
  const quotedInput = `'${input}'`;
  const cases: { name: string; options: StartOptions; expected: string }[] = [
    { name: 'on PATH, with NODE_OPTIONS', options: { command: ['procsafe'], env: { ...env, NODE_OPTIONS: '--import tsx' } },
      expected: `NODE_OPTIONS='--import tsx' procsafe map` },
    { name: 'npx', options: { command: [join(npmBin, 'procsafe')], env: { ...env, npm_command: 'exec', npm_lifecycle_event: 'npx' } },
      expected: 'npx procsafe map' },
    { name: 'node with options', options: { nodeArgs: ['--stack-size=2000'], env },
      expected: 'node --stack-size=2000 dist/cli/main.js map' },
  ];
  await Promise.all(cases.map(async ({ name, options, expected }, k) => {
    const out = join(dir, `out-${k}.jsonl`);
    const args = ['map', `${tasks}#slowDouble`, input, '-o', out, '-j', '1'];
    const started = start(t, args, options);
    await waitForLines(out, 1);
    started.child.kill('SIGINT');
    const result = await started.done;
    assert.equal(result.code, 130, `${name}: ${describeRun(result)}`);
    const again = `${expected} 'test/fixtures/map-tasks.mjs#slowDouble' ${quotedInput} -o ${out} -j 1 --resume`;
    assert.ok(result.stderr.includes(`Resume with: ${again}\n`), `${name}: ${result.stderr}`);
  }));
});

test('after SIGKILL of the CLI itself, --resume drops a cut-off last line and completes with one line per input',
  { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'in.jsonl');
  const out = join(dir, 'out.jsonl');
  const count = 60;
  writeFileSync(input, numbers(count));
  const args = ['map', `${tasks}#slowDouble`, input, '-o', out, '--unordered'];
  const env = { MAP_TASKS_SLEEP_MS: '40' };

  const first = start(t, [...args, '-q'], { env });
  await waitForLines(out, 6);
  first.child.kill('SIGKILL');
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL');
  // The writer died mid-line: cut the last line short, as a kill inside write() leaves it.
  const size = statSync(out).size;
  truncateSync(out, size - 4);
  const cut = readFileSync(out, 'utf8');
  assert.ok(!cut.endsWith('\n'));
  const kept = cut.split('\n').length - 1;

  const resumed = await run(t, [...args, '--resume'], { env: { ...env, MAP_TASKS_SLEEP_MS: '5' } });
  assert.equal(resumed.code, 0, describeRun(resumed));
  assert.match(resumed.stderr, /^procsafe map: dropped a cut-off last line of .*out\.jsonl \(\d+ bytes; its input runs again\)$/m);
  assertOnePerInput(out, count);
  assert.ok(kept >= 5);

  // A file that is not ours is refused, not "repaired".
  const other = join(dir, 'other.jsonl');
  const fd = openSync(other, 'w');
  writeSync(fd, '{"i":0,"ok":true,"value":0}\nhello\n');
  closeSync(fd);
  const refused = await run(t, ['map', `${tasks}#double`, input, '-o', other, '--resume']);
  assert.equal(refused.code, 2, describeRun(refused));
  assert.match(refused.stderr, /^procsafe map: -o ".*other\.jsonl": line 2 is not a result line of procsafe map: hello; --resume continues only a file procsafe map wrote/);
  assert.equal(readFileSync(other, 'utf8'), '{"i":0,"ok":true,"value":0}\nhello\n');

  // A large file of something else (8 GiB of zeros, sparse: no line end, nothing JSON) is refused
  // at once: read whole, it would not even fit in one Buffer.
  const huge = join(dir, 'disk.img');
  writeFileSync(huge, '');
  truncateSync(huge, 8 * 1024 ** 3);
  const image = await run(t, ['map', `${tasks}#double`, input, '-o', huge, '--resume']);
  assert.equal(image.code, 2, describeRun(image));
  assert.match(image.stderr, /line 1 is not a result line of procsafe map/);
  assert.equal(statSync(huge).size, 8 * 1024 ** 3, 'left as it was');

  // A small one whose last line has no line end: refused, never "repaired" (cut).
  const notes = join(dir, 'notes.txt');
  writeFileSync(notes, '{"i":0,"ok":true,"value":0}\nremember the milk');
  const notOurs = await run(t, ['map', `${tasks}#double`, input, '-o', notes, '--resume']);
  assert.equal(notOurs.code, 2, describeRun(notOurs));
  assert.match(notOurs.stderr, /line 2 is not a result line of procsafe map: remember the milk/);
  assert.equal(readFileSync(notes, 'utf8'), '{"i":0,"ok":true,"value":0}\nremember the milk');
});

test('100k input lines of 1 KiB stream through with a flat heap and bounded memory', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'big.jsonl');
  const out = join(dir, 'out.jsonl');
  const count = 100_000;
  const pad = 'x'.repeat(1000);
  const fd = openSync(input, 'w');
  for (let i = 0; i < count; i += 1000) {
    let chunk = '';
    for (let j = i; j < i + 1000; j++) chunk += `"${pad}${j}"\n`;
    writeSync(fd, chunk);
  }
  closeSync(fd);
  // About 100 MB of input. A 48 MiB heap could not hold it; a CLI that kept lines or results would die of it.
  const started = performance.now();
  const { child, done } = start(t, ['map', `${tasks}#len`, input, '-o', out, '-q'], { nodeArgs: ['--max-old-space-size=48'] });
  const rss = samplePeakRss(child.pid as number);
  t.after(() => rss.stop());
  const result = await done;
  const peakKb = rss.stop();
  const seconds = (performance.now() - started) / 1000;
  assert.equal(result.code, 0, describeRun(result));
  const text = readFileSync(out, 'utf8');
  assert.equal(text.split('\n').length - 1, count);
  assert.equal(text.slice(0, text.indexOf('\n')), '{"i":0,"ok":true,"value":1001}');
  // Peak RSS of the CLI (not the workers): a small fraction of the input's size.
  assert.ok(peakKb > 0 && peakKb < 150 * 1024, `peak RSS ${Math.round(peakKb / 1024)} MiB`);
  t.diagnostic(`100k lines in ${seconds.toFixed(1)} s, CLI peak RSS ${Math.round(peakKb / 1024)} MiB`);
});
