/**
 * The JSON line written for each input of `procsafe map`. `i` and `ok` always
 * come first, in that order: scanAnswered() reads them without parsing the rest.
 */
import { ProcsafeError, RemoteError, TaskTimeout, WorkerCrashed } from '../../errors.js';

/** Codes of the errors the CLI itself gives an input (the pool's own are on its error classes). */
export const kInputNotJson = 'EINPUTJSON';
export const kResultNotJson = 'ERESULTJSON';
/** The code of an error thrown by the function that carried none of its own. */
const kThrown = RemoteError.code;

export type ErrorJson = { name: string; message: string; code: string | number; [key: string]: unknown };

/** One result line, and the error it reports if it is a failure. */
export interface ResultLine {
  readonly line: string;
  readonly error?: ErrorJson | undefined;
}

/** `{"i":…,"ok":true,"value":…}`; a value JSON cannot hold (a BigInt, a cycle) becomes an error line. */
export function okLine(index: number, value: unknown): ResultLine {
  let line: string | undefined;
  let why = '';
  try {
    // undefined has no JSON form: written as null, as JSON.stringify does inside arrays.
    line = JSON.stringify({ i: index, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    why = `: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (line !== undefined) return { line };
  return errorLine(index, { name: 'TypeError', code: kResultNotJson, message: `the result cannot be written as JSON${why}` });
}

/** `{"i":…,"ok":false,"error":{name, message, code, …}}`. */
export function errorLine(index: number, error: ErrorJson): ResultLine {
  return { line: JSON.stringify({ i: index, ok: false, error }), error };
}

/**
 * What a consumer of the output needs of an error: `name` (the remote class for
 * an error thrown in the worker, e.g. "TypeError"), `message`, and `code` (the
 * error's own `code` if it has one, else procsafe's: EREMOTE for a throw,
 * EWORKERCRASHED, ETASKTIMEOUT, ESERIALIZE), plus the error's own JSON-able
 * fields and its `cause`. No stack: it would dwarf the line; the summary on
 * stderr shows the first failure's.
 */
export function describeForJson(error: unknown, depth = 0): ErrorJson {
  if (error instanceof RemoteError) {
    const code = error.remoteCode;
    const out: ErrorJson = {
      name: error.remoteName, message: error.message, code: typeof code === 'string' || typeof code === 'number' ? code : kThrown,
    };
    copyFields(out, error.properties);
    if (error.cause !== undefined && depth < 3) out['cause'] = describeForJson(error.cause, depth + 1);
    return out;
  }
  if (error instanceof WorkerCrashed) {
    return {
      name: error.name, message: error.message, code: error.code,
      pid: error.pid ?? null, exitCode: error.exitCode, signal: error.signal, attempts: error.attempts,
    };
  }
  if (error instanceof ProcsafeError) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, code: typeof code === 'string' || typeof code === 'number' ? code : 'ERR' };
  }
  return { name: 'Error', message: String(error), code: 'ERR' };
}

const kOwn = new Set(['name', 'message', 'code', 'stack', 'cause']);

/** The remote error's own fields, each kept only if JSON can write it. */
function copyFields(out: ErrorJson, fields: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (kOwn.has(key)) continue;
    try {
      if (JSON.stringify(value) !== undefined) out[key] = value;
    } catch {
      // a BigInt or a cycle: left out
    }
  }
}

/** The stack to show for the first failure: where it was thrown, in the worker, when it was. */
export function stackOf(error: unknown): string | undefined {
  if (error instanceof RemoteError) return error.remoteStack;
  return undefined;
}

/** The pool's TaskTimeout tells to raise taskTimeoutMs, an option a CLI user never set: this one names the flag. */
export function inCliTerms(error: unknown, index: number, timeoutMs: number | undefined): unknown {
  if (!(error instanceof TaskTimeout) || timeoutMs === undefined) return error;
  return new TaskTimeout(`input ${index} ran longer than --timeout ${timeoutMs / 1000} s; its worker was stopped and replaced. ` +
    'If it needs longer, raise --timeout S (seconds)');
}
