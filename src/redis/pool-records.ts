/**
 * What a Redis pool keeps in Redis, as bytes: its keys, a task record ('<id> <submitter> <retries> <attempts> <fn> '
 * then the arguments) and a result record ('<id> o|e|x …'). Errors travel as plain records of their class and fields
 * and are rebuilt by the submitter; nothing read from Redis is evaluated as code.
 */
import { decodeItem, encodeItem } from '../codec/item.js';
import { toRemoteError } from '../codec/remote-error.js';
import { ProcsafeError, RemoteError, SerializationError, TaskTimeout, WorkerCrashed } from '../errors.js';

/** The keys of pool `name`, in the order pool-lib.lua lists them. */
export function poolKeys(name: string): string[] {
  const prefix = `procsafe:{${name}}:`;
  return ['tasks', 'hosts', 'info'].map((suffix) => prefix + suffix);
}

export function resultsKey(name: string, submitter: string): string {
  return `procsafe:{${name}}:res:${submitter}`;
}

export function poolWakeChannel(name: string): string {
  return `procsafe:{${name}}:wake`;
}

/** A task as a host reads it from its record. */
export interface TaskRecord {
  readonly id: string;
  readonly retries: number;
  readonly attempts: number;
  readonly fn: string;
  readonly args: readonly unknown[];
}

export function encodeTask(id: string, submitter: string, retries: number, fn: string, args: readonly unknown[]): Buffer {
  const head = Buffer.from(`${id} ${submitter} ${retries} 0 ${encodeURIComponent(fn)} `);
  return Buffer.concat([head, ...encodeItem(args, 'args', `the arguments of "${fn}"`)]);
}

/** Reads a task record; throws on one that is not laid out as encodeTask writes (a SerializationError for its task). */
export function decodeTask(record: Buffer): TaskRecord {
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < 5; i++) {
    const space = record.indexOf(0x20, at);
    if (space === -1) throw new SerializationError('a task record in Redis is truncated', 'record');
    fields.push(record.toString('latin1', at, space));
    at = space + 1;
  }
  const [id, , retries, attempts, fn] = fields as [string, string, string, string, string];
  const args = decodeItem(record.subarray(at));
  if (!Array.isArray(args)) throw new SerializationError(`the arguments of task ${id} in Redis are not a list`, 'args');
  return { id, retries: Number(retries), attempts: Number(attempts), fn: decodeURIComponent(fn), args };
}

/** The id a record starts with. */
export function idOf(record: Buffer): string {
  return record.toString('latin1', 0, record.indexOf(0x20));
}

/** A finished task's result record: its value, or its error as a plain record. */
export function encodeResult(id: string, ok: boolean, value: unknown): Buffer {
  let body: Buffer[];
  try {
    body = encodeItem(ok ? value : errorRecord(value), 'result', `the result of task ${id}`);
  } catch (error) {
    ok = false;
    body = encodeItem(errorRecord(error), 'result', 'an error');
  }
  return Buffer.concat([Buffer.from(`${id} ${ok ? 'o' : 'e'} `), ...body]);
}

/** What a host's death past its retries reads as ('x' records are written by pool-lib.lua's reclaim). */
export interface LostHost {
  readonly attempts: number;
  readonly retries: number;
  readonly host: { readonly host?: string; readonly pid?: number };
}

export type DecodedResult =
  | { readonly id: string; readonly kind: 'o'; readonly value: unknown }
  | { readonly id: string; readonly kind: 'e'; readonly error: Error }
  | { readonly id: string; readonly kind: 'x'; readonly lost: LostHost };

export function decodeResult(record: Buffer): DecodedResult {
  const first = record.indexOf(0x20);
  const id = record.toString('latin1', 0, first);
  const kind = String.fromCharCode(record[first + 1] ?? 0);
  const body = record.subarray(first + 3);
  if (kind === 'o') return { id, kind, value: decodeItem(body) };
  if (kind === 'e') return { id, kind, error: errorFrom(decodeItem(body)) };
  const [attempts, retries, ...info] = body.toString('utf8').split(' ');
  let host: LostHost['host'] = {};
  try {
    host = JSON.parse(info.join(' ')) as LostHost['host'];
  } catch {
    // A host description we cannot read: the message says "a host".
  }
  return { id, kind: 'x', lost: { attempts: Number(attempts), retries: Number(retries), host } };
}

type ErrorRecord = { readonly cls: string; readonly message: string; readonly [key: string]: unknown };

function errorRecord(error: unknown): ErrorRecord {
  if (error instanceof RemoteError) {
    return { cls: 'RemoteError', message: error.message, name: error.remoteName, stack: error.remoteStack, properties: error.properties };
  }
  if (error instanceof WorkerCrashed) {
    const { workerId, pid, exitCode, signal, taskId, fn, attempts } = error;
    return { cls: 'WorkerCrashed', message: error.message, info: { workerId, pid, exitCode, signal, taskId, fn, attempts } };
  }
  if (error instanceof SerializationError) return { cls: 'SerializationError', message: error.message, path: error.path };
  if (error instanceof TaskTimeout) return { cls: 'TaskTimeout', message: error.message };
  const e = error instanceof Error ? error : new Error(String(error));
  return { cls: 'RemoteError', message: e.message, name: e.name, stack: e.stack, properties: {} };
}

function errorFrom(value: unknown): Error {
  const record = value as ErrorRecord;
  const message = String(record?.message);
  switch (record?.cls) {
    case 'WorkerCrashed': {
      const info = record['info'] as ConstructorParameters<typeof WorkerCrashed>[1];
      return new WorkerCrashed(message, info);
    }
    case 'SerializationError': return new SerializationError(message, String(record['path']));
    case 'TaskTimeout': return new TaskTimeout(message);
    case 'RemoteError': return toRemoteError({
      name: String(record['name']), message, stack: record['stack'] as string | undefined,
      properties: (record['properties'] ?? {}) as Record<string, unknown>,
    });
    default: return new ProcsafeError(`a result in Redis could not be read: ${message}`);
  }
}
