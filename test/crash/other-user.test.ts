// Another OS user on the same machine reaches nothing an owner made: not its
// runtime directory, its socket, the files its large items wait in, its registry
// entry, nor its secrets through /proc; `procsafe status` run by that user lists
// none of its owners; and a directory that user plants where the runtime
// directory goes is never used. Runs as root, which creates the other user.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync, chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync,
  statSync, symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test, type TestContext } from 'node:test';
import { sharedDirFor } from '../../dist/transport/shared-dir.js';
import { childPids, fixture, ownerItems, repoRoot, waitForExit, waitUntil } from '../helpers/index.js';
import { firstJsonLine } from '../helpers/children.js';
import { createOtherUser, type OtherUser, otherUserSkipReason, removeOtherUser, runAs } from '../helpers/other-user.js';

const root = fileURLToPath(repoRoot);
const skip = otherUserSkipReason();

interface Handle { path: string; pid: number; object: string; secret: string }
interface Owner { child: ChildProcess; handle: Handle; workerPid: number; readerPid: number }
type Probe = Record<string, { code: string; leaked?: number }> & { uid: number; gid: number; groups: number[] };

/** A temporary directory like /tmp (world-writable, sticky): both users can traverse it and make their own entries. */
function sharedTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'procsafe-other-user-'));
  chmodSync(dir, 0o1777);
  return dir;
}

/** The owner's environment: TMPDIR set, no XDG_RUNTIME_DIR, so its runtime directory is <tmp>/procsafe-0. */
function ownerEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env['XDG_RUNTIME_DIR'];
  return env;
}

/** Starts test/fixtures/probe-owner.mjs as root; resolves once its queue holds the large item. */
function startOwner(tmp: string): Promise<Owner> {
  const child = spawn(process.execPath, [fileURLToPath(fixture('probe-owner.mjs'))], {
    cwd: root, env: ownerEnv(tmp), stdio: ['pipe', 'pipe', 'inherit'],
  });
  return firstJsonLine<Omit<Owner, 'child'>>(child).then((ready) => ({ child, ...ready }));
}

/** Ends the owner normally (its exit handlers remove its files), SIGKILL if it lingers; its children must be gone too. */
async function stopOwner(owner: Owner): Promise<void> {
  const pid = owner.child.pid as number;
  owner.child.stdin?.end();
  if (!(await waitForExit(pid, 10_000))) owner.child.kill('SIGKILL');
  for (const child of [pid, owner.workerPid, owner.readerPid]) assert.ok(await waitForExit(child, 10_000), `pid ${child} is gone`);
  await waitUntil(() => !existsSync(sharedDirFor(owner.handle.path)), 'the owner\'s spill directory to be removed');
}

