import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstJsonLine, type Ran, reap, runNode } from '../helpers/children.js';
import { tempDir, waitForExit } from '../helpers/index.js';

// Compiled to dist-test/cli/: the repository root is two levels up.
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = 'dist/cli/main.js';
const owner = 'test/fixtures/status-owner.mjs';

interface Status {
  cleaned: { pid: number; threadId: number | null; kinds: string[] }[];
  owners: {
    pid: number; threadId: number | null; name: string | null; kinds: string[]; poolsAgeMs: number;
    pools: { workers: { pid: number | null; task: { fn: string } | null; runningMs: number | null }[]; stats: { busy: number } }[];
    objects: { kind: string; gets?: { pid: number | null }[] }[] | null;
  }[];
}

/** Runs the built binary with the test's own runtime directory. */
function run(t: TestContext, env: NodeJS.ProcessEnv, args: string[]): Promise<Ran> {
  return runNode(t, [bin, ...args], { cwd: root, env });
}

async function status(t: TestContext, env: NodeJS.ProcessEnv): Promise<Status> {
  const { code, stdout, stderr } = await run(t, env, ['status', '--json']);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Status;
}

/** Starts the owner fixture and resolves with its first stdout line (JSON) once it is in place. */
function startOwner(
  t: TestContext, env: NodeJS.ProcessEnv, dir: string, mode?: string,
): Promise<{ child: ChildProcess; ready: Record<string, number> }> {
  const child = spawn(process.execPath, [owner, dir, ...(mode === undefined ? [] : [mode])], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'],
  });
  reap(t, child);
  return firstJsonLine<Record<string, number>>(child).then((ready) => ({ child, ready }));
}

function setup(t: TestContext): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir(t);
  // A private runtime directory: status sees this test's owners only.
  return { dir, env: { ...process.env, XDG_RUNTIME_DIR: dir } };
}

test('status sees a live pool (worker pid, its task) and a queue with a reader blocked in get (by pid); after SIGKILL, ' +
  'its entry and socket are cleaned up in one line', { timeout: 60_000 }, async (t) => {
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
    const parked = seen?.objects?.some((o) => o.gets?.some((g) => g.pid === readerPid)) === true;
    const running = seen?.pools[0]?.workers.some((w) => w.pid === workerPid && w.task !== null) === true;
    if (parked && running) break;
  }
  assert.ok(seen !== undefined, 'the owner is listed');
  assert.deepEqual([...seen.kinds].sort(), ['pool', 'queue']);
  const worker = seen.pools[0]?.workers.find((w) => w.pid === workerPid);
  assert.ok(worker !== undefined, `worker ${workerPid} is listed: ${JSON.stringify(seen.pools)}`);
  assert.equal(worker.task?.fn, 'reportThenHang');
  assert.ok((worker.runningMs ?? -1) >= 0);
  assert.ok(seen.poolsAgeMs < 5_000, 'the pool snapshot is recent');
  const queue = seen.objects?.find((o) => (o.gets?.length ?? 0) > 0);
  assert.deepEqual(queue?.gets?.map((g) => g.pid), [readerPid], 'the blocked get is named by the reader pid');

  // The human form shows the same.
  const text = await run(t, env, ['status']);
  assert.equal(text.code, 0);
  assert.match(text.stdout, new RegExp(`${workerPid} +ready +\\d+ +reportThenHang`));
  assert.match(text.stdout, new RegExp(`waiting gets: pid ${readerPid}`));
  // Its clients (its own main thread and the reader) and how they reach it: lanes where the addon loads.
  const path = process.env['PROCSAFE_NATIVE'] === '0' ? 'the socket' : 'shared memory';
  assert.match(text.stdout, new RegExp(`clients: 2 through ${path}`));

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const dead = await run(t, env, ['status']);
  assert.equal(dead.code, 0, dead.stderr);
  assert.equal(dead.stdout, `no procsafe owners running\ncleaned up after 1 owner that ended without cleaning up (pid ${child.pid})\n`);
  const after = await status(t, env);
  assert.deepEqual([after.owners, after.cleaned], [[], []], 'cleaned once, then nothing is left');
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
  assert.equal(bad.stderr, "procsafe status: unknown option '--nope'\nSee procsafe status --help.\n");
  const help = await run(t, env, ['status', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: procsafe status \[--json\]/);
});

