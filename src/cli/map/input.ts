/**
 * The input side of `procsafe map`: JSON lines read as a stream, one line at a
 * time, so that memory stays flat however long the input is.
 *
 * Lines are split on "\n" bytes ourselves rather than with readline: readline
 * also breaks at a lone "\r", which would make the line numbers (the `i` of
 * every result, and what `--resume` matches on) disagree with countLines()
 * and with any other tool. A "\n" byte never occurs inside a multi-byte UTF-8
 * character, so each line can be decoded on its own.
 */
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { errorLine, kInputNotJson, type ResultLine } from './results.js';

/** A line longer than this is answered with an error instead of being held whole in memory. */
export const kMaxLineBytes = 64 * 1024 * 1024;

/** One input line: its text, or, past kMaxLineBytes, only its length. */
export type InputLine = { readonly text: string; readonly tooLong?: undefined } | { readonly text?: undefined; readonly tooLong: number };

/**
 * Yields every line of `stream` (without its "\n", a trailing "\r" or a leading
 * byte-order mark). A last line without a newline counts; an empty end does not.
 * The stream is read only as lines are asked for (its async iterator), which is
 * what keeps memory bounded when the consumer is slower than the disk.
 */
export async function* readLines(stream: Readable): AsyncGenerator<InputLine, void, undefined> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  /** Bytes of the current line seen so far when it went past kMaxLineBytes (its parts were dropped). */
  let skipped = 0;
  let first = true;
  const finish = (): InputLine => {
    const isFirst = first;
    first = false;
    if (skipped > 0) {
      const line = { tooLong: skipped + partBytes };
      skipped = 0;
      parts = [];
      partBytes = 0;
      return line;
    }
    const joined = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partBytes);
    parts = [];
    partBytes = 0;
    let text = joined.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (isFirst && text.startsWith('\uFEFF')) text = text.slice(1);
    return { text };
  };
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buffer.indexOf(10, start); nl !== -1; nl = buffer.indexOf(10, start)) {
      parts.push(buffer.subarray(start, nl));
      partBytes += nl - start;
      start = nl + 1;
      yield finish();
    }
    if (start < buffer.length) {
      // Copied: a subarray would keep the whole chunk (64 KiB) alive for a short tail.
      parts.push(Buffer.from(buffer.subarray(start)));
      partBytes += buffer.length - start;
      if (partBytes > kMaxLineBytes) {
        skipped += partBytes;
        parts = [];
        partBytes = 0;
      }
    }
  }
  if (partBytes > 0 || skipped > 0) yield finish();
}

/** INPUT, or stdin when there is none (with a hint when that is a terminal). */
export function openInput(inputPath: string | undefined, quiet: boolean, stderr: Writable): Readable {
  if (inputPath !== undefined) return createReadStream(inputPath, { highWaterMark: 64 * 1024 });
  if (process.stdin.isTTY === true && !quiet) stderr.write('procsafe map: reading JSON lines from the terminal; end with Ctrl-D\n');
  return process.stdin;
}

/** The progress bar's total: the lines readLines() would yield, counted holding one chunk at a time. */
export async function countLines(path: string, signal?: AbortSignal): Promise<number> {
  let lines = 0;
  let last = 10;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
  }
  return last === 10 ? lines : lines + 1;
}

/** The JSON value of input `index`, or the error line that answers it: too long, empty or not JSON. */
export function decodeLine(line: InputLine, index: number): { readonly value: unknown } | ResultLine {
  if (line.text === undefined) {
    return errorLine(index, {
      name: 'RangeError',
      message: `input ${index} (line ${index + 1}) is ${line.tooLong} bytes long, over the limit of ${kMaxLineBytes}`,
      code: kInputNotJson,
    });
  }
  try {
    return { value: JSON.parse(line.text) as unknown };
  } catch (error) {
    const what = line.text.trim() === '' ? 'an empty line' : `not JSON: ${(error as Error).message}`;
    return errorLine(index, { name: 'SyntaxError', message: `input ${index} (line ${index + 1}) is ${what}`, code: kInputNotJson });
  }
}
