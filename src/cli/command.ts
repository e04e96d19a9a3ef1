/** What every command of the `procsafe` binary is: testable without spawning, by passing its own streams. */
import type { Writable } from 'node:stream';

export interface CommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** Runs with the arguments after the command name and resolves with the exit code. */
export type Command = (args: string[], io: CommandIo) => Promise<number>;

/**
 * Bad command line: main prints `procsafe <command>: <message>`, one line, and
 * `procsafe <command> --help`, and exits 2. `command` undefined: the binary's own options.
 */
export class UsageError extends Error {
  readonly command: string | undefined;

  constructor(command: string | undefined, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** util.parseArgs throws TypeErrors with a `code` (ERR_PARSE_ARGS_*) for bad flags: those are usage errors. */
export function isParseArgsError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** The first sentence ("Unknown option '--x'"; the advice about `--` is noise for a typo), lower-cased as our usage lines. */
export function parseArgsMessage(error: Error): string {
  const first = error.message.split(/\.\s/)[0] ?? error.message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}
