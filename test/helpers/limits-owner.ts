/** test/fixtures/limits-owner.mjs in `serve` mode: an owner with a queue, optionally under `ulimit -n`, and its stderr. */
import { type ChildProcess, spawn } from 'node:child_process';
import { firstJsonLine, reap } from './children.js';
import { fixture, repoRoot } from './index.js';

export interface HandleShape { path: string; object: string; secret: string }
export interface LimitsOwner { child: ChildProcess; pid: number; handle: HandleShape; stderr: () => string }

export async function startLimitsOwner(
  t: { after: (fn: () => void) => void }, env: NodeJS.ProcessEnv, fdLimit?: number,
): Promise<LimitsOwner> {
  const script = fixture('limits-owner.mjs').pathname;
  const child = fdLimit === undefined
    ? spawn(process.execPath, [script, 'serve'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit}; exec "${process.execPath}" "${script}" serve`], {
      cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
  reap(t, child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  const { pid, handle } = await firstJsonLine<{ pid: number; handle: HandleShape }>(child, () => err);
  return { child, pid, handle, stderr: () => err };
}
