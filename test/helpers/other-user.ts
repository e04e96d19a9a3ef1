/**
 * A second OS user for tests that check what one user can reach of another's
 * (test/crash/other-user.test.ts): created with useradd, removed with userdel,
 * and commands run as it through child_process's uid/gid.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface OtherUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Why these tests cannot run here, or false when they can. */
export function otherUserSkipReason(): string | false {
  if (process.platform !== 'linux') return 'needs Linux (/proc, /dev/shm, useradd)';
  if (process.getuid?.() !== 0) return 'needs root, to create a second OS user';
  const found = spawnSync('/bin/sh', ['-c', 'command -v useradd && command -v userdel'], { stdio: 'ignore' });
  return found.status === 0 ? false : 'useradd or userdel is not installed';
}

/** A fresh system user with no home and no login shell; throws with useradd's message if it cannot be made. */
export function createOtherUser(): OtherUser {
  const name = `procsafe-probe-${randomBytes(4).toString('hex')}`;
  const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`useradd ${name} failed (${made.status}): ${made.stderr.trim()}`);
  const id = (flag: string): number => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

const running = new Set<ChildProcess>();

/** Kills what still runs as the user (only what runAs started), then removes the user; throws if userdel fails. */
export function removeOtherUser(user: OtherUser): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  const removed = spawnSync('userdel', [user.name], { encoding: 'utf8' });
  if (removed.status !== 0) throw new Error(`userdel ${user.name} failed (${removed.status}): ${removed.stderr.trim()}`);
}

/**
 * Runs node with `args` as `user` (no supplementary groups: libuv drops them when
 * it changes uid), with only `env`. SIGKILLed after `timeoutMs`.
 */
export function runAs(
  user: OtherUser, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 20_000,
): Promise<RunResult> {
  const child = spawn(process.execPath, args, { uid: user.uid, gid: user.gid, env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', (error) => { clearTimeout(timer); running.delete(child); reject(error); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