/** Every descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const found = childPids(pid);
  return [...found, ...found.flatMap(descendants)];
}

const mode = (path: string): number => lstatSync(path).mode & 0o7777;

describe('another OS user', { skip }, () => {
  let user: OtherUser | undefined;
  let tmp = '';
  let owner: Owner | undefined;
  let probeScript = '';

  before(async () => {
    user = createOtherUser();
    tmp = sharedTmp();
    // A copy the other user can read wherever the repository lives.
    probeScript = join(tmp, 'other-user-probe.mjs');
    copyFileSync(fileURLToPath(fixture('other-user-probe.mjs')), probeScript);
    chmodSync(probeScript, 0o644);
    owner = await startOwner(tmp);
  }, { timeout: 30_000 });

  after(async () => {
    // Each step on its own, so that one failing leaves none of the others undone.
    try {
      if (owner !== undefined) await stopOwner(owner);
    } finally {
      if (owner !== undefined && owner.child.exitCode === null && owner.child.signalCode === null) owner.child.kill('SIGKILL');
      try {
        if (user !== undefined) removeOtherUser(user);
      } finally {
        if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
        if (user !== undefined) rmSync(`/dev/shm/procsafe-${user.uid}`, { recursive: true, force: true });
      }
    }
  }, { timeout: 30_000 });

  /** Runs the probe as the other user on `ops`; checks it really ran as that user, without root's groups. */
  async function probe(ops: { name: string; op: string; path: string; needles?: string[] }[]): Promise<Probe> {
    const u = user as OtherUser;
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TMPDIR: tmp, HOME: '/' };
    const run = await runAs(u, [probeScript, JSON.stringify(ops)], env, tmp);
    assert.equal(run.code, 0, `the probe failed: ${run.stderr}`);
    const result = JSON.parse(run.stdout) as Probe;
    assert.equal(result.uid, u.uid);
    assert.equal(result.gid, u.gid);
    assert.ok(!result.groups.includes(0), `the probe holds no root group (groups ${result.groups.join(' ')})`);
    return result;
  }

  test('cannot list or enter the runtime directory, connect to the socket, open a large item\'s file or read the registry',
    { timeout: 30_000 }, async () => {
    const { handle } = owner as Owner;
    const runtime = dirname(handle.path);
    assert.equal(runtime, join(tmp, 'procsafe-0'), 'the owner uses <tmp>/procsafe-<uid>');
    const spillDir = sharedDirFor(handle.path);
    const files = ownerItems(spillDir);
    assert.equal(files.length, 1, 'the 200 KiB item waits in one file');
    const spillFile = join(spillDir, files[0] as string);
    const ownersFile = join(runtime, 'owners', `${(owner as Owner).child.pid}.json`);
    // What the kernel enforces, seen from the owner's side.
    for (const dir of [runtime, join(runtime, 'owners'), dirname(spillDir), spillDir]) {
      assert.equal(statSync(dir).uid, 0, `${dir} is root's`);
      assert.equal(mode(dir), 0o700, `${dir} is 0700`);
    }
    for (const file of [spillFile, ownersFile]) {
      assert.equal(mode(file) & 0o077, 0, `${file} is closed to group and others (${mode(file).toString(8)})`);
    }

    const got = await probe([
      { name: 'statRuntime', op: 'stat', path: runtime },
      { name: 'listRuntime', op: 'readdir', path: runtime },
      { name: 'enterRuntime', op: 'chdir', path: runtime },
      { name: 'statSocket', op: 'stat', path: handle.path },
      { name: 'connect', op: 'connect', path: handle.path },
      { name: 'listSpillRoot', op: 'readdir', path: dirname(spillDir) },
      { name: 'listSpill', op: 'readdir', path: spillDir },
      { name: 'openSpill', op: 'open', path: spillFile },
      { name: 'listOwners', op: 'readdir', path: join(runtime, 'owners') },
      { name: 'openOwner', op: 'open', path: ownersFile },
    ]);
    // The directory itself is in plain sight: only procsafe's own protection stands in the way.
    assert.equal(got['statRuntime']?.code, 'OK');
    for (const name of [
      'listRuntime', 'enterRuntime', 'statSocket', 'connect', 'listSpillRoot', 'listSpill', 'openSpill', 'listOwners', 'openOwner',
    ]) {
      assert.equal(got[name]?.code, 'EACCES', `${name}: ${JSON.stringify(got[name])}`);
    }
  });

  test('finds no secret in the command lines of the owner and its children, and cannot read their environments',
    { timeout: 30_000 }, async () => {
    const { child, handle, workerPid, readerPid } = owner as Owner;
    const ownerPid = child.pid as number;
    const record = JSON.parse(readFileSync(join(dirname(handle.path), 'owners', `${ownerPid}.json`), 'utf8')) as {
      broker: { secret: string } | null;
    };
    const needles = [handle.secret, ...(record.broker === null ? [] : [record.broker.secret])];
    assert.equal(needles.length, 2, 'the object\'s secret and the status secret');
    const pids = [ownerPid, ...descendants(ownerPid)];
    assert.ok(pids.includes(workerPid) && pids.includes(readerPid), `the worker and the reader are among ${pids.join(' ')}`);
    // As root, the secret really is absent (the other user might just be unable to read).
    for (const pid of pids) {
      assert.ok(!needles.some((n) => readFileSync(`/proc/${pid}/cmdline`).includes(n)), `no secret in ${pid}'s cmdline`);
    }
    const got = await probe(pids.flatMap((pid) => [
      { name: `cmdline ${pid}`, op: 'scan', path: `/proc/${pid}/cmdline`, needles },
      { name: `environ ${pid}`, op: 'scan', path: `/proc/${pid}/environ`, needles },
    ]));
    for (const pid of pids) {
      const cmdline = got[`cmdline ${pid}`];
      // /proc mounted with hidepid hides the process altogether; otherwise its cmdline is public and clean.
      assert.ok(cmdline?.code === 'OK' ? cmdline.leaked === 0 : cmdline?.code === 'ENOENT',
        `cmdline of ${pid}: ${JSON.stringify(cmdline)}`);
      assert.equal(got[`environ ${pid}`]?.code, 'EACCES', `environ of ${pid}`);
    }
  });

  test('procsafe status run by the other user lists none of root\'s owners, even pointed at root\'s directory through a symlink',
    { timeout: 60_000 }, async (t: TestContext) => {
    const u = user as OtherUser;
    const { child, handle } = owner as Owner;
    const ownerPid = child.pid as number;
    const readable = await probe([{ name: 'cli', op: 'open', path: join(root, 'dist/cli/main.js') }]);
    if (readable['cli']?.code !== 'OK') {
      t.skip(`the repository is not readable by another user (${readable['cli']?.code}): procsafe status cannot run as it`);
      return;
    }
    const status = async (env: NodeJS.ProcessEnv, as?: OtherUser): Promise<{ owners: { pid: number }[]; text: string }> => {
      const args = [join(root, 'dist/cli/main.js'), 'status', '--json'];
      const run = as === undefined
        ? await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
          const c = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          c.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
          c.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
          c.on('error', reject);
          c.on('close', (code) => resolve({ code, stdout, stderr }));
        })
        : await runAs(as, args, env, tmp);
      assert.equal(run.code, 0, run.stderr);
      return { owners: (JSON.parse(run.stdout) as { owners: { pid: number }[] }).owners, text: run.stdout };
    };
    // Root's own status sees the owner: the other user's empty answer is not an empty registry.
    assert.ok((await status(ownerEnv(tmp))).owners.some((o) => o.pid === ownerPid), 'root\'s status lists the owner');

    const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/', TMPDIR: tmp };
    const plain = await status(base, u);
    assert.deepEqual(plain.owners.map((o) => o.pid), [], 'the other user\'s own registry is empty');
    // A directory of the other user's whose procsafe entry is a symlink to root's runtime directory.
    const xdg = join(tmp, `xdg-${u.uid}`);
    mkdirSync(xdg, { mode: 0o700 });
    chownSync(xdg, u.uid, u.gid);
    symlinkSync(dirname(handle.path), join(xdg, 'procsafe'));
    lchownSync(join(xdg, 'procsafe'), u.uid, u.gid);
    const linked = await status({ ...base, XDG_RUNTIME_DIR: xdg }, u);
    assert.deepEqual(linked.owners.map((o) => o.pid), [], 'the symlink is not followed');
    for (const { text } of [plain, linked]) {
      for (const needle of [handle.secret, handle.path, String(ownerPid)]) {
        assert.ok(!text.includes(needle), `status output holds no ${needle}`);
      }
    }
  });

  for (const planted of ['a directory', 'a symlink to a directory'] as const) {
    test(`${planted} the other user planted where the runtime directory goes is never used: the owner makes a private one beside it`,
      { timeout: 60_000 }, async (t) => {
      const u = user as OtherUser;
      const tmp2 = sharedTmp();
      t.after(() => rmSync(tmp2, { recursive: true, force: true }));
      const trap = join(tmp2, 'procsafe-0');
      // What the other user would see the owner's sockets and registry land in.
      const target = planted === 'a directory' ? trap : join(tmp2, `trap-${u.uid}`);
      mkdirSync(target, { mode: 0o777 });
      chmodSync(target, 0o777);
      chownSync(target, u.uid, u.gid);
      if (target !== trap) {
        symlinkSync(target, trap);
        lchownSync(trap, u.uid, u.gid);
      }
      const second = await startOwner(tmp2);
      t.after(() => stopOwner(second));
      const runtime = dirname(second.handle.path);
      assert.notEqual(runtime, trap);
      assert.match(basename(runtime), /^procsafe-0-/, 'a fresh private directory beside the trap');
      assert.equal(dirname(runtime), tmp2);
      assert.equal(statSync(runtime).uid, 0);
      assert.equal(mode(runtime), 0o700);
      assert.deepEqual(readdirSync(target), [], 'nothing of the owner went into the planted directory');
      const got = await probe([
        { name: 'connect', op: 'connect', path: second.handle.path }, { name: 'listRuntime', op: 'readdir', path: runtime },
      ]);
      assert.equal(got['connect']?.code, 'EACCES');
      assert.equal(got['listRuntime']?.code, 'EACCES');
    });
  }
});
