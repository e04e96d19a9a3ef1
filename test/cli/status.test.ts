import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir, waitForExit } from '../helpers/index.js';

// Compiled to dist-test/cli/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = 'dist/cli/main.js';
const owner = 'test/fixtures/status-owner.mjs';

interface Status {
  owners: {
    pid: number; alive: boolean; kinds: string[]; poolsAgeMs: number;
    pools: { workers: { pid: number | null; task: { fn: string } | null; runningMs: number | null }[]; stats: { busy: number } }[];
    objects: { kind: string; gets: { pid: number | null }[] }[] | null;
  }[];
}

/** Kills `child` when the test ends, whatever happened. */
function reap(t: TestContext, child: ChildProcess): void {
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
}

/** Runs the built binary with the test's own runtime directory. */
function run(t: TestContext, env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  reap(t, child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function status(t: TestContext, env: NodeJS.ProcessEnv): Promise<Status> {
  const { code, stdout, stderr } = await run(t, env, ['status', '--json']);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Status;
}

/** Starts the owner fixture and resolves with its first stdout line (JSON) once it is in place. */
function startOwner(t: TestContext, env: NodeJS.ProcessEnv, dir: string, mode?: string): Promise<{ child: ChildProcess; ready: Record<string, number> }> {
  const child = spawn(process.execPath, [owner, dir, ...(mode === undefined ? [] : [mode])], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  reap(t, child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => { if (!out.includes('\n')) reject(new Error(`the owner exited (${code}) before it was ready`)); });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const at = out.indexOf('\n');
      if (at !== -1) resolve({ child, ready: JSON.parse(out.slice(0, at)) as Record<string, number> });
    });
  });
}

function setup(t: TestContext): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir(t);
  // A private runtime directory: status sees this test's owners only.
  return { dir, env: { ...process.env, XDG_RUNTIME_DIR: dir } };
}

test('status sees a live pool (worker pid, its task) and a queue with a reader blocked in get (by pid); after SIGKILL, dead once, then forgotten', { timeout: 60_000 }, async (t) => {
  const { dir, env } = setup(t);
  const { child, ready } = await startOwner(t, env, dir);
  const workerPid = ready['workerPid'] as number;
  const readerPid = ready['readerPid'] as number;
  t.after(() => {
    for (const pid of [workerPid, readerPid]) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  });
  // The reader announced itself just before get(), and the pool's snapshot is refreshed on a
  // throttled timer: poll until the get is parked at the owner and the worker's task is published.
  let seen: Status['owners'][number] | undefined;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    seen = (await status(t, env)).owners.find((o) => o.pid === child.pid);
    const parked = seen?.objects?.some((o) => o.gets.some((g) => g.pid === readerPid)) === true;
    const running = seen?.pools[0]?.workers.some((w) => w.pid === workerPid && w.task !== null) === true;
    if (parked && running) break;
  }
  assert.ok(seen !== undefined, 'the owner is listed');
  assert.equal(seen.alive, true);
  assert.deepEqual([...seen.kinds].sort(), ['pool', 'queue']);
  const worker = seen.pools[0]?.workers.find((w) => w.pid === workerPid);
  assert.ok(worker !== undefined, `worker ${workerPid} is listed: ${JSON.stringify(seen.pools)}`);
  assert.equal(worker.task?.fn, 'reportThenHang');
  assert.ok((worker.runningMs ?? -1) >= 0);
  assert.ok(seen.poolsAgeMs < 5_000, 'the pool snapshot is recent');
  const queue = seen.objects?.find((o) => o.gets.length > 0);
  assert.deepEqual(queue?.gets.map((g) => g.pid), [readerPid], 'the blocked get is named by the reader pid');

  // The human form shows the same.
  const text = await run(t, env, ['status']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`${workerPid} +ready +\\d+ +reportThenHang`));
  assert.match(text.stdout, new RegExp(`waiting gets: pid ${readerPid}`));

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const first = (await status(t, env)).owners.filter((o) => o.pid === child.pid);
  assert.deepEqual(first.map((o) => o.alive), [false], 'shown dead once');
  const dead = await run(t, env, ['status']);
  assert.doesNotMatch(dead.stdout, new RegExp(`pid ${child.pid}`), 'then forgotten');
  assert.match(dead.stdout, /no procsafe owners running/);
  assert.deepEqual(readdirSync(join(dir, 'procsafe', 'owners')), [], 'its registry file is gone');
  assert.ok(!readdirSync(join(dir, 'procsafe')).some((f) => f.endsWith('.sock')), 'its stale socket is gone');
  assert.ok(await waitForExit(workerPid), 'the pool worker followed its owner');
});

