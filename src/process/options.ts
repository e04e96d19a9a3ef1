/** Process options: documented, validated and defaulted in one place. */
import { inheritedExecArgv, toModuleUrl } from '../internal/worker-module.js';
import { checkModuleFile, validateEnv } from '../internal/child-options.js';
import {
  validateArray, validateKnownKeys, validateObject, validateOneOf, validateString, validateStringArray,
} from '../internal/validate.js';
import type { Args, FnName, UntypedModule, WorkerModuleShape } from '../internal/module-types.js';
import { type OutputMode, kOutputModes } from './output.js';

/** What every Process takes, whatever it runs. */
export interface ProcessBaseOptions {
  /** The ES module whose named export `fn` is run: a `URL` or absolute path, e.g. `new URL('./tasks.js', import.meta.url)`. */
  readonly module: URL | string;
  /** Used in output prefixes and messages. @default 'Process-N', N counting this parent's Processes from 1 (as Python) */
  readonly name?: string;
  /** Environment of the process. @default process.env */
  readonly env?: Readonly<Record<string, string>>;
  /** Node options for the process. @default process.execArgv (so a loader such as tsx is inherited), less --inspect flags */
  readonly execArgv?: readonly string[];
  /**
   * The process's stdout: `'prefix'` forwards each whole line to the parent's as `[Process-1 4127] line`; `'inherit'`
   * shares the parent's; `'pipe'` makes the raw output readable on `process.stdout`; `'ignore'` drops it.
   * @default 'prefix'
   */
  readonly stdout?: OutputMode;
  /** As `stdout`, for stderr. @default 'prefix' */
  readonly stderr?: OutputMode;
  /**
   * `true`: stopped when the parent dies, however (SIGKILL included), and does not keep the parent's event loop alive.
   * `false`: it outlives a parent that dies, and the parent does not exit before it (as Python's).
   * @default false
   */
  readonly daemon?: boolean;
}

/** The function to run and its arguments (a readonly array will do); `args` may be left out only when `fn` needs none. */
export type ProcessTarget<K extends string, A extends readonly unknown[]> = {
  /** Name of the export to run, sync or async: returning (or resolving) exits 0, throwing (or rejecting) exits 1. */
  readonly fn: K;
} & ([] extends A ? {
  /**
   * Arguments for `fn`, copied (structured clone) by the constructor, which throws SerializationError for one that cannot be.
   * @default []
   */
  readonly args?: A | Readonly<A>;
} : {
  /** Arguments for `fn`, copied (structured clone) by the constructor, which throws SerializationError for one that cannot be. */
  readonly args: A | Readonly<A>;
});

/**
 * Options of `new Process<M>()`: with `M` a module's type (`typeof import('./jobs.js')`), `fn` must name one of its
 * exported functions and `args` fit its parameters; untyped, any name and arguments.
 */
export type ProcessOptions<M extends WorkerModuleShape = UntypedModule> = {
  [K in FnName<M>]: ProcessBaseOptions & ProcessTarget<K, Args<M[K]>>;
}[FnName<M>];

export interface ResolvedProcessOptions {
  readonly module: string;
  readonly fn: string;
  readonly args: readonly unknown[];
  readonly name: string;
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly execArgv: readonly string[];
  readonly stdout: OutputMode;
  readonly stderr: OutputMode;
  readonly daemon: boolean;
}

const kKnown = ['module', 'fn', 'args', 'name', 'env', 'execArgv', 'stdout', 'stderr', 'daemon'] as const;

let counter = 0;

export function resolveProcessOptions(options: ProcessOptions): ResolvedProcessOptions {
  validateObject(options, 'Process options');
  validateKnownKeys(options as unknown as Record<string, unknown>, 'Process options', kKnown);
  const { fn, args = [], env, execArgv, stdout = 'prefix', stderr = 'prefix', daemon = false } = options;
  const module = toModuleUrl(options.module);
  checkModuleFile(module);
  validateString(fn, 'fn');
  validateArray(args, 'args');
  if (env !== undefined) validateEnv(env);
  if (execArgv !== undefined) validateStringArray(execArgv, 'execArgv');
  validateOneOf(stdout, 'stdout', kOutputModes);
  validateOneOf(stderr, 'stderr', kOutputModes);
  if (typeof daemon !== 'boolean') throw new TypeError(`Expected \`daemon\` to be a boolean, got ${typeof daemon}`);
  if (options.name !== undefined) validateString(options.name, 'name');
  // Every Process counts, named or not, as in Python.
  const id = ++counter;
  const name = options.name ?? `Process-${id}`;
  return Object.freeze({
    module, fn, args, name, env, execArgv: execArgv ?? inheritedExecArgv(), stdout, stderr, daemon,
  });
}