/** The kernel's start time of this test process: what the registry records to tell it from a later process with its pid. */
function ownStart(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

/** Writes a registry entry into the test's runtime directory, as an owner would. */
function writeRecord(dir: string, file: string, fields: Record<string, unknown>): void {
  const owners = join(dir, 'procsafe', 'owners');
  mkdirSync(owners, { recursive: true, mode: 0o700 });
  writeFileSync(join(owners, file), JSON.stringify({
    version: 1, pid: process.pid, threadId: null, argv: ['owner.mjs'], startedAt: Date.now(), procStart: ownStart(),
    kinds: ['pool'], broker: null, pools: [], poolsAt: Date.now(), ...fields,
  }), { mode: 0o600 });
}

test('an entry whose pid now belongs to another process is cleaned up, not shown as an owner', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  // This test process is alive: one entry has its real start time, the other one a start time it never had.
  writeRecord(dir, `${process.pid}.json`, {});
  writeRecord(dir, `${process.pid}-t99.json`, { threadId: 99, procStart: String(Number(ownStart()) - 1) });
  const first = await status(t, env);
  assert.deepEqual(first.owners.map((o) => o.threadId), [null], 'the entry with the right start time is an owner');
  assert.deepEqual(first.cleaned.map((o) => o.threadId), [99], 'the reused-pid entry is cleaned up');
  assert.deepEqual(readdirSync(join(dir, 'procsafe', 'owners')), [`${process.pid}.json`], 'the reused-pid entry is removed');
  assert.deepEqual((await status(t, env)).cleaned, []);
});

test('owners are listed by pid and thread as numbers, not as text', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  // As text, "<pid>-t10.json" < "<pid>-t2.json" < "<pid>.json".
  for (const threadId of [10, 2, null]) {
    writeRecord(dir, threadId === null ? `${process.pid}.json` : `${process.pid}-t${threadId}.json`, { threadId });
  }
  assert.deepEqual((await status(t, env)).owners.map((o) => o.threadId), [null, 2, 10]);
  const text = await run(t, env, ['status']);
  const order = [...text.stdout.matchAll(/^pid \d+(?: \(thread (\d+)\))?/gm)].map((m) => m[1] ?? 'main');
  assert.deepEqual(order, ['main', '2', '10'], text.stdout);
});

test('twenty owners that died without cleaning up are cleaned up, entries and sockets, and reported in one line',
  { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  // Twenty pids that are gone: processes that ran and were reaped.
  const gone = Array.from({ length: 20 }, () => spawnSync(process.execPath, ['-e', '0']).pid);
  const sockets: string[] = [];
  for (const [i, pid] of gone.entries()) {
    const socket = join(dir, 'procsafe', `${pid}-${i.toString(16).padStart(12, '0')}.sock`);
    sockets.push(socket);
    writeRecord(dir, `${pid}.json`, { pid, procStart: null, kinds: ['queue'], broker: { path: socket, secret: 'x' } });
    writeFileSync(socket, '');
  }
  // A socket no entry names any more (its entry was pruned), of a pid that is gone: stale too.
  const orphan = join(dir, 'procsafe', `${gone[0]}-ffffffffffff.sock`);
  writeFileSync(orphan, '');
  // A live owner's socket with no entry yet (it is starting): kept.
  const starting = join(dir, 'procsafe', `${process.pid}-eeeeeeeeeeee.sock`);
  writeFileSync(starting, '');
  writeRecord(dir, `${process.pid}.json`, { kinds: ['lock'] });
  const text = await run(t, env, ['status']);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n').filter((line) => !line.startsWith(' ') && line !== '');
  assert.equal(lines.length, 2, text.stdout);
  assert.match(lines[0] as string, new RegExp(`^pid ${process.pid}  lock  `));
  const first = [...gone].sort((a, b) => a - b).slice(0, 5).join(', ');
  assert.equal(lines[1], `cleaned up after 20 owners that ended without cleaning up (pids ${first} and 15 more)`);
  assert.deepEqual(readdirSync(join(dir, 'procsafe', 'owners')), [`${process.pid}.json`]);
  for (const socket of [...sockets, orphan]) assert.equal(existsSync(socket), false, socket);
  assert.equal(existsSync(starting), true, 'a live process\'s socket stays');
  assert.deepEqual((await status(t, env)).cleaned, []);
});