test('an owner that exits normally removes its entry', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  const { child } = await startOwner(t, env, dir, 'exit');
  if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(child.exitCode, 0);
  const owners = join(dir, 'procsafe', 'owners');
  assert.deepEqual(existsSync(owners) ? readdirSync(owners) : [], []);
  assert.deepEqual((await status(t, env)).owners, []);
});

test('status with nothing running, and a bad flag', { timeout: 30_000 }, async (t) => {
  const { env } = setup(t);
  assert.deepEqual((await status(t, env)).owners, []);
  const bad = await run(t, env, ['status', '--nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /status \[--json\]/);
});

test('a registry entry whose pid now belongs to another process is shown dead once, then forgotten', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  const owners = join(dir, 'procsafe', 'owners');
  mkdirSync(owners, { recursive: true, mode: 0o700 });
  // This test process is alive: one entry has its real start time, the other one a start time it never had.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const procStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
  const record = (pid: number, start: string) => JSON.stringify({
    version: 1, pid, threadId: null, argv: ['owner.mjs'], startedAt: Date.now(), procStart: start,
    kinds: ['pool'], broker: null, pools: [], poolsAt: Date.now(),
  });
  writeFileSync(join(owners, `${process.pid}.json`), record(process.pid, procStart), { mode: 0o600 });
  writeFileSync(join(owners, `${process.pid}-t99.json`), record(process.pid, String(Number(procStart) - 1)), { mode: 0o600 });
  const first = (await status(t, env)).owners.map((o) => o.alive).sort();
  assert.deepEqual(first, [false, true], 'the entry with the wrong start time is dead, the true one alive');
  assert.deepEqual(readdirSync(owners), [`${process.pid}.json`], 'the reused-pid entry is removed');
  assert.deepEqual((await status(t, env)).owners.map((o) => o.alive), [true]);
});

test('killed owners\' files cannot pile up where status never runs: each new owner keeps the newest 32, with their sockets', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  const owners = join(dir, 'procsafe', 'owners');
  mkdirSync(owners, { recursive: true, mode: 0o700 });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  // 40 owners that were SIGKILLed (as far as the registry knows): files and sockets left behind.
  for (let i = 0; i < 40; i++) {
    const socket = join(dir, 'procsafe', `${i}.sock`);
    writeFileSync(socket, '');
    writeFileSync(join(owners, `${1_000_000 + i}.json`), JSON.stringify({
      version: 1, pid: dead, threadId: null, argv: [], startedAt: i, procStart: null, kinds: ['queue'],
      broker: { path: socket, secret: 'x' }, pools: [], poolsAt: i,
    }));
  }
  // A new owner: it registers, and exits normally (its own file goes with it).
  const owner = spawnSync(process.execPath, ['--input-type=module', '-e', "import { Lock } from 'procsafe'; new Lock();"], { env, encoding: 'utf8' });
  assert.equal(owner.status, 0, owner.stderr);
  const left = readdirSync(owners).sort();
  assert.deepEqual(left, Array.from({ length: 32 }, (_, i) => `${1_000_008 + i}.json`).sort(), 'the newest 32 dead owners stay, for status to report');
  for (let i = 0; i < 40; i++) assert.equal(existsSync(join(dir, 'procsafe', `${i}.sock`)), i >= 8, `socket ${i}`);
});
