// Process: start, join, exit codes, errors, kill, join timeouts and output
// pipes, against real child processes.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test, type TestContext } from 'node:test';
import { Process, type ProcessOptions, ProcsafeError, RemoteError, SerializationError } from 'procsafe';
import { fixture, isAlive, tempDir } from '../helpers/index.js';

const procTasks = fixture('proc-tasks.mjs');

/** A Process killed when the test ends, whatever happened. */
function create(t: TestContext, options: Omit<ProcessOptions, 'module'> & { module?: URL | string }): Process {
  const p = new Process({ module: procTasks, stdout: 'ignore', stderr: 'ignore', ...options });
  t.after(() => { p.kill('SIGKILL'); });
  return p;
}

test('start() resolves once the child runs; a returning fn exits 0 with no error', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'sleep', args: [50] });
  assert.match(p.name, /^Process-\d+$/);
  assert.equal(typeof p.pid, 'undefined');
  assert.equal(p.isAlive, false);
  assert.equal(p.exitCode, null);
  assert.equal(p.signal, null);
  await p.start();
  assert.equal(typeof p.pid, 'number');
  assert.ok(isAlive(p.pid as number));
  const result = await p.join();
  assert.deepEqual(result, { exitCode: 0, signal: null });
  assert.equal(p.isAlive, false);
  assert.equal(p.exitCode, 0);
  assert.equal(p.signal, null);
  // join() again gives the same answer at once.
  assert.deepEqual(await p.join(), { exitCode: 0, signal: null });
});

test('default names count up as Python does: Process-N, named ones counted too', { timeout: 10_000 }, () => {
  const a = new Process({ module: procTasks, fn: 'noop' });
  const named = new Process({ module: procTasks, fn: 'noop', name: 'custom' });
  const b = new Process({ module: procTasks, fn: 'noop' });
  const n = Number(a.name.slice('Process-'.length));
  assert.equal(named.name, 'custom');
  assert.equal(b.name, `Process-${n + 2}`);
});

test('args arrive as structured-clone copies', { timeout: 20_000 }, async (t) => {
  const path = join(tempDir(t), 'args.json');
  const p = create(t, { fn: 'recordArgs', args: [path, 1, 'two', { three: [3] }, 4n, null] });
  await p.start();
  assert.deepEqual(await p.join(), { exitCode: 0, signal: null });
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), [1, 'two', { three: [3] }, '4n', null]);
});

test('fn throwing exits 1; join() resolves with a RemoteError carrying the remote name, message and code',
  { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'fail', args: ['boom'], stderr: 'pipe' });
  await p.start();
  assert.ok(p.stderr);
  const stderr = text(p.stderr);
  const result = await p.join();
  assert.equal(result.exitCode, 1);
  assert.equal(result.signal, null);
  assert.ok(result.error instanceof RemoteError);
  assert.equal(result.error.message, 'boom');
  assert.equal(result.error.remoteName, 'RangeError');
  assert.equal(result.error.remoteCode, 'E_BAD_THING');
  assert.match(result.error.remoteStack ?? '', /at fail \(/);
  // As Python prints the traceback, the child reports the error on its stderr too.
  assert.match(await stderr, new RegExp(`^Process ${p.name} \\(pid ${p.pid}\\) failed: RangeError: boom`));
});

test('fn rejecting exits 1 with the rejection as a RemoteError', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'rejectWith', args: ['nope'] });
  await p.start();
  const result = await p.join();
  assert.equal(result.exitCode, 1);
  assert.ok(result.error instanceof RemoteError);
  assert.equal(result.error.remoteName, 'TypeError');
  assert.equal(result.error.message, 'nope');
});

test('process.exit(7) inside fn exits 7, with no error', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'exitWith', args: [7] });
  await p.start();
  assert.deepEqual(await p.join(), { exitCode: 7, signal: null });
  assert.equal(p.exitCode, 7);
});

test('a returning fn leaves the exit to its event loop: a pending timer still runs', { timeout: 20_000 }, async (t) => {
  const path = join(tempDir(t), 'timer');
  const p = create(t, { fn: 'leaveTimer', args: [path, 100] });
  await p.start();
  assert.deepEqual(await p.join(), { exitCode: 0, signal: null });
  assert.equal(readFileSync(path, 'utf8'), 'timer ran');
});

