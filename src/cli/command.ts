/** What every command of the `procsafe` binary is: testable without spawning, by passing its own streams. */
import type { Writable } from 'node:stream';

export interface CommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** Runs with the arguments after the command name and resolves with the exit code. */
export type Command = (args: string[], io: CommandIo) => Promise<number>;

/** Bad command line: main prints `procsafe: <message>` and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** util.parseArgs throws TypeErrors with a `code` (ERR_PARSE_ARGS_*) for bad flags: those are usage errors. */
export function isParseArgsError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
