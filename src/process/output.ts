// Forwards child output whole line by whole line, so lines of different processes never interleave mid-line.
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type OutputMode = 'inherit' | 'prefix' | 'pipe' | 'ignore';
export const kOutputModes: readonly OutputMode[] = ['inherit', 'prefix', 'pipe', 'ignore'];

/** Calls `onLine` with each whole line (without its newline); a last line without one is flushed at end. */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const text = partial + decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    partial = text.slice(start);
  });
  stream.on('end', () => {
    const rest = partial + decoder.end();
    partial = '';
    if (rest !== '') onLine(rest);
  });
  stream.on('error', () => { /* the child is gone; its exit is reported elsewhere */ });
}

/** Wires a child's output stream according to `mode`; `sink` receives whole lines in 'pipe' mode. */
export function routeOutput(
  stream: Readable | null, mode: OutputMode, prefix: string, target: Writable, sink: Writable | undefined,
): void {
  if (stream === null) return;
  if (mode === 'ignore' || (mode === 'pipe' && sink === undefined)) {
    stream.resume();
    return;
  }
  if (mode === 'inherit') {
    stream.pipe(target, { end: false });
    return;
  }
  forEachLine(stream, mode === 'prefix'
    ? (line) => target.write(`${prefix} ${line}\n`)
    : (line) => sink?.write(`${line}\n`));
}
