// The runtime directory under attack or out of room (root only: a second user, a tmpfs).
// A `<tmp>/procsafe-<uid>` planted by another user sends every owner of this user to
// the same fallback, where status finds them and cleans up after dead ones; a full
// runtime directory fails the creating call at once, with the real cause.
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fixture, repoRoot, tempDir } from '../helpers/index.js';
import { startLimitsOwner } from '../helpers/limits-owner.js';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root: creates an OS user and mounts a tmpfs';

/** The environment of a process whose runtime directory is under `tmp` (no XDG_RUNTIME_DIR). */
function envFor(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env['XDG_RUNTIME_DIR'];
  return env;
}

async function startOwner(
  t: TestContext, env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; pid: number; path: string; stderr: () => string }> {
  const owner = await startLimitsOwner(t, env);
  return { child: owner.child, pid: owner.pid, path: owner.handle.path, stderr: owner.stderr };
}

interface Status { owners: { pid: number; error: string | null }[]; cleaned: { pid: number }[] }

function status(env: NodeJS.ProcessEnv): Status {
  const result = spawnSync(process.execPath, ['dist/cli/main.js', 'status', '--json'], { cwd: repoRoot, env, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Status;
}

test('a runtime directory planted by another user: every owner takes the same fallback, status lists them and cleans up the dead',
  { skip, timeout: 60_000 }, async (t) => {
  const user = `procsafe-probe-${process.pid}`;
  const added = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { encoding: 'utf8' });
  if (added.status !== 0) { t.skip(`useradd failed: ${added.stderr.trim()}`); return; }
  t.after(() => { spawnSync('userdel', [user]); });
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const tmp = tempDir(t);
  const me = process.getuid?.() ?? 0;
  // The other user got there first, with a directory just like ours.
  const planted = join(tmp, `procsafe-${me}`);
  mkdirSync(planted, { mode: 0o700 });
  chownSync(planted, uid, uid);
  const env = envFor(tmp);

  const first = await startOwner(t, env);
  const second = await startOwner(t, env);
  const fallback = join(tmp, `procsafe-${me}-1`);
  for (const owner of [first, second]) {
    assert.ok(owner.path.startsWith(`${fallback}/`), `${owner.path} is in the deterministic fallback ${fallback}`);
    const socket = statSync(owner.path);
    assert.equal(socket.mode & 0o177, 0, `the socket is 0600 or tighter: ${(socket.mode & 0o777).toString(8)}`);
  }
  const dir = statSync(fallback);
  assert.equal(dir.mode & 0o777, 0o700);
  assert.equal(dir.uid, me);
  assert.match(first.stderr(), /PROCSAFE_RUNTIME_DIR/, 'the owner warned once about the planted directory');
  assert.equal(first.stderr().split('PROCSAFE_RUNTIME_DIR').length - 1, 1, 'once');
  assert.deepEqual(readdirSync(planted), [], 'nothing was put in the planted directory');

  const live = status(env);
  assert.deepEqual(live.owners.map((o) => o.pid).sort(), [first.pid, second.pid].sort());
  assert.deepEqual(live.owners.map((o) => o.error), [null, null], 'status reached both brokers');
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await exited;
  const after = status(env);
  assert.deepEqual([after.owners.map((o) => o.pid), after.cleaned.map((o) => o.pid)], [[second.pid], [first.pid]],
    'the dead owner is cleaned up');
  assert.ok(!existsSync(first.path), 'its socket is gone');
  assert.deepEqual(readdirSync(join(fallback, 'owners')), [`${second.pid}.json`]);
});

test('a full runtime directory fails new Queue() at once with ENOSPC and what to do, not BrokerLost after 10 s',
  { skip, timeout: 60_000 }, (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'procsafe-test-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,nr_inodes=64,mode=1777', 'tmpfs', tmp], { encoding: 'utf8' });
  t.after(() => {
    if (mounted.status === 0) spawnSync('umount', ['-l', tmp]);
    rmSync(tmp, { recursive: true, force: true });
  });
  if (mounted.status !== 0) { t.skip(`mount failed: ${mounted.stderr.trim()}`); return; }
  const me = process.getuid?.() ?? 0;
  const runtime = join(tmp, `procsafe-${me}`);
  // An earlier owner made the runtime directory; then the file system filled up. Then, with none made yet.
  for (const made of [true, false]) {
    if (made) mkdirSync(join(runtime, 'owners'), { recursive: true, mode: 0o700 });
    else rmSync(runtime, { recursive: true });
    for (let i = 0; ; i++) {
      try { writeFileSync(join(tmp, `fill-${made}-${i}`), ''); } catch { break; }
    }
    const run = spawnSync(process.execPath, [fixture('limits-owner.mjs').pathname, 'create'], {
      cwd: repoRoot, env: envFor(tmp), encoding: 'utf8', timeout: 30_000,
    });
    const outcome = JSON.parse(run.stdout) as {
      ok?: true; ms: number; error?: { name: string; code: string; message: string; causeCode: string | null };
    };
    assert.ok(outcome.error !== undefined, `new Queue() failed: ${run.stdout}`);
    assert.ok(outcome.ms < 2_000, `at once: ${outcome.ms} ms`);
    assert.equal(outcome.error.name, 'ProcsafeError');
    assert.equal(outcome.error.causeCode, 'ENOSPC', outcome.error.message);
    assert.match(outcome.error.message, /ENOSPC/);
    assert.match(outcome.error.message, /XDG_RUNTIME_DIR|TMPDIR/, 'says what to do');
  }
});
