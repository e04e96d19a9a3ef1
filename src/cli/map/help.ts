/** The usage lines of `procsafe map` in the binary's help, and its own --help. */
import { availableParallelism } from 'node:os';

export const kMapUsage =
  '  map MODULE#FN [INPUT] [-o OUT] [-j N] [--retries N] [--timeout S] [--resume] [--unordered] [--quiet]\n' +
  '                       run the export FN of MODULE on every JSON line of INPUT (default stdin),\n' +
  '                       one JSON result line per input to OUT (default stdout); map --help for more\n';

export const kMapHelp =
  'Usage: procsafe map MODULE#FN [INPUT] [options]\n\n' +
  'Runs the exported function FN of the ES module MODULE (a path or a file: URL) on every\n' +
  'line of INPUT (JSON lines; stdin when absent or "-") in a pool of worker processes, and\n' +
  'writes one JSON line per input, i being the input\'s line number from 0:\n' +
  '  {"i":0,"ok":true,"value":…}\n' +
  '  {"i":1,"ok":false,"error":{"name":…,"message":…,"code":…}}\n\n' +
  'Options:\n' +
  '  -o, --output OUT   write the results to OUT (default: stdout)\n' +
  `  -j, --jobs N       worker processes (default: the number of CPUs, here ${availableParallelism()})\n` +
  '  --retries N        re-run an input whose worker died (killed, out of memory, exit) up to N times\n' +
  '  --timeout S        stop an input that runs longer than S seconds (its worker is replaced)\n' +
  '  --resume           skip the inputs already answered in OUT and append the rest (needs -o)\n' +
  '  --unordered        write results as they finish instead of in input order\n' +
  '  -q, --quiet        no progress and no summary on stderr\n' +
  '  -h, --help         show this help\n\n' +
  'On a terminal, stderr shows a progress bar, and under it a line for each running task that\n' +
  'reports its own progress (reportProgress from procsafe: a fraction from 0 to 1, { done, total }\n' +
  'or a short string); elsewhere, a plain progress line every 2 s.\n\n' +
  'Ctrl-C stops reading input and lets the running tasks finish; a second Ctrl-C kills them.\n' +
  'Exit status: 0 all inputs ok, 1 some failed, 2 usage error, 130 interrupted.\n';