test('a Lock is shown as a lock, a Semaphore as a semaphore', { timeout: 30_000 }, async (t) => {
  const { env } = setup(t);
  const script = "import { Lock, Semaphore } from 'procsafe'; const l = new Lock(); await l.acquire();" +
    " const s = new Semaphore(3); await s.acquire();" +
    " process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  reap(t, child);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the owner exited (${code})`)));
    child.stdout.once('data', () => resolve());
  });
  const [owner] = (await status(t, env)).owners;
  assert.deepEqual(owner?.objects?.map((o) => o.kind).sort(), ['lock', 'semaphore']);
  const text = await run(t, env, ['status']);
  assert.match(text.stdout, new RegExp(`^  lock #\\d+: held by pid ${child.pid}; waiters: none$`, 'm'), text.stdout);
  assert.match(text.stdout, new RegExp(`^  semaphore #\\d+: 2/3 free; holders: pid ${child.pid}; waiters: none$`, 'm'), text.stdout);
});

test('an owner entry that carries a Process name shows it', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  writeRecord(dir, `${process.pid}.json`, { name: 'resizer-2', kinds: ['queue'] });
  assert.equal((await status(t, env)).owners[0]?.name, 'resizer-2');
  const text = await run(t, env, ['status']);
  assert.match(text.stdout, new RegExp(`^pid ${process.pid} "resizer-2"  queue  `, 'm'), text.stdout);
});

test('a Process that owns a queue is shown by its name', { timeout: 30_000 }, async (t) => {
  const { dir, env } = setup(t);
  const script = "import { Process } from 'procsafe';" +
    " const p = new Process({ name: 'resizer-2', module: process.argv[1], fn: 'ownQueue' });" +
    " await p.start(); process.stdout.write(p.pid + '\\n'); setInterval(() => {}, 1000);";
  const module = join(dir, 'owner.mjs');
  const procsafe = pathToFileURL(join(root, 'dist', 'index.js')).href;
  writeFileSync(module, `import { Queue } from '${procsafe}'; ` +
    'export async function ownQueue() { globalThis.q = new Queue(); setInterval(() => {}, 1000); }\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, module], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'],
  });
  reap(t, child);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the parent exited (${code})`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString())));
  });
  t.after(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  let named: Status['owners'][number] | undefined;
  for (const deadline = Date.now() + 10_000; named === undefined && Date.now() < deadline; await sleep(50)) {
    named = (await status(t, env)).owners.find((o) => o.pid === pid && o.kinds.includes('queue'));
  }
  assert.equal(named?.name, 'resizer-2');
});

test('killed owners\' files cannot pile up where status never runs: each new owner keeps the newest 32, with their sockets',
  { timeout: 30_000 }, (t) => {
  const { dir, env } = setup(t);
  const owners = join(dir, 'procsafe', 'owners');
  mkdirSync(owners, { recursive: true, mode: 0o700 });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
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
  const owner = spawnSync(process.execPath, ['--input-type=module', '-e', "import { Lock } from 'procsafe'; new Lock();"], {
    env, encoding: 'utf8',
  });
  assert.equal(owner.status, 0, owner.stderr);
  const left = readdirSync(owners).sort();
  assert.deepEqual(left, Array.from({ length: 32 }, (_, i) => `${1_000_008 + i}.json`).sort(),
    'the newest 32 dead owners stay, for status to report');
  for (let i = 0; i < 40; i++) assert.equal(existsSync(join(dir, 'procsafe', `${i}.sock`)), i >= 8, `socket ${i}`);
});
