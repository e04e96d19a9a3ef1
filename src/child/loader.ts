/** Imports the worker module and finds its exported functions, with errors that say what exists. */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { typeScriptSibling } from '../internal/module-file.js';

export type WorkerModule = Record<string, unknown>;

/** The `code` of the error for a TypeScript worker module Node could not load: callers test it, not the wording. */
export const kNoTypeScriptLoader = 'ERR_PROCSAFE_NO_TS_LOADER';

export async function loadWorkerModule(url: string): Promise<WorkerModule> {
  try {
    return (await import(url)) as WorkerModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return loadTypeScriptSibling(url, error);
    if ((error as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?tsx?$/.test(url)) throw error;
    // Before Node 22.22 / 24.11, `--import tsx` hooks reach the main thread only: register them here and retry. Node
    // caches the failed import of `url`, so the retry adds a query (relative imports inside resolve as before).
    // Node: https://github.com/nodejs/node/issues/53195
    if (!isMainThread && underTsx() && await registerTsxHere()) {
      return (await import(`${url}${url.includes('?') ? '&' : '?'}procsafe-tsx`)) as WorkerModule;
    }
    const advice = isMainThread
      ? 'run the parent under a TypeScript loader (node --import tsx main.ts, or npx tsx main.ts): workers inherit it'
      : "it needs a loader, and on Node 20 a loader's hooks do not reach worker threads (procsafe registers tsx's itself " +
        "when the parent runs under --import tsx): run the parent under node --import tsx, use isolation 'process' " +
        '(the default), or compile the module to JavaScript';
    throw Object.assign(
      new TypeError(`cannot load the TypeScript worker module ${url}: ${advice}`, { cause: error }), { code: kNoTypeScriptLoader });
  }
}

// `new URL('./tasks.js', import.meta.url)` beside a tasks.ts, as tsx allows: a thread that Node 20 left without tsx's
// hooks registers them and loads the .ts file; without tsx, the error says what to write.
async function loadTypeScriptSibling(url: string, notFound: unknown): Promise<WorkerModule> {
  const ts = typeScriptSibling(url);
  if (ts === undefined) throw notFound;
  if (!isMainThread && underTsx() && await registerTsxHere()) return (await import(ts)) as WorkerModule;
  throw Object.assign(new TypeError(
    `cannot load the worker module ${url}: there is no such file, but there is ${ts}; run the parent under tsx ` +
    "(node --import tsx main.ts), which loads it in the file's place, or name the .ts file itself: " +
    `new URL('./${ts.slice(ts.lastIndexOf('/') + 1)}', import.meta.url) under any TypeScript loader`, { cause: notFound }),
  { code: kNoTypeScriptLoader });
}

/** Whether this thread was started with tsx as its loader (`--import tsx`, `--import=tsx`, tsx/esm …). */
function underTsx(): boolean {
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = arg === '--import' || arg === '--loader' ? argv[i + 1] : /^--(?:import|loader)=(.*)$/.exec(arg)?.[1];
    if (value !== undefined && /(^|[/\\])tsx([/\\]|$)/.test(value)) return true;
  }
  return false;
}

// Registers tsx's hooks on this thread through tsx/esm/api, found beside procsafe or from the working directory
// (as `--import tsx` finds it). False if there is no such tsx, or it refused.
async function registerTsxHere(): Promise<boolean> {
  const candidates: string[] = ['tsx/esm/api'];
  try {
    candidates.push(pathToFileURL(createRequire(join(process.cwd(), 'noop.js')).resolve('tsx/esm/api')).href);
  } catch {
    // Not installed in the working directory.
  }
  for (const specifier of candidates) {
    try {
      const api = (await import(specifier)) as { register?: () => unknown };
      if (typeof api.register !== 'function') continue;
      api.register();
      return true;
    } catch {
      // Try the next place.
    }
  }
  return false;
}

const cache = new WeakMap<WorkerModule, Map<string, (...args: unknown[]) => unknown>>();

export function lookupFunction(module: WorkerModule, url: string, name: string): (...args: unknown[]) => unknown {
  let byName = cache.get(module);
  if (byName === undefined) cache.set(module, (byName = new Map<string, (...args: unknown[]) => unknown>()));
  const hit = byName.get(name);
  if (hit !== undefined) return hit;
  // A CommonJS module whose named exports Node could not see (tsx's API loads a .ts file outside a
  // "type": "module" package that way) has them all on `default`, its module.exports.
  const cjs = typeof module['default'] === 'object' && module['default'] !== null ? module['default'] as WorkerModule : {};
  const exports = !Object.hasOwn(module, name) && Object.hasOwn(cjs, name) ? cjs : module;
  if (!Object.hasOwn(exports, name)) {
    const names = [module, cjs].flatMap((m) => Object.keys(m).filter((key) => typeof m[key] === 'function'));
    throw new TypeError(`worker module ${url} has no export named "${name}"; its function exports are: ${names.join(', ') || '(none)'}`);
  }
  const fn = exports[name];
  if (typeof fn !== 'function') {
    throw new TypeError(`export "${name}" of worker module ${url} is ${fn === null ? 'null' : `a ${typeof fn}`}, not a function`);
  }
  byName.set(name, fn as (...args: unknown[]) => unknown);
  return fn as (...args: unknown[]) => unknown;
}
