/** How a worker module and the Node options of its child are named, shared by Pool and Process. */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateString } from './validate.js';

/** Turns a module reference into the URL the child imports; relative paths are ambiguous, so refused. */
export function toModuleUrl(module: unknown, name = 'module'): string {
  if (module instanceof URL) return module.href;
  validateString(module, name);
  if (/^(file|data):/.test(module)) return module;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  throw new TypeError(
    `Expected \`${name}\` to be a URL or an absolute path, got ${JSON.stringify(module)}; ` +
    `write new URL('${module.startsWith('.') ? module : `./${module}`}', import.meta.url) to name a file beside the caller`);
}

/** Options that name the program to run (or how to read it): a child given them would run the parent's script, not ours. */
const kProgram = /^(-e|-p|-pe|--eval|--print|--input-type)(=|$)/;
const kProgramWithValue = /^(-e|-p|-pe|--eval|--print|--input-type)$/;

/**
 * The parent's Node options, so a loader (`--import tsx`) reaches the workers, less those that clash when many processes
 * use them and less `-e`/`-p` with their script: under `node -e "…new Pool(…)"` a worker would run it and start its own pools.
 */
export function inheritedExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (kProgram.test(arg)) {
      if (kProgramWithValue.test(arg)) i++;
      continue;
    }
    if (/^--(inspect|debug)(-brk|-port|-wait)?(=|$)/.test(arg) || arg === '--test' || arg.startsWith('--test-')) {
      if (!arg.includes('=') && /^--(inspect-port|debug-port)$/.test(arg)) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
