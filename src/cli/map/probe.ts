/**
 * The worker module of the one-off pool with which `procsafe map` checks, before
 * reading any input, that MODULE loads and exports FN. It runs in a child with the
 * same Node options and environment as the real workers (a TypeScript loader
 * included), so the answer is the one the workers would give, and the module's
 * top-level code never runs in the CLI's own process.
 */
import { loadWorkerModule } from '../../child/loader.js';

/** The names of the module's exports that are functions; rejects with the import's own error. */
export async function functionExports(url: string): Promise<string[]> {
  const module = await loadWorkerModule(url);
  return Object.keys(module).filter((key) => typeof module[key] === 'function');
}
