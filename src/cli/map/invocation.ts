/**
 * The command that started this process, as a user would type it again: the
 * resume hint of `procsafe map` must work when pasted, whether procsafe came
 * from PATH, npx, node_modules/.bin or `node [options] path/to/main.js`, and
 * with the NODE_OPTIONS it ran under.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, relative } from 'node:path';

/** A word as a POSIX shell reads it back. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** `args` (what follows the program) behind the program as it was invoked, shell-quoted. */
export function commandLine(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const nodeOptions = env['NODE_OPTIONS']?.trim();
  const prefix = nodeOptions === undefined || nodeOptions === '' ? '' : `NODE_OPTIONS=${shellQuote(nodeOptions)} `;
  return prefix + [...launcher(env), ...args].map(shellQuote).join(' ');
}

function launcher(env: NodeJS.ProcessEnv): string[] {
  const script = process.argv[1] ?? 'procsafe';
  const name = basename(script);
  // npm exec / npx run the bin from their own cache or node_modules/.bin: only `npx` finds it again.
  if (env['npm_command'] === 'exec' || env['npm_lifecycle_event'] === 'npx') return ['npx', name];
  // Node options on the command line, or a script file run by node: `node … path`.
  if (process.execArgv.length > 0 || /\.[cm]?[jt]s$/.test(name)) return ['node', ...process.execArgv, shortPath(script)];
  // node_modules/.bin is on PATH only inside npm run: the user's shell needs npx.
  if (script.split(/[\\/]/).slice(-3, -1).join('/') === 'node_modules/.bin') return ['npx', name];
  // A bin link: by its name when PATH finds this very file, else where it is.
  return onPath(name, script, env) ? [name] : [shortPath(script)];
}

/** Whether looking `name` up in PATH finds `file`. */
function onPath(name: string, file: string, env: NodeJS.ProcessEnv): boolean {
  let target: string;
  try {
    target = realpathSync(file);
  } catch {
    return false;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate) === target;
    } catch {
      // not in this directory: the shell looks further
    }
  }
  return false;
}

/** `path` relative to the working directory when it lies below it (as people type it), else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