test('an uncaught error after fn returned ends the process with 1, and is the join() error', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'throwLater', args: ['late'] });
  await p.start();
  const result = await p.join();
  assert.equal(result.exitCode, 1);
  assert.ok(result.error instanceof RemoteError);
  assert.equal(result.error.remoteName, 'EvalError');
  assert.equal(result.error.message, 'late');
});

test('kill() sends SIGTERM by default', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'hang' });
  await p.start();
  assert.equal(p.kill(), true);
  assert.deepEqual(await p.join(), { exitCode: null, signal: 'SIGTERM' });
  assert.equal(p.signal, 'SIGTERM');
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive, false);
  // Once it has exited there is nothing to signal (its pid may be someone else's by now).
  assert.equal(p.kill(), false);
});

test("kill('SIGKILL') ends it with SIGKILL", { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'sleep', args: [60_000] });
  await p.start();
  p.kill('SIGKILL');
  assert.deepEqual(await p.join(), { exitCode: null, signal: 'SIGKILL' });
  assert.equal(isAlive(p.pid as number), false);
});

test('join({ timeoutMs }) returns with the process still running, as Python\'s join(timeout)', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'hang' });
  await p.start();
  assert.deepEqual(await p.join({ timeoutMs: 100 }), { exitCode: null, signal: null });
  assert.equal(p.isAlive, true);
  assert.equal(p.exitCode, null);
  p.kill();
  assert.deepEqual(await p.join({ timeoutMs: 10_000 }), { exitCode: null, signal: 'SIGTERM' });
  assert.equal(p.isAlive, false);
});

test('join({ timeoutMs }) reads timeouts as everywhere: <= 0 returns the state at once, Infinity waits for the exit',
  { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'hang' });
  await p.start();
  assert.deepEqual(await p.join({ timeoutMs: -1 }), { exitCode: null, signal: null });
  assert.deepEqual(await p.join({ timeoutMs: 0 }), { exitCode: null, signal: null });
  assert.equal(p.isAlive, true);
  await assert.rejects(p.join({ timeoutMs: Number.NaN }), TypeError);
  const joined = p.join({ timeoutMs: Infinity });
  p.kill('SIGKILL');
  assert.deepEqual(await joined, { exitCode: null, signal: 'SIGKILL' });
  assert.deepEqual(await p.join({ timeoutMs: -1 }), { exitCode: null, signal: 'SIGKILL' }, 'once ended, the end at once');
});

test('join({ signal }) rejects AbortError on abort, leaves the process running and no listener behind', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'hang' });
  await p.start();
  const controller = new AbortController();
  const joined = p.join({ signal: controller.signal });
  controller.abort();
  await assert.rejects(joined, { name: 'AbortError', code: 'ABORT_ERR' });
  assert.equal(p.isAlive, true);
  await assert.rejects(p.join({ signal: controller.signal }), { code: 'ABORT_ERR' }, 'an aborted signal rejects at once');
  const quiet = new AbortController();
  for (let i = 0; i < 20; i++) assert.deepEqual(await p.join({ timeoutMs: 1, signal: quiet.signal }), { exitCode: null, signal: null });
  assert.equal(getEventListeners(quiet.signal, 'abort').length, 0);
  p.kill('SIGKILL');
  assert.deepEqual(await p.join({ signal: quiet.signal }), { exitCode: null, signal: 'SIGKILL' });
  assert.equal(getEventListeners(quiet.signal, 'abort').length, 0);
});

test('an unknown export rejects start() with a RemoteError naming module and export; the child is gone', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'noSuchExport' });
  await assert.rejects(p.start(), (error: unknown) => {
    assert.ok(error instanceof RemoteError);
    assert.match(error.message,
      new RegExp(`^${p.name} could not start: worker module .*proc-tasks\\.mjs has no export named "noSuchExport"`));
    assert.match(error.message, /its function exports are: .*noop/);
    return true;
  });
  assert.equal(p.isAlive, false);
  assert.equal(isAlive(p.pid as number), false);
  const result = await p.join();
  assert.equal(result.exitCode, 1);
  assert.ok(result.error instanceof RemoteError);

  const notFn = create(t, { fn: 'notAFunction' });
  await assert.rejects(notFn.start(), /export "notAFunction" of worker module .* is a number, not a function/);
});

