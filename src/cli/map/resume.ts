/** --resume: what an earlier run left answered in OUT, and the command that continues an interrupted run. */
import type { Writable } from 'node:stream';
import { UsageError } from '../command.js';
import type { MapArgs } from './args.js';
import { commandLine } from './invocation.js';
import { type Answered, NotAResultFile, scanAnswered } from './output.js';

/** The inputs OUT already answers (undefined without --resume); a cut-off last line is dropped and said so. */
export async function readAnswered(args: MapArgs, stderr: Writable): Promise<Answered | undefined> {
  const { outPath, resume, quiet } = args;
  if (!resume) return undefined;
  let earlier: Answered;
  try {
    earlier = await scanAnswered(outPath as string);
  } catch (error) {
    if (error instanceof NotAResultFile) {
      throw new UsageError('map', `-o "${outPath}": ${error.message}; --resume continues only a file procsafe map wrote`);
    }
    throw error;
  }
  if (earlier.repairedBytes > 0 && !quiet) {
    stderr.write(`procsafe map: dropped a cut-off last line of ${outPath} (${earlier.repairedBytes} bytes; its input runs again)\n`);
  }
  return earlier;
}

/** How to resume the run of `argv` after an interruption, as lines to print. */
export function resumeHint(argv: readonly string[], { outPath, inputPath }: MapArgs): string {
  const command = commandLine(['map', ...argv.filter((arg) => arg !== '--resume')]);
  const again = `${command} --resume`;
  if (outPath === undefined) {
    return 'The results went to stdout, so there is no file to resume: next time use -o OUT. If stdout went to a file,\n' +
      `resume with: ${command} -o THAT_FILE --resume${inputPath === undefined ? ' (and the same input on stdin)' : ''}\n`;
  }
  if (inputPath === undefined) return `Resume with the same input on stdin: ${again}\n`;
  return `Resume with: ${again}\n`;
}
