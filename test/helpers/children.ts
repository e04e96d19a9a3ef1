/** Child processes as tests start them: killed when the test ends, their output collected, their first line read. */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface After { after: (fn: () => void) => void }

/** SIGKILLs `child` when the test ends, unless it already exited. */
export function reap(t: After, child: ChildProcess): void {
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
}

export interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs `node ...args` to its end and collects what it printed. */
export function runNode(t: After, args: string[], options: { cwd: string | URL; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The first line `child` prints, parsed as JSON; rejects if it exits first (`why` says what else it said). */
export function firstJsonLine<T>(child: ChildProcess, why: () => string = () => ''): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`the child exited (${code}) before it was ready${why() ? `: ${why()}` : ''}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const at = out.indexOf('\n');
      if (at !== -1) resolve(JSON.parse(out.slice(0, at)) as T);
    });
  });
}

/** The pid of the watcher that removes `dir` when its owner dies (an `sh` naming it in its arguments: queue/spill.ts). */
export function watcherOf(dir: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(dir) && argv.some((arg) => arg.includes('read _'))) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
