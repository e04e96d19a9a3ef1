/** Imports the worker module and finds its exported functions, with errors that say what exists. */
import { isMainThread } from 'node:worker_threads';

export type WorkerModule = Record<string, unknown>;

/** The `code` of the error for a TypeScript worker module Node could not load: callers test it, not the wording. */
export const kNoTypeScriptLoader = 'ERR_PROCSAFE_NO_TS_LOADER';

export async function loadWorkerModule(url: string): Promise<WorkerModule> {
  try {
    return (await import(url)) as WorkerModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !/\.[cm]?tsx?$/.test(url)) throw error;
    // The commonest first stumble with worker pools: say what to do.
    const advice = isMainThread
      ? 'run the parent under a TypeScript loader (node --import tsx main.ts, or npx tsx main.ts): workers inherit it'
      : "it needs a loader, and on Node 20 a loader's hooks (tsx's too) do not reach worker threads: use isolation 'process' (the default) under node --import tsx, or compile the module to JavaScript";
    throw Object.assign(new TypeError(`cannot load the TypeScript worker module ${url}: ${advice}`, { cause: error }), { code: kNoTypeScriptLoader });
  }
}

const cache = new WeakMap<WorkerModule, Map<string, (...args: unknown[]) => unknown>>();

export function lookupFunction(module: WorkerModule, url: string, name: string): (...args: unknown[]) => unknown {
  let byName = cache.get(module);
  if (byName === undefined) cache.set(module, (byName = new Map()));
  const hit = byName.get(name);
  if (hit !== undefined) return hit;
  if (!Object.hasOwn(module, name)) {
    const names = Object.keys(module).filter((key) => typeof module[key] === 'function');
    throw new TypeError(`worker module ${url} has no export named "${name}"; its function exports are: ${names.join(', ') || '(none)'}`);
  }
  const fn = module[name];
  if (typeof fn !== 'function') {
    throw new TypeError(`export "${name}" of worker module ${url} is ${fn === null ? 'null' : `a ${typeof fn}`}, not a function`);
  }
  byName.set(name, fn as (...args: unknown[]) => unknown);
  return fn as (...args: unknown[]) => unknown;
}
