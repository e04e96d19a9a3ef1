/**
 * The pool of `procsafe map`, and the check, in a child, that MODULE loads and
 * exports FN: done before a byte of input is read and before OUT is touched.
 */
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { kNoTypeScriptLoader } from '../../child/loader.js';
import { RemoteError } from '../../errors.js';
import { inheritedExecArgv } from '../../internal/worker-module.js';
import { Pool } from '../../pool/pool.js';
import { forEachLine } from '../../process/output.js';
import { UsageError } from '../command.js';
import type { MapArgs } from './args.js';
import { userFrames } from './user-frames.js';

/** The preload that keeps workers alive through Ctrl-C. */
const kWorkerPreload = new URL('./worker-preload.js', import.meta.url);

/** The workers' output goes, line by line, to `log` (stderr), never into the results. */
export function startPool(args: MapArgs, log: (line: string) => void): Pool {
  const { modulePath, jobs, retries, timeoutMs } = args;
  const execArgv = [...inheritedExecArgv(), '--import', kWorkerPreload.href];
  const pool = new Pool({
    module: pathToFileURL(modulePath), workers: jobs, retries, taskTimeoutMs: timeoutMs, stdout: 'pipe', stderr: 'pipe', execArgv,
  });
  forEachLine(pool.stdout as Readable, log);
  forEachLine(pool.stderr as Readable, log);
  return pool;
}

/** The first worker's list of exports decides: undefined if FN is there, else the exit code or a UsageError. */
export async function checkModule(
  exported: Promise<readonly string[] | 'stop'>, args: MapArgs, stderr: Writable,
): Promise<number | undefined> {
  let exports: readonly string[] | 'stop';
  try {
    exports = await exported;
  } catch (error) {
    if (error instanceof RemoteError && error.remoteCode === kNoTypeScriptLoader) {
      throw new UsageError(
        'map', `MODULE "${args.moduleSpec}" is TypeScript and Node needs a loader for it: run procsafe under tsx, ` +
        `as NODE_OPTIONS='--import tsx' procsafe map … (the workers inherit it), or compile the module to JavaScript`);
    }
    stderr.write(`procsafe map: MODULE "${args.moduleSpec}" failed to load: ${loadFailure(error)}\n`);
    return 1;
  }
  if (exports === 'stop') {
    stderr.write('procsafe map: interrupted before any input was read\n');
    return 130;
  }
  if (!exports.includes(args.fn)) {
    throw new UsageError('map', `MODULE "${args.moduleSpec}" has no exported function "${args.fn}"; ` +
      `its exported functions are: ${exports.join(', ') || '(none)'}`);
  }
  return undefined;
}

/** Why the module did not load, as its own stack says it. */
function loadFailure(error: unknown): string {
  const stack = error instanceof RemoteError ? error.remoteStack : undefined;
  return stack === undefined ? (error as Error).message : userFrames(stack);
}
