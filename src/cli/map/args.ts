/** The command line of `procsafe map`, checked: every mistake is a UsageError naming the argument at fault. */
import { availableParallelism } from 'node:os';
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kMaxRetries, kMaxTimeoutMs, kMaxWorkers } from '../../pool/options.js';
import { UsageError } from '../command.js';

export interface MapArgs {
  readonly moduleSpec: string;
  readonly modulePath: string;
  readonly fn: string;
  /** undefined: stdin. */
  readonly inputPath: string | undefined;
  /** undefined: stdout. */
  readonly outPath: string | undefined;
  readonly jobs: number;
  readonly retries: number;
  readonly timeoutMs: number | undefined;
  readonly resume: boolean;
  readonly ordered: boolean;
  readonly quiet: boolean;
}

export function parseMapArgs(args: string[]): MapArgs | 'help' {
  const { values, positionals } = parseArgs({
    args,
    options: {
      output: { type: 'string', short: 'o' },
      jobs: { type: 'string', short: 'j' },
      retries: { type: 'string' },
      timeout: { type: 'string' },
      resume: { type: 'boolean' },
      unordered: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) return 'help';
  if (positionals.length === 0) throw new UsageError('map', 'missing MODULE#FN, the module and the name of the function to run');
  if (positionals.length > 2) {
    throw new UsageError('map', `unexpected argument "${positionals[2]}" (takes MODULE#FN and at most one INPUT)`);
  }
  const spec = positionals[0] as string;
  const hash = spec.lastIndexOf('#');
  if (hash <= 0 || hash === spec.length - 1) {
    throw new UsageError('map', `MODULE#FN must name a module and an export, as tasks.mjs#resize; got "${spec}"`);
  }
  const moduleSpec = spec.slice(0, hash);
  const fn = spec.slice(hash + 1);
  let modulePath: string;
  try {
    modulePath = moduleSpec.startsWith('file:') ? fileURLToPath(moduleSpec) : resolve(moduleSpec);
  } catch (error) {
    throw new UsageError('map', `MODULE "${moduleSpec}" is not a path or a file: URL (${(error as Error).message})`);
  }
  checkFile(modulePath, `MODULE "${moduleSpec}"`);

  const inputArg = positionals[1];
  const inputPath = inputArg === undefined || inputArg === '-' ? undefined : resolve(inputArg);
  if (inputPath !== undefined) checkFile(inputPath, `INPUT "${inputArg}"`);
  const outPath = values.output === undefined ? undefined : resolve(values.output);
  if (values.output === '') throw new UsageError('map', '-o needs a file name');
  if (outPath !== undefined && inputPath !== undefined && sameFile(outPath, inputPath)) {
    throw new UsageError('map', `-o "${values.output}" is INPUT itself: the results would overwrite the inputs`);
  }
  if (values.resume === true && outPath === undefined) {
    throw new UsageError('map', '--resume needs -o OUT, the file of results to continue');
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0 || timeout * 1000 > kMaxTimeoutMs)) {
    throw new UsageError('map', `--timeout expects a number of seconds above 0 (as 30 or 0.5), got "${values.timeout}"`);
  }
  return {
    moduleSpec, modulePath, fn, inputPath, outPath,
    jobs: wholeNumber(values.jobs, '-j', 1, kMaxWorkers) ?? availableParallelism(),
    retries: wholeNumber(values.retries, '--retries', 0, kMaxRetries) ?? 0,
    timeoutMs: timeout === undefined ? undefined : Math.max(1, Math.round(timeout * 1000)),
    resume: values.resume === true,
    ordered: values.unordered !== true,
    quiet: values.quiet === true,
  };
}

function wholeNumber(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError('map', `${flag} expects a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

function checkFile(path: string, what: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError('map', `${what}: ${code === 'ENOENT' ? `no such file ${path}` : (error as Error).message}`);
  }
  if (!isFile) throw new UsageError('map', `${what}: ${path} is not a file`);
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