test('a module that fails to import rejects start() with a RemoteError; the child is gone', { timeout: 20_000 }, async (t) => {
  const p = create(t, { module: fixture('broken-syntax.mjs'), fn: 'anything' });
  await assert.rejects(p.start(), (error: unknown) => {
    assert.ok(error instanceof RemoteError);
    assert.equal(error.remoteName, 'SyntaxError');
    assert.match(error.message, /could not start "anything": worker module .*broken-syntax\.mjs failed to load: /);
    return true;
  });
  assert.equal(p.isAlive, false);
  assert.equal(isAlive(p.pid as number), false);
});

test('a child that dies while importing its module rejects start() with the exit code', { timeout: 20_000 }, async (t) => {
  const p = create(t, { module: fixture('exits-on-import.mjs'), fn: 'anything' });
  await assert.rejects(p.start(), (error: unknown) => {
    assert.ok(error instanceof ProcsafeError);
    assert.match(error.message, new RegExp(`^${p.name} \\(pid ${p.pid}\\) exited with code 9 before it could run "anything"`));
    return true;
  });
  assert.deepEqual(await p.join(), { exitCode: 9, signal: null });
});

test('an unserializable argument throws SerializationError from the constructor, naming its path', { timeout: 10_000 }, () => {
  assert.throws(() => new Process({ module: procTasks, fn: 'noop', args: [1, { conn: () => {} }] }), (error: unknown) => {
    assert.ok(error instanceof SerializationError);
    assert.equal(error.path, 'args[1].conn');
    assert.match(error.message, /Cannot copy the arguments of "noop": args\[1\]\.conn is a function/);
    return true;
  });
  class Point { #x = 1; get x() { return this.#x; } }
  assert.throws(() => new Process({ module: procTasks, fn: 'noop', args: [new Point()] }), SerializationError);
});

test('invalid options throw TypeError naming the option', { timeout: 10_000 }, () => {
  assert.throws(() => new Process({ module: './tasks.mjs', fn: 'noop' }), /Expected `module` to be a URL or an absolute path/);
  assert.throws(() => new Process({ module: procTasks, fn: '' }), /Expected `fn` to be a non-empty string/);
  assert.throws(() => new Process({ module: procTasks, fn: 'noop', stdout: 'loud' as 'pipe' }), /Expected `stdout` to be one of/);
  assert.throws(() => new Process({ module: procTasks, fn: 'noop', deamon: true } as ProcessOptions), /Unknown option `deamon`/);
});

test('join() before start() rejects; start() twice rejects', { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'noop' });
  await assert.rejects(p.join(), (error: Error) => error instanceof ProcsafeError && error.code === 'EPROCESSSTATE' &&
    new RegExp(`${p.name} has not been started; call start\\(\\) before join\\(\\)`).test(error.message));
  await p.start();
  await assert.rejects(p.start(), { code: 'EPROCESSSTATE', message: /already started; a Process starts only once/ });
  assert.deepEqual(await p.join(), { exitCode: 0, signal: null });
  await assert.rejects(p.start(), /already started/);
});

test("'pipe' gives p.stdout and p.stderr with the raw output", { timeout: 20_000 }, async (t) => {
  const p = create(t, { fn: 'writeBoth', args: ['out line\npartial', 'err line\n'], stdout: 'pipe', stderr: 'pipe' });
  assert.equal(p.stdout, null);
  await p.start();
  assert.ok(p.stdout && p.stderr);
  const [out, err, result] = await Promise.all([text(p.stdout), text(p.stderr), p.join()]);
  assert.equal(out, 'out line\npartial');
  assert.equal(err, 'err line\n');
  assert.deepEqual(result, { exitCode: 0, signal: null });

  const ignored = create(t, { fn: 'noop', stdout: 'ignore' });
  await ignored.start();
  assert.equal(ignored.stdout, null);
  await ignored.join();
});
