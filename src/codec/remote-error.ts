/** Errors thrown in a worker travel as plain descriptors and become RemoteError on arrival. */
import { RemoteError, type RemoteErrorInfo } from '../errors.js';
import { findUncopyable } from './v8.js';

/** Turns anything a worker threw into a descriptor that is always copyable. */
export function describeError(thrown: unknown, depth = 0): RemoteErrorInfo {
  if (!(thrown instanceof Error)) {
    const properties: Record<string, unknown> = {};
    if (typeof thrown === 'object' && thrown !== null) copyProps(thrown, properties);
    return { name: 'NonError', message: `a non-Error value was thrown: ${preview(thrown)}`, stack: undefined, properties };
  }
  const properties: Record<string, unknown> = {};
  copyProps(thrown, properties);
  const cause = depth < 8 && thrown.cause !== undefined ? describeError(thrown.cause, depth + 1) : undefined;
  return { name: String(thrown.name), message: String(thrown.message), stack: thrown.stack, properties, cause };
}

function copyProps(from: object, to: Record<string, unknown>): void {
  for (const key of Object.keys(from)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const value = (from as Record<string, unknown>)[key];
    // A property that cannot be copied is described rather than dropped silently.
    to[key] = findUncopyable(value, key) ? `[uncopyable: ${preview(value)}]` : value;
  }
}

function preview(value: unknown): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
    return String(JSON.stringify(value) ?? value).slice(0, 200);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function toRemoteError(info: RemoteErrorInfo, prefix = ''): RemoteError {
  return new RemoteError(info, prefix);
}
