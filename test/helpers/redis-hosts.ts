/** `procsafe worker` hosts for the Redis Pool tests: real processes, killed in the test's cleanup. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { reap } from './children.js';
import { fixture, repoRoot } from './index.js';

export interface Host {
  readonly process: ChildProcess;
  readonly pid: number;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/** Starts `procsafe worker` for pool `name`; resolves once it serves. */
export async function startHost(
  t: { after: (fn: () => void) => void }, url: string, name: string, leaseMs: number, jobs = 1,
  module = 'redis-pool-tasks.mjs', netns?: string,
): Promise<Host> {
  const main = new URL('dist/cli/main.js', repoRoot).pathname;
  const argv = [process.execPath, main, 'worker', '--redis', url, '--name', name, '-j', String(jobs),
    '--lease-ms', String(leaseMs), fixture(module).pathname];
  // In a network namespace of its own: `ip netns exec` execs node, so the pid is the host's.
  const [command, ...args] = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
  const proc = spawn(command as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  reap(t, proc);
  let err = '';
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  await new Promise<void>((resolve, reject) => {
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      if (err.includes('serving pool')) resolve();
    });
    void exited.then((how) => reject(new Error(`procsafe worker exited (${how}) before serving: ${err}`)));
  });
  return { process: proc, pid: proc.pid as number, stderr: () => err, exited };
}

/** The runs a task marked in `path` (redis-pool-tasks.mjs's mark): its worker's pid and its host's. */
export function runsIn(path: string): { pid: number; host: number }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { pid: number; host: number });
}

/** One Redis command through redis-cli, for what a test checks in Redis itself. */
export function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}

/**
 * A network namespace joined to this one by a veth pair (10.211.<n>.1 here, .2 inside), for a host whose link a test
 * cuts; removed in the cleanup. Undefined where namespaces cannot be made (not root, no `ip`): the caller skips.
 */
export function netnsLink(t: { after: (fn: () => void) => void }): { name: string; outside: string; cut(): void; restore(): void }
  | undefined {
  const n = 1 + Math.floor(Math.random() * 250);
  const name = `procsafe-${process.pid}-${n}`;
  const outer = `psv${n}a`;
  const inner = `psv${n}b`;
  const run = (...args: string[]): boolean => spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
  if (!run('netns', 'add', name)) return undefined;
  t.after(() => {
    run('link', 'del', outer);
    run('netns', 'del', name);
  });
  const ok = run('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner) &&
    run('link', 'set', inner, 'netns', name) &&
    run('addr', 'add', `10.211.${n}.1/24`, 'dev', outer) && run('link', 'set', outer, 'up') &&
    run('netns', 'exec', name, 'ip', 'addr', 'add', `10.211.${n}.2/24`, 'dev', inner) &&
    run('netns', 'exec', name, 'ip', 'link', 'set', inner, 'up') &&
    run('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  if (!ok) return undefined;
  return {
    name, outside: `10.211.${n}.1`,
    cut: () => { run('link', 'set', outer, 'down'); },
    restore: () => { run('link', 'set', outer, 'up'); },
  };
}
