/** Imports the worker module and finds its exported functions, with errors that say what exists. */

export type WorkerModule = Record<string, unknown>;

export async function loadWorkerModule(url: string): Promise<WorkerModule> {
  return (await import(url)) as WorkerModule;
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
