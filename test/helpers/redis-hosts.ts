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
  module = 'redis-pool-tasks.mjs',
): Promise<Host> {
  const main = new URL('dist/cli/main.js', repoRoot).pathname;
  const proc = spawn(process.execPath, [main, 'worker', '--redis', url, '--name', name, '-j', String(jobs),
    '--lease-ms', String(leaseMs), fixture(module).pathname], { stdio: ['ignore', 'ignore', 'pipe'] });
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
