#!/usr/bin/env node
/** The `procsafe` binary: picks the command, turns bad command lines into exit code 2. */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Command, type CommandIo, isParseArgsError, parseArgsMessage, UsageError } from './command.js';
import { demo, kDemoUsage } from './commands/demo.js';
import { kMapUsage, map } from './commands/map.js';
import { kStatusUsage, status } from './commands/status.js';
import { kWorkerUsage, worker } from './commands/worker.js';

const kCommands: Readonly<Record<string, Command>> = { demo, map, status, worker };

export const kUsage =
  'Usage: procsafe <command> [options]\n\n' +
  'Commands:\n' +
  kDemoUsage +
  kMapUsage +
  kStatusUsage +
  kWorkerUsage +
  '\nOptions:\n' +
  '  -h, --help           show this help\n' +
  "  -V, --version        print procsafe's version\n";

/** The version of the package this file belongs to: dist/cli/main.js (or src/cli/main.ts) is two levels below its package.json. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(manifest.version);
}

/** Runs the command line `argv` (without node and the script) and resolves with the exit code. */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  // Which command a parseArgs error came from, for the line that names it.
  let current: string | undefined;
  try {
    // Options before the command are the binary's own; the rest belong to the command.
    const at = argv.findIndex((arg) => !arg.startsWith('-'));
    const own = at === -1 ? argv : argv.slice(0, at);
    const { values } = parseArgs({
      args: own,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help === true) {
      io.stdout.write(kUsage);
      return 0;
    }
    if (values.version === true) {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const names = Object.keys(kCommands).join(', ');
    if (at === -1) throw new UsageError(undefined, `missing command (commands: ${names})`);
    const name = argv[at] as string;
    const command = Object.hasOwn(kCommands, name) ? kCommands[name] : undefined;
    if (command === undefined) throw new UsageError(undefined, `unknown command "${name}" (commands: ${names})`);
    current = name;
    return await command(argv.slice(at + 1), io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      const command = error instanceof UsageError ? error.command : current;
      const message = error instanceof UsageError ? error.message : parseArgsMessage(error);
      const who = command === undefined ? 'procsafe' : `procsafe ${command}`;
      // One line for what is wrong: the whole usage would bury it.
      io.stderr.write(`${who}: ${message}\nSee ${who} --help.\n`);
      return 2;
    }
    io.stderr.write(`procsafe: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
  // Exit once stdout is flushed, even if something still holds the event loop: the CLI must never hang.
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}
