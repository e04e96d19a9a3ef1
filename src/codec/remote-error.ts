/** Errors thrown in a worker travel as plain descriptors and become RemoteError on arrival. */
import { RemoteError, type RemoteErrorInfo } from '../errors.js';
import { setOwn } from './elements.js';
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
  const cause = depth < 8 && read(thrown, 'cause') !== undefined ? describeError(thrown.cause, depth + 1) : undefined;
  const stack = read(thrown, 'stack');
  return {
    name: text(read(thrown, 'name')), message: text(read(thrown, 'message')),
    stack: stack === undefined ? undefined : text(stack), properties, cause,
  };
}

function copyProps(from: object, to: Record<string, unknown>): void {
  for (const key of Object.keys(from)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const value = read(from, key);
    // A property that cannot be copied is described rather than dropped silently; `__proto__` stays a key.
    setOwn(to, key, findUncopyable(value, key) ? `[uncopyable: ${preview(value)}]` : value);
  }
}

/** A property as it reads, or a description of what its getter threw: describing an error must not throw. */
function read(from: object, key: string): unknown {
  try {
    return (from as Record<string, unknown>)[key];
  } catch (error) {
    return `[threw when read: ${preview(error instanceof Error ? error.message : error)}]`;
  }
}

function text(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
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

// Remote name, message and stack end up on a terminal (an uncaught RemoteError, a WorkerCrashed message, the CLI's
// report): control characters but newline and tab are shown escaped (`\x1b`), so a worker cannot move the cursor, clear
// the screen or retitle the window. `properties` stay as sent.
export function toRemoteError(info: RemoteErrorInfo, prefix = ''): RemoteError {
  return new RemoteError(printable(info), prefix);
}

function printable(info: RemoteErrorInfo): RemoteErrorInfo {
  return {
    name: neutralize(text(info.name)),
    message: neutralize(text(info.message)),
    stack: info.stack === undefined ? undefined : neutralize(text(info.stack)),
    properties: info.properties,
    cause: info.cause ? printable(info.cause) : undefined,
  };
}

// C0 controls but tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI on some terminals).
const kControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function neutralize(message: string): string {
  return message.replace(kControl, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
